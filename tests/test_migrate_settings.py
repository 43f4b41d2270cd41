"""Networks and runs stored before the settings classes were merged still load and resume once
``scripts/migrate_settings.py`` has run, and every network shipped here loads as it is."""

import dataclasses
import importlib.util
import json

import pytest
import torch

from tdca_lib.experiments import gaussian, rl, supervised
from tdca_lib.machinery import checkpoints
from tdca_lib.machinery.checkpoints import CheckpointError, ResumeMismatch, save_evolved
from tdca_lib.machinery.files import ROOT
from tdca_lib.machinery.profiles import evolved_settings
from tdca_lib.method.outer_loop import RunSettings, evolve
from tdca_lib.method.pgpe import PGPE

spec = importlib.util.spec_from_file_location("migrate", ROOT / "scripts" / "migrate_settings.py")
migrate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migrate)

ADDED = ("architecture", "sites", "layout", "diffusion_sigma")  # fields the merge brought


def old(settings: supervised.SupervisedSettings) -> dict:
    """The evolved settings as the classes before the merge stored them."""
    fields = evolved_settings(settings)
    if settings.sites is None:  # the plain supervised class knew nothing of diffusion
        fields = {k: v for k, v in fields.items() if k not in ADDED[1:]}
    return {k: v for k, v in fields.items() if k != "architecture"}


@pytest.mark.parametrize("credits", ["100-to-100", "6x6-to-30x30"])
def test_a_network_shipped_before_the_merge_loads_after_migration(credits, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(tmp_path))
    settings = supervised.settings_for("quick", credits=credits)
    name = f"{supervised.network_name(settings)}-quick"
    save_evolved(name, torch.arange(4.0), [{"center": -1.0}], experiment="03_diffusion",
                 profile="quick", settings=old(settings), folder=tmp_path,
                 command="python -m tdca_lib.sparse_credits --profile quick")
    with pytest.raises(CheckpointError, match="other settings"):
        supervised.shipped_tdca(settings, "mnist")
    assert migrate.migrate_checkpoints(tmp_path) == [f"{name}.json"]
    center, log, manifest = supervised.shipped_tdca(settings, "mnist")
    assert torch.equal(center[0], torch.arange(4.0)) and log == [{"center": -1.0}]
    assert manifest["command"] == supervised.regenerate_command(settings)
    assert migrate.migrate_checkpoints(tmp_path) == []  # a second run changes nothing


def test_an_rl_network_gains_episode_steps_and_keeps_its_checksum_valid(tmp_path, monkeypatch):
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(tmp_path))
    settings = rl.settings_for("quick", "CartPole-v1")
    stored = {k: v for k, v in evolved_settings(settings).items() if k != "episode_steps"}
    save_evolved(f"{rl.network_name(settings)}-quick", torch.ones(3), [{"center": 1.0}],
                 experiment="05_rl", profile="quick", settings=stored, folder=tmp_path)
    migrate.migrate_checkpoints(tmp_path)
    assert torch.equal(rl.shipped_tdca(settings)[0][0], torch.ones(3))


def test_a_run_state_from_before_the_merge_resumes_after_migration(tmp_path):
    settings = supervised.SupervisedSettings()
    run_dir = tmp_path / "supervised-mnist-20steps-1000-quick"

    def run(generations, meta):
        pgpe = PGPE(torch.ones(3), population=4, sigma=0.1, center_lr=0.1, seed=0)
        return evolve(lambda params, generation: -(params**2).sum(1), pgpe, generations,
                      run_dir=run_dir, meta=meta, progress=False)

    run(2, old(settings))
    with pytest.raises(ResumeMismatch):
        run(3, evolved_settings(settings))
    assert migrate.migrate_states(tmp_path) == [str(run_dir / "state.pt")]
    assert len(run(3, evolved_settings(settings))) == 3


def test_every_shipped_network_loads_with_todays_settings():
    for path in sorted(checkpoints.checkpoints_dir().glob("*.json")):
        manifest = json.loads(path.read_text())
        settings_class = migrate.kind(manifest["name"])[0]
        settings = migrate.rebuilt(manifest["settings"], settings_class)
        checkpoints.load_evolved(path.stem, expect=evolved_settings(settings), regenerate="-")
        assert migrate.missing(manifest["settings"], settings_class) == {}, path.name


def test_settings_classes_add_plain_data_to_the_run_settings():
    """Settings are plain data: each experiment's class adds its fields to the run's, declared
    once in RunSettings, and nothing subclasses further; what differs between experiments is a
    field's value."""
    assert RunSettings.__bases__ == (object,)
    for cls in (gaussian.GaussianSettings, supervised.SupervisedSettings, rl.RLSettings):
        assert issubclass(cls, RunSettings) and dataclasses.is_dataclass(cls)
        own = set(cls.__annotations__)  # the run fields are declared in RunSettings alone
        assert not own & {f.name for f in dataclasses.fields(RunSettings)}, cls.__name__
        methods = {k for k, v in vars(cls).items() if callable(v) and not k.startswith("__")}
        assert methods == set(), f"{cls.__name__} has behaviour: {methods}"
        run = evolved_settings(cls())
        assert {"seed", "population", "sigma", "center_lr", "generations"} <= set(run)
        assert not {"checkpoint_every", "load_evolved_from", "replace_shipped"} & set(run)
