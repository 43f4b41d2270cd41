"""The population sharded over processes (torchrun, gloo on the CPU) gives the run of one.

Small supervised and RL evolutions run under ``torchrun --nproc-per-node 1`` and ``2`` into
temporary folders, and must end at the same centre with the same state file, bit for bit: every
rank draws the same noise, a member's fitness does not depend on which process evaluates it,
and all ranks take the same PGPE step from the gathered values. Populations of 32 and 4 (plus
the centre) split unevenly over two processes; the supervised one trains 32 members at a time,
a member's rounding depending on its block, so its shares are whole blocks. A rank that stops
answering stops the others within the timeout, naming it.
"""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tdca_lib.experiments import rl, supervised
from tdca_lib.method.distributed import (
    Share,
    evaluate_fitness,
    is_main_process,
    rank,
    shares,
    world_size,
)

ROOT = Path(__file__).resolve().parents[1]
GENERATIONS = 4

# Two tiny evolutions; rank 1's fitness raises in generation FAIL_AT when it is not -1.
SCRIPT = textwrap.dedent("""
    import functools
    import sys
    import torch
    from tdca_lib.experiments import rl, supervised
    from tdca_lib.machinery import data
    from tdca_lib.method.distributed import rank
    from tdca_lib.method.outer_loop import evolve
    from tdca_lib.method.pgpe import PGPE

    out, generations, fail_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    def failing(fitness):
        @functools.wraps(fitness)  # and its rows_at_once
        def wrapped(beta, generation, **share):
            if rank() == 1 and generation == fail_at:
                raise ValueError("injected failure")
            return fitness(beta, generation, **share)
        return wrapped

    def rl_run():
        settings = rl.settings_for("quick", "CartPole-v1", updates=2, population=4,
                                   load_evolved_from=None)
        env = rl.make_env(settings, 1)
        tdca = rl.tdca_network(settings, env, rl.agent_network(settings, env))
        start = tdca.init(torch.Generator().manual_seed(0))
        pgpe = PGPE(start, population=4, sigma=settings.sigma, center_lr=settings.center_lr)
        return rl.fitness_function(settings), pgpe

    def supervised_run():  # MNIST: split as the rows come, the centre's value would differ
        dataset = data.load("mnist", 200, 100)
        settings = supervised.SupervisedSettings(steps=5, population=32, train_size=200)
        tdca = supervised.tdca_network(settings, supervised.bottom_up_network(settings, 784))
        pgpe = PGPE(tdca.init(torch.Generator().manual_seed(0)), population=32,
                    sigma=settings.sigma, center_lr=settings.center_lr)
        return supervised.fitness_function(settings, [dataset]), pgpe

    for name, run in [("rl", rl_run), ("supervised", supervised_run)]:
        fitness, pgpe = run()
        evolve(failing(fitness), pgpe, generations, run_dir=f"{out}/{name}", checkpoint_every=2,
               meta={"name": name}, progress=False)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(tmp_path: Path, processes: int, out: Path, generations: int = GENERATIONS,
             fail_at: int = -1) -> subprocess.CompletedProcess:
    script = tmp_path / "evolve_small.py"
    script.write_text(SCRIPT)
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={processes}",
         "--master-addr=127.0.0.1", f"--master-port={free_port()}", str(script), str(out),
         str(generations), str(fail_at)],
        env=env, capture_output=True, text=True, timeout=600)


def states_equal(a: dict, b: dict) -> bool:
    """Two saved run states, tensors compared bit for bit."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def state(run_dir: Path) -> dict:
    return torch.load(run_dir / "state.pt", weights_only=False)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("one")
    done = torchrun(tmp, 1, tmp / "runs")
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "runs"


def test_shares_split_unevenly_and_cover_the_batch():
    assert shares(5, 2) == [Share(0, 3, 5), Share(3, 5, 5)]
    assert [len(s) for s in shares(7, 3)] == [2, 3, 2]
    assert [len(s) for s in shares(2, 3)] == [1, 0, 1]  # more processes than rows
    assert shares(4, 1) == [Share.whole(4)]


def test_shares_of_blocks_are_whole_blocks_as_even_as_they_allow():
    # the supervised fitness's blocks of 32 on a CPU, and PGPE's centre as the 33rd row
    assert shares(33, 2, 32) == [Share(0, 32, 33), Share(32, 33, 33)]
    assert shares(257, 2, 32) == [Share(0, 128, 257), Share(128, 257, 257)]
    assert [len(s) for s in shares(513, 3, 32)] == [160, 192, 161]
    assert [len(s) for s in shares(33, 4, 32)] == [0, 32, 0, 1]  # more processes than blocks
    for total, processes, block in [(33, 2, 32), (100, 3, 7), (5, 8, 2), (64, 2, 32)]:
        cuts = [s.start for s in shares(total, processes, block)]
        assert all(c % block == 0 for c in cuts), (total, processes, block)
        assert sum(map(len, shares(total, processes, block))) == total


def test_the_supervised_fitness_says_how_many_rows_it_trains_together():
    g = torch.Generator().manual_seed(0)
    dataset = supervised.data.Dataset("mnist", torch.rand(20, 784, generator=g),
                                      torch.randint(0, 10, (20,), generator=g),
                                      torch.rand(5, 784), torch.randint(0, 10, (5,)), "random")
    settings = supervised.SupervisedSettings(steps=1)
    assert supervised.fitness_function(settings, [dataset]).rows_at_once == 32
    assert supervised.fitness_function(settings, [dataset], 8).rows_at_once == 8


def test_without_torchrun_there_is_one_process_and_fitness_is_called_as_before():
    assert (world_size(), rank(), is_main_process()) == (1, 0, True)
    calls = []

    def fitness(params, generation):  # no share argument: never passed to one process
        calls.append(generation)
        return -params.sum(-1), {"size": params[:, 0]}

    values, extras = evaluate_fitness(fitness, torch.ones(3, 2), 7)
    assert calls == [7] and torch.equal(values, -2 * torch.ones(3))
    assert torch.equal(extras["size"], torch.ones(3))


def test_rl_fitness_of_a_share_equals_the_whole_batch():
    """Episode seeds follow a member's row in the whole batch, not in the process's share."""
    settings = rl.settings_for("quick", "CartPole-v1", updates=2, population=4,
                               load_evolved_from=None)
    env = rl.make_env(settings, 1)
    tdca = rl.tdca_network(settings, env, rl.agent_network(settings, env))
    beta = tdca.init(torch.Generator().manual_seed(0)) + 0.1 * torch.randn(
        5, tdca.num_params, generator=torch.Generator().manual_seed(1))
    fitness = rl.fitness_function(settings)
    whole, extras = fitness(beta, 3)
    for share in shares(5, 2) + shares(5, 3):
        part, part_extras = fitness(beta[share.start:share.stop], 3, share=share)
        assert torch.equal(part, whole[share.start:share.stop])
        assert torch.equal(part_extras["train_return"],
                           extras["train_return"][share.start:share.stop])
    # Told nothing, a share would play other episodes: the share argument is what keeps them.
    last = shares(5, 2)[1]
    assert not torch.equal(fitness(beta[last.start:], 3)[1]["train_return"],
                           extras["train_return"][last.start:])


def test_a_share_with_several_rows_per_member_starts_where_its_rows_sit():
    """Meta-World holds 9 rows (task variants) per member: a share of members 3 and 4 of a
    batch of 5 starts at row 27 of the whole batch's 45."""
    settings = rl.RLSettings()
    whole, part = SimpleNamespace(population=5 * 9), SimpleNamespace(population=2 * 9)
    assert (rl.first_row_seed(settings, 7, part, Share(3, 5, 5))
            == rl.first_row_seed(settings, 7, whole) + 27
            == rl.episode_seed(settings, 7, 45) + 27)


@pytest.mark.slow
def test_two_processes_end_where_one_does(tmp_path, one_process):
    done = torchrun(tmp_path, 2, tmp_path / "runs")
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("rl", "supervised"):
        one, two = state(one_process / name), state(tmp_path / "runs" / name)
        assert two["pgpe"]["generation"] == GENERATIONS
        # Bit for bit: each member's fitness is computed by the same per-row arithmetic in
        # either process, and every rank steps from the same gathered values.
        assert torch.equal(one["pgpe"]["center"], two["pgpe"]["center"]), name
        assert states_equal(one, two), f"{name}: the state file depends on the world size"
        written = sorted(p.name for p in (tmp_path / "runs" / name).iterdir())
        assert written == ["lock", "state.pt"]  # rank 0's lock and state, nothing else


@pytest.mark.slow
def test_a_failing_rank_stops_the_run_and_one_process_resumes_it(tmp_path, one_process):
    runs = tmp_path / "runs"
    failed = torchrun(tmp_path, 2, runs, fail_at=3)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "RankFailed" in output and "rank 1 failed in generation 3" in output
    assert "ValueError: injected failure" in output
    # Generation 3 never finished: the folder keeps the checkpoint of generation 2.
    kept = state(runs / "rl")
    assert kept["pgpe"]["generation"] == 2 and len(kept["log"]) == 2
    assert not (runs / "supervised").exists()

    resumed = torchrun(tmp_path, 1, runs)  # continue the 2-process run with one process
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for name in ("rl", "supervised"):
        assert states_equal(state(one_process / name), state(runs / name)), name


# A rank that stops answering (SIGSTOP: its sockets stay open, so nothing looks wrong) at
# generation 3, under a timeout of 3 s; the ranks are started here rather than by torchrun,
# which would wait 30 s for a stopped process to take its SIGTERM.
STOPPING = textwrap.dedent("""
    import os, signal, sys, torch
    from tdca_lib.method.distributed import rank
    from tdca_lib.machinery.commands import command
    from tdca_lib.method.outer_loop import evolve
    from tdca_lib.method.pgpe import PGPE

    def fitness(params, generation, share=None):
        if rank() == 1 and generation == 3:
            os.kill(os.getpid(), signal.SIGSTOP)
        return -(params ** 2).sum(-1)

    pgpe = PGPE(torch.ones(8), population=6, sigma=0.1, center_lr=0.1, seed=0)
    sys.exit(command(lambda: evolve(fitness, pgpe, 10, run_dir=sys.argv[1], checkpoint_every=2,
                                    progress=False)))
""")
TIMEOUT_S = 3


def process_state(pid: int) -> str:
    """Linux's one-letter state of a process: R running, S sleeping, T stopped, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.slow
def test_a_stopped_rank_stops_the_others_within_the_timeout_naming_it(tmp_path):
    script = tmp_path / "stopping.py"
    script.write_text(STOPPING)
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
                        "TDCA_RANK_TIMEOUT": str(TIMEOUT_S)}
    ranks = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "run")],
                              env=env | {"RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    try:
        deadline = time.monotonic() + 120
        while process_state(ranks[1].pid) != "T":
            assert ranks[1].poll() is None and time.monotonic() < deadline, "rank 1 never stopped"
            time.sleep(0.05)
        stopped = time.monotonic()
        _, error = ranks[0].communicate(timeout=60)  # gloo alone would wait 30 minutes
        waited = time.monotonic() - stopped
        assert process_state(ranks[1].pid) == "T"  # it did not answer: it is still stopped
    finally:
        for process in ranks:
            process.send_signal(signal.SIGKILL)
            process.communicate()
    assert ranks[0].returncode == 1
    lines = error.strip().splitlines()  # the command's one line, and nothing else
    assert len(lines) == 1 and lines[0].startswith(
        f"error: rank 1 did not answer within {TIMEOUT_S} s, at generation 3"), error[-2000:]
    assert "TDCA_RANK_TIMEOUT" in lines[0]
    assert TIMEOUT_S <= waited < TIMEOUT_S + 10
    assert state(tmp_path / "run")["pgpe"]["generation"] == 2  # the last checkpoint is kept


def test_the_timeout_follows_the_longest_generation_or_the_setting(monkeypatch):
    from tdca_lib.method import distributed

    monkeypatch.delenv(distributed.TIMEOUT_VARIABLE, raising=False)
    monkeypatch.setattr(distributed, "_longest_generation", 0.0)
    assert distributed.rank_timeout() == distributed.START_WAIT_S  # before any generation
    monkeypatch.setattr(distributed, "_longest_generation", 0.5)
    assert distributed.rank_timeout() == distributed.MIN_WAIT_S
    monkeypatch.setattr(distributed, "_longest_generation", 30.0)
    assert distributed.rank_timeout() == 30.0 * distributed.WAIT_GENERATIONS
    monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, "2.5")
    assert distributed.rank_timeout() == 2.5
    for bad in ("0", "-1", "soon", "inf", "nan"):
        monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, bad)
        with pytest.raises(ValueError, match="TDCA_RANK_TIMEOUT must be a number of seconds"):
            distributed.rank_timeout()
