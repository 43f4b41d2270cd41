"""Every evolution command, end to end: a few generations of a tiny setting, run as a user runs
it (``python -m ...``), shipping into a scratch folder; then what it shipped loads."""

import json
import os
import subprocess
import sys

import pytest

from tdca_lib.machinery.checkpoints import load_evolved

pytestmark = pytest.mark.slow

TINY_SUPERVISED = ["--set", "generations=2", "population=2", "train_size=100",
                   "test_size=100", "steps=2", "seeds=1"]
COMMANDS = {  # name shipped: the command's arguments
    "supervised-mnist-2steps-100-quick": ["tdca_lib.experiments.supervised", *TINY_SUPERVISED],
    "diffusion-10-to-100-mnist-2steps-100-quick": ["tdca_lib.experiments.supervised", "--credits",
                                                   "10-to-100", *TINY_SUPERVISED],
    "deep-fc-mnist-2steps-100-quick": ["tdca_lib.experiments.supervised", "--architecture",
                                       "deep_fc", *TINY_SUPERVISED],
    "rl-CartPole-v1-2updates-quick": ["tdca_lib.experiments.rl", "--task", "CartPole-v1", "--set",
                                      "updates=2", "generations=2", "population=2", "seeds=1"],
    "metaworld-1updates-10steps-quick": ["tdca_lib.experiments.rl", "--task", "Meta-World", "--set",
                                         "updates=1", "episode_steps=10", "generations=1",
                                         "population=2", "seeds=1"],
}


def run(args, tmp_path):
    env = os.environ | {"TDCA_CHECKPOINTS_DIR": str(tmp_path / "checkpoints"),
                        "TDCA_RUNS_DIR": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("name", COMMANDS)
def test_an_evolution_command_ships_a_network_that_loads(name, tmp_path):
    done = run(COMMANDS[name], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"evolved {name.removesuffix('-quick')}" in done.stdout  # the summary line
    manifest = json.loads((tmp_path / "checkpoints" / f"{name}.json").read_text())
    center, log, loaded = load_evolved(name, expect=manifest["settings"],
                                       regenerate=manifest["command"],
                                       folder=tmp_path / "checkpoints")
    assert len(log) == manifest["generations"] and center.numel() == manifest["num_params"]
    assert loaded["evaluation"]  # how well it trains fresh networks or agents, recorded
    # run again: it resumes the finished run and ships the very same bytes
    before = (tmp_path / "checkpoints" / f"{name}.pt").read_bytes()
    assert run(COMMANDS[name], tmp_path).returncode == 0
    assert (tmp_path / "checkpoints" / f"{name}.pt").read_bytes() == before


def test_the_scale_command_writes_a_curve(tmp_path):
    done = run(["tdca_lib.experiments.scale", "--population", "2", "--evaluations", "2", "--folder",
                str(tmp_path)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    curve = json.loads(next(tmp_path.glob("*/curve.json")).read_text())
    assert [p["evaluations"] for p in curve["points"]] == [0, 2]
    assert curve["command"].startswith("python -m tdca_lib.experiments.scale --population 2")
    assert run(["tdca_lib.experiments.scale", "--population", "3"], tmp_path).returncode == 2  # odd


def test_a_bad_setting_is_one_line_and_status_2(tmp_path):
    done = run(["tdca_lib.experiments.supervised", "--set", "generations=abc"], tmp_path)
    assert done.returncode == 2 and "generations" in done.stderr.splitlines()[-1]
