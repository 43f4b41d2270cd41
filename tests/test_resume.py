"""A run killed with SIGKILL and resumed ends bit-identical to an uninterrupted one."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from tdca_lib.machinery.checkpoints import ResumeMismatch
from tdca_lib.method.outer_loop import evolve
from tdca_lib.method.pgpe import PGPE

GENERATIONS = 300

RUN = textwrap.dedent(f"""
    import sys, time, torch
    from tdca_lib.method.outer_loop import evolve
    from tdca_lib.method.pgpe import PGPE

    def fitness(params, generation):
        time.sleep(0.005)  # slow enough to be killed in the middle
        noise = torch.randn(params.shape[1], generator=torch.Generator().manual_seed(generation))
        return -((params - 1 - 0.01 * noise) ** 2).sum(-1)

    pgpe = PGPE(torch.zeros(20), population=16, sigma=0.1, center_lr=0.05, seed=3)
    evolve(fitness, pgpe, {GENERATIONS}, run_dir=sys.argv[1], checkpoint_every=7,
           meta={{"task": "resume-test"}}, progress=False)
    torch.save(pgpe.center.detach(), sys.argv[2])
""")


def run_script(tmp_path, run_dir, result):
    script = tmp_path / "run.py"
    script.write_text(RUN)
    return subprocess.Popen([sys.executable, str(script), str(run_dir), str(result)])


@pytest.mark.slow
def test_killed_and_resumed_run_is_bit_identical(tmp_path):
    straight = tmp_path / "straight.pt"
    assert run_script(tmp_path, tmp_path / "run-a", straight).wait() == 0

    run_dir, resumed = tmp_path / "run-b", tmp_path / "resumed.pt"
    process = run_script(tmp_path, run_dir, resumed)
    deadline = time.time() + 60
    while not (run_dir / "state.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let it run past a checkpoint or two, then kill it mid-generation
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved = torch.load(run_dir / "state.pt")
    assert 0 < saved["pgpe"]["generation"] < GENERATIONS, "the kill should land mid-run"
    assert not resumed.exists()

    assert run_script(tmp_path, run_dir, resumed).wait() == 0
    assert torch.equal(torch.load(straight), torch.load(resumed))


def test_resume_with_other_settings_is_refused(tmp_path):
    def fitness(params, generation):
        return -(params**2).sum(-1)

    evolve(fitness, PGPE(torch.ones(3), population=4, sigma=0.1, center_lr=0.1), 3,
           run_dir=tmp_path, meta={"lr": 0.1}, progress=False)
    with pytest.raises(ResumeMismatch, match="Delete"):
        evolve(fitness, PGPE(torch.ones(3), population=4, sigma=0.1, center_lr=0.1), 6,
               run_dir=tmp_path, meta={"lr": 0.2}, progress=False)


def test_a_finished_run_can_be_extended_and_equals_a_longer_run(tmp_path):
    def fitness(params, generation):
        return -((params - 1) ** 2).sum(-1)

    def run(run_dir, generations):
        pgpe = PGPE(torch.zeros(3), population=4, sigma=0.1, center_lr=0.1, seed=5)
        log = evolve(fitness, pgpe, generations, run_dir=run_dir,
                     meta={"generations": generations, "lr": 0.1}, progress=False)
        return pgpe, log

    run(tmp_path / "a", 5)
    extended, log = run(tmp_path / "a", 9)
    straight, _ = run(tmp_path / "b", 9)
    assert len(log) == 9 and torch.equal(extended.center, straight.center)
    with pytest.raises(ResumeMismatch, match="past the 4"):
        run(tmp_path / "a", 4)


def test_a_finished_run_is_not_run_again(tmp_path):
    calls = []

    def fitness(params, generation):
        calls.append(generation)
        return -(params**2).sum(-1)

    def run():
        pgpe = PGPE(torch.ones(3), population=4, sigma=0.1, center_lr=0.1)
        return evolve(fitness, pgpe, 5, run_dir=tmp_path, progress=False), pgpe

    first_log, first = run()
    second_log, second = run()
    assert calls == [0, 1, 2, 3, 4]
    assert second_log == first_log and torch.equal(first.center, second.center)


FAULTS = textwrap.dedent("""
    import sys, time, torch
    from tdca_lib.machinery import checkpoints, files
    from tdca_lib.method.outer_loop import evolve
    from tdca_lib.method.pgpe import PGPE

    atomic_write = files.atomic_write

    def slow_write(path, write):  # widen the window between writing and renaming
        def write_then_wait(tmp):
            write(tmp)
            time.sleep(0.03)
        return atomic_write(path, write_then_wait)

    files.atomic_write = slow_write

    def fitness(params, generation):
        time.sleep(0.003)
        noise = torch.randn(params.shape[1], generator=torch.Generator().manual_seed(generation))
        return -((params - 1 - 0.01 * noise) ** 2).sum(-1)

    run_dir, shipped = sys.argv[1], sys.argv[2]
    pgpe = PGPE(torch.zeros(20), population=16, sigma=0.1, center_lr=0.05, seed=3)
    warm = PGPE(torch.zeros(20), population=16, sigma=0.1, center_lr=0.05)
    warm.ask()
    warm.tell(torch.randn(16))  # the first optimiser step imports for seconds: not in the window
    print("ready", flush=True)
    log = evolve(fitness, pgpe, 120, run_dir=run_dir, checkpoint_every=2,
                 meta={"task": "fault-test"}, progress=False)
    checkpoints.save_evolved("net", pgpe.center, log, experiment="test", profile="quick",
                             settings={"seed": 3}, folder=shipped)
""")


def start(tmp_path, run_dir, shipped):
    script = tmp_path / "faults.py"
    script.write_text(FAULTS)
    process = subprocess.Popen([sys.executable, str(script), str(run_dir), str(shipped)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.slow
def test_random_kills_even_mid_write_resume_bit_identically(tmp_path):
    import random

    straight = tmp_path / "straight"
    assert start(tmp_path, tmp_path / "run-a", straight).wait() == 0

    rng = random.Random(12)  # where the kills land: seeded, so a failure can be replayed
    run_dir, resumed = tmp_path / "run-b", tmp_path / "resumed"
    kills = mid_write = 0
    for _ in range(5):
        process = start(tmp_path, run_dir, resumed)
        time.sleep(rng.uniform(0.1, 1.0))
        if process.poll() is not None:
            break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        mid_write += any(run_dir.glob(".*.tmp"))  # killed between writing and renaming
    assert start(tmp_path, run_dir, resumed).wait() == 0
    assert kills >= 3, "the run ended before most kills: make it longer"
    assert mid_write >= 1, "no kill landed mid-write (writes take most of the time): rerun"
    assert not any(run_dir.glob(".*.tmp")), "a stale temporary survived the next start"
    for name in ("net.pt", "net.json"):  # the very same bytes shipped
        assert (straight / name).read_bytes() == (resumed / name).read_bytes()
    print(f"{kills} kills, {mid_write} of them mid-write")


# The scale study's run (tdca_lib.experiments.scale), small and judged by a stand-in (a real
# judgement takes
# seconds a point): every write slowed, so kills land between writing and renaming, and
# between a milestone's state.pt and its curve.json.
SCALE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tdca_lib.experiments import scale
    from tdca_lib.machinery import data, files

    atomic_write = files.atomic_write

    def slow_write(path, write):
        def write_then_wait(tmp):
            write(tmp)
            time.sleep(0.02)
        return atomic_write(path, write_then_wait)

    def measure(run, pool, center):
        time.sleep(0.05)
        return {"meta_train": center.double().sum().item(),
                "meta_test": [center.double().norm().item()] * 3}

    fitness_for = scale.fitness_for

    def slow_fitness_for(*args):  # a generation at least 0.1 s: kills land mid-run
        fitness = fitness_for(*args)
        def slowed(*args, **share):
            time.sleep(0.1)
            return fitness(*args, **share)
        return slowed

    pool = data.load("mnist")
    data.load = lambda *args, **kwargs: pool  # loaded before "ready": kills land in the run
    files.atomic_write, scale.measure, scale.fitness_for = slow_write, measure, slow_fitness_for
    print("ready", flush=True)
    sys.stdin.readline()  # started beside the others, it runs when told
    for folder in sys.argv[1:]:
        scale.evolve_run(scale.ScaleRun(population=8, seed=1, evaluations=200, steps=2,
                                        train_size=100), Path(folder), progress=False)
""")
SCALE_RUN = "mnist-2steps-100-baseline-pop8-seed1"  # its folder: 25 generations


def go(process: subprocess.Popen) -> subprocess.Popen:
    """Tell a started scale run, once it has loaded, to run."""
    assert process.stdout.readline().strip() == "ready"
    process.stdin.write("go\n")
    process.stdin.flush()
    return process


@pytest.mark.slow
def test_a_scale_run_killed_at_random_resumes_bit_identically(tmp_path):
    import json
    import random

    script = tmp_path / "scale_run.py"
    script.write_text(SCALE)
    folder, straight = tmp_path / "killed", tmp_path / "straight"
    # started at once, so their imports overlap: two runs to kill, and the last, which then
    # makes the same run again straight through
    runs = [subprocess.Popen([sys.executable, str(script), *map(str, folders)], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for folders in [[folder], [folder], [folder, straight]]]
    rng = random.Random(7)  # where the kills land: seeded, so a failure can be replayed
    try:
        for process in runs[:2]:
            go(process)
            time.sleep(rng.uniform(0.2, 1.2))  # 12 generations at most: the next run has 13
            assert process.poll() is None, "the run ended before its kill: make it longer"
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        assert go(runs[2]).wait() == 0
    finally:  # none left waiting to be told
        for process in runs:
            process.kill()
            process.communicate()

    def curve(run_dir):
        saved = json.loads((run_dir / "curve.json").read_text())
        for point in saved["points"]:
            del point["evolution_seconds"]
        return saved

    one, other = straight / SCALE_RUN, folder / SCALE_RUN
    assert [p["generation"] for p in curve(one)["points"]] == [0, 12, 25]
    assert curve(one) == curve(other)
    assert (one / "state.pt").read_bytes() == (other / "state.pt").read_bytes()
    assert not any(other.glob(".*.tmp")), "a stale temporary survived the next start"
