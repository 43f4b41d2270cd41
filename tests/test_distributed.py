"""The population sharded over processes (torchrun, gloo on the CPU) gives the run of one.

Small supervised and RL evolutions run under ``torchrun --nproc-per-node 1`` and ``2`` into
temporary folders, and must end at the same centre with the same state file, bit for bit: every
rank draws the same noise, a member's fitness does not depend on which process evaluates it,
and all ranks take the same PGPE step from the gathered values. Populations of 6 and 4 (plus
the centre) split unevenly over two processes.
"""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tdca_lib import rl
from tdca_lib.distributed import Share, evaluate_fitness, is_main_process, rank, shares, world_size

ROOT = Path(__file__).resolve().parents[1]
GENERATIONS = 4

# Two tiny evolutions; rank 1's fitness raises in generation FAIL_AT when it is not -1.
SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from tdca_lib import data, rl, supervised
    from tdca_lib.distributed import rank
    from tdca_lib.outer_loop import evolve
    from tdca_lib.pgpe import PGPE

    out, generations, fail_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    def failing(fitness):
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

    def supervised_run():
        g = torch.Generator().manual_seed(0)
        dataset = data.Dataset("mnist", torch.rand(100, 784, generator=g),
                               torch.randint(0, 10, (100,), generator=g), torch.rand(10, 784),
                               torch.randint(0, 10, (10,), generator=g), "synthetic")
        settings = supervised.SupervisedSettings(steps=3, population=6)
        tdca = supervised.tdca_network(settings, supervised.bottom_up_network(settings, 784))
        pgpe = PGPE(tdca.init(g), population=6, sigma=settings.sigma,
                    center_lr=settings.center_lr)
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
    assert [len(s) for s in shares(7, 3)] == [3, 2, 2]
    assert [len(s) for s in shares(2, 3)] == [1, 1, 0]  # more processes than rows
    assert shares(4, 1) == [Share.whole(4)]


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
