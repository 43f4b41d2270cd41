"""How an evolution run guards its folder and the shipped networks: bad settings refused before
anything is written, one run a folder, unreadable state named, stale temporaries cleaned, a
shorter run never shipped over a longer one."""

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from tdca_lib.experiments import supervised
from tdca_lib.machinery.checkpoints import StateUnreadable, load_evolved
from tdca_lib.machinery.commands import command
from tdca_lib.machinery.files import ROOT, FolderLocked, locked
from tdca_lib.method.outer_loop import Experiment, RunSettings, evolve, evolve_or_load, generation
from tdca_lib.method.pgpe import PGPE

SHIPPED = ROOT / "data" / "checkpoints"
MNIST = "supervised-mnist-20steps-1000-quick"


def sphere(params, generation):
    return -(params**2).sum(-1)


def small_run(run_dir, generations=3):
    pgpe = PGPE(torch.ones(4), population=4, sigma=0.1, center_lr=0.1, seed=0)
    return evolve(sphere, pgpe, generations, run_dir=run_dir, checkpoint_every=1,
                  meta={"task": "runs-test"}, progress=False)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Runs and shipped networks in scratch folders; the shipped MNIST network copied there."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for suffix in (".pt", ".json"):
        shutil.copy(SHIPPED / f"{MNIST}{suffix}", checkpoints)
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(checkpoints))
    monkeypatch.setenv("TDCA_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("override, message", [
    ("generations=0", "generations=0 must be at least 1"),
    ("generations=-3", "generations=-3 must be at least 1"),
    ("population=0", "population=0 must be even and at least 2 (PGPE's members come in "
                     "antithetic pairs)"),
    ("population=1", "population=1 must be even and at least 2"),
    ("population=3", "population=3 must be even and at least 2"),
    ("steps=0", "steps=0 must be at least 1"),
    ("train_size=0", "train_size=0 must be at least 1"),
    ("sigma=0", "sigma=0 must be a finite number above 0"),
    ("sigma=-0.1", "sigma=-0.1 must be a finite number above 0"),
    ("sigma=1e999", "sigma=inf must be a finite number above 0"),
    ("sigma=nan", "sigma=nan must be a finite number above 0"),
    ("inner_lr=inf", "inner_lr=inf must be a finite number above 0"),
    ("center_lr=-Infinity", "center_lr=-inf must be a finite number above 0"),
    ("max_norm=1e999", "max_norm=inf must be finite, not nan or inf"),
    ("diffusion_sigma=nan", "diffusion_sigma=nan must be finite, not nan or inf"),
    ("generations=abc", "generations='abc' must be of type int, not str"),
    ("generations=2.5", "generations=2.5 must be of type int, not float"),
    ("tdca_hidden=30", "tdca_hidden=30 must be of type tuple"),
])
def test_impossible_settings_are_refused_before_anything_is_written(scratch, capsys, override,
                                                                     message):
    before = files(scratch / "checkpoints")
    with pytest.raises(SystemExit) as stopped:
        supervised.main(["--set", override])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert ("must be of type" in err) == ("must be of type" in message)  # nan: a number
    assert files(scratch / "checkpoints") == before and not (scratch / "runs").exists()


def test_every_float_setting_is_checked_finite():
    from tdca_lib.experiments import gaussian, rl

    for settings_class, name in [(gaussian.GaussianSettings, "extent"),
                                 (rl.RLSettings, "reward_scale")]:
        with pytest.raises(ValueError, match=f"{name}=nan must be finite"):
            settings_class(**{name: float("nan")})


def tiny_gaussian(**changes):
    from tdca_lib.experiments import gaussian

    return gaussian.PROFILES.get("quick", **{"generations": 2, "population": 4, "train_grid": 2,
                                              "steps": 2, "checkpoint_every": 1} | changes)


def test_a_shorter_run_is_not_shipped_over_a_longer_one_without_asking(scratch, capsys,
                                                                       monkeypatch):
    from tdca_lib.experiments import gaussian

    assert command(lambda: gaussian.evolved_tdca(tiny_gaussian(generations=3), "quick")) == 0
    before = files(scratch / "checkpoints")
    monkeypatch.setenv("TDCA_RUNS_DIR", str(scratch / "other-runs"))  # a run begun afresh
    capsys.readouterr()
    assert command(lambda: gaussian.evolved_tdca(tiny_gaussian(), "quick")) == 1
    err = capsys.readouterr().err.splitlines()[-1]  # after the progress bar
    assert err.startswith("error: not shipped") and "evolved 3 generations" in err
    assert "--replace-shipped" in err
    assert files(scratch / "checkpoints") == before
    asked = tiny_gaussian(replace_shipped=True)  # what --replace-shipped sets
    assert command(lambda: gaussian.evolved_tdca(asked, "quick")) == 0
    assert "evolved gaussian-quick: 2 generations in " in capsys.readouterr().out  # its summary
    shipped = load_evolved("gaussian-quick", expect={}, regenerate="")
    assert shipped[2]["generations"] == 2


@pytest.mark.parametrize("change, named", [
    ({"sigma": 0.2}, "sigma: 0.1 shipped, 0.2 asked"),
    ({"population": 6}, "population: 4 shipped, 6 asked"),
])
def test_a_run_with_other_settings_is_not_shipped_over_a_shipped_network(scratch, capsys, change,
                                                                         named):
    from tdca_lib.experiments import gaussian

    shipped = scratch / "checkpoints"
    assert command(lambda: gaussian.evolved_tdca(tiny_gaussian(), "quick")) == 0
    before, run_before = files(shipped), files(scratch / "runs" / "gaussian-quick")
    capsys.readouterr()
    # the same generation count, other settings: refused before anything runs or is written
    assert command(lambda: gaussian.evolved_tdca(tiny_gaussian(**change), "quick")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"error: not shipped: {shipped / 'gaussian-quick.pt'} holds a network evolved with "
        "other settings (")
    assert named in err and "pass --replace-shipped to ship over it" in err
    assert "python -m tdca_lib.machinery.reproduce" in err  # its own command, to keep it
    assert files(shipped) == before and files(scratch / "runs" / "gaussian-quick") == run_before
    # asked for, it ships over it (its run folder holds the other run: start that afresh)
    shutil.rmtree(scratch / "runs")
    replaced = command(lambda: gaussian.evolved_tdca(tiny_gaussian(**change, replace_shipped=True),
                                                     "quick"))
    assert replaced == 0
    manifest = load_evolved("gaussian-quick", expect={}, regenerate="")[2]
    assert all(manifest["settings"][k] == v for k, v in change.items())


def test_a_longer_run_with_the_same_settings_ships_without_asking(scratch):
    from tdca_lib.experiments import gaussian

    gaussian.evolved_tdca(tiny_gaussian(), "quick")
    gaussian.evolved_tdca(tiny_gaussian(generations=3), "quick")  # extends it
    assert load_evolved("gaussian-quick", expect={}, regenerate="")[2]["generations"] == 3


def test_an_unreadable_state_is_named_in_one_line(tmp_path):
    small_run(tmp_path)
    state = tmp_path / "state.pt"
    state.write_bytes(state.read_bytes()[:200])  # truncated
    with pytest.raises(StateUnreadable) as caught:
        small_run(tmp_path, 5)
    message = str(caught.value)
    assert "\n" not in message
    assert str(state) in message and f"delete {tmp_path} to evolve afresh" in message


HOLD = textwrap.dedent("""
    import sys, time
    from tdca_lib.machinery.files import locked
    with locked(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(60)
""")


def test_a_second_run_of_one_folder_names_the_first_and_stops(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(FolderLocked, match=f"in use by process {holder.pid}"):
            small_run(tmp_path)
        assert not (tmp_path / "state.pt").exists()
    finally:
        holder.kill()
        holder.wait()
    small_run(tmp_path)  # the lock died with its holder
    assert (tmp_path / "state.pt").exists()


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with locked(tmp_path), locked(tmp_path):
        small_run(tmp_path)  # evolve takes the lock its caller holds
    with locked(tmp_path):
        pass


def test_stale_temporaries_of_a_killed_write_are_cleaned_on_the_next_start(tmp_path):
    small_run(tmp_path)
    stale = tmp_path / ".state.pt.x1y2z3.tmp"
    stale.write_bytes(b"half a state")
    small_run(tmp_path, 4)
    assert not stale.exists()


def test_temporaries_are_ignored_by_git(tmp_path):
    probe = ROOT / "data" / "checkpoints" / ".probe.pt.abc.tmp"
    probe.write_bytes(b"")
    try:
        ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT)
        assert ignored.returncode == 0
    finally:
        os.unlink(probe)


def test_a_run_error_is_one_line_and_exit_status_1(tmp_path, capsys):
    def fails():
        small_run(tmp_path)
        (tmp_path / "state.pt").write_bytes(b"")
        small_run(tmp_path, 4)

    started = time.time()
    assert command(fails) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and time.time() - started < 60


def test_an_evolution_command_ends_with_a_one_line_summary(scratch, capsys):
    from tdca_lib.experiments import gaussian

    settings = gaussian.PROFILES.get("quick", generations=3, population=4, train_grid=2, steps=2,
                                     checkpoint_every=1)
    assert command(lambda: gaussian.evolved_tdca(settings, "quick")) == 0
    out = capsys.readouterr().out.splitlines()
    [line] = [line for line in out if line.startswith("evolved ")]
    shipped = scratch / "checkpoints" / "gaussian-quick.pt"
    assert line.startswith("evolved gaussian-quick: 3 generations in ")
    assert "; last generation: best member " in line and ", centre " in line
    assert "(best centre " in line and line.endswith(f"; shipped {shipped}")
    assert shipped.exists()
    # extended: it says where it resumed
    longer = gaussian.PROFILES.get("quick", generations=5, population=4, train_grid=2, steps=2,
                                   checkpoint_every=1)
    assert command(lambda: gaussian.evolved_tdca(longer, "quick")) == 0
    out = capsys.readouterr().out
    assert "resuming " in out and "at generation 3 of 5" in out
    assert "evolved gaussian-quick: 5 generations in " in out
    # a notebook (no command around it) prints no summary
    gaussian.evolved_tdca(longer, "quick")
    assert "evolved" not in capsys.readouterr().out


def test_progress_in_a_log_file_is_one_line_a_refresh_with_an_eta(tmp_path, capsys):
    pgpe = PGPE(torch.ones(4), population=4, sigma=0.1, center_lr=0.1, seed=0)
    evolve(sphere, pgpe, 3, desc="sphere")  # stderr captured: not a terminal
    err = capsys.readouterr().err
    assert "\r" not in err
    last = err.splitlines()[-1]
    assert last.startswith("sphere: 100%") and "3/3 [" in last and "<00:00" in last  # ETA
    assert "best=" in last and "center=" in last


def test_a_generation_evaluates_the_centre_beside_its_members_and_steps_once():
    pgpe = PGPE(torch.ones(4), population=4, sigma=0.1, center_lr=0.1, seed=0)
    center = pgpe.center.clone()
    row = generation(pgpe, sphere)
    assert row["generation"] == pgpe.generation == 1
    assert row["center"] == sphere(center[None], 0).item()  # the centre that sampled it
    assert not torch.equal(pgpe.center, center)  # and told: the centre moved
    again = PGPE(torch.ones(4), population=4, sigma=0.1, center_lr=0.1, seed=0)
    assert evolve(sphere, again, 1, progress=False) == [row]


def test_an_experiment_ships_under_its_profile_with_what_it_measures(scratch):
    settings = RunSettings(population=4, generations=2)
    measured = {"norm": "1.23"}
    experiment = Experiment("sphere", settings, "quick", notebook="00_test", fitness=sphere,
                            start=torch.ones(3), regenerate="make sphere",
                            measure=lambda center: measured | {"size": center.numel()})
    center, log, manifest = evolve_or_load(experiment)
    assert len(log) == 2 and manifest["evaluation"] == measured | {"size": 3}
    assert manifest["experiment"] == "00_test" and manifest["command"] == "make sphere"
    loaded = evolve_or_load(dataclasses.replace(
        experiment, settings=dataclasses.replace(settings, load_evolved_from="quick")))
    assert torch.equal(loaded[0], center) and loaded[1] == log
