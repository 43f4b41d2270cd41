import json

import pytest
import torch

from tdca_lib.checkpoints import CheckpointError, load_evolved, save_evolved

SETTINGS = {"seed": 0, "hidden": 16}
LOG = [{"generation": 1, "center": 0.5, "best": 0.7, "mean": 0.2, "nonfinite": 0, "sigma": 0.1}]


def save(folder, name="net"):
    return save_evolved(name, torch.arange(5.0), LOG, experiment="test", profile="quick",
                        settings=SETTINGS, folder=folder)


def load(folder, name="net", expect=SETTINGS):
    return load_evolved(name, expect=expect, regenerate="make it again", folder=folder)


def test_roundtrip_and_manifest(tmp_path):
    manifest = save(tmp_path)
    center, log, loaded = load(tmp_path)
    assert torch.equal(center, torch.arange(5.0)) and log == LOG
    assert loaded == manifest
    assert manifest["generations"] == 1 and manifest["final_center_fitness"] == 0.5
    assert manifest["profile"] == "quick" and manifest["seed"] == 0
    assert {"torch", "python"} <= set(manifest["versions"]) and manifest["commit"]
    assert manifest["device"] == "cpu"  # where the run finished


def test_saving_the_same_network_again_leaves_the_files_untouched(tmp_path):
    save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    save(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    save_evolved("net", torch.arange(5.0) + 1, LOG, experiment="test", profile="quick",
                 settings=SETTINGS, folder=tmp_path)
    assert (tmp_path / "net.pt").read_bytes() != before["net.pt"]


def test_missing_file_says_how_to_regenerate(tmp_path):
    with pytest.raises(CheckpointError, match="(?s)not found.*make it again"):
        load(tmp_path)


def test_corrupt_file_is_detected(tmp_path):
    save(tmp_path)
    data = bytearray((tmp_path / "net.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "net.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="(?s)corrupt.*make it again"):
        load(tmp_path)


def test_unreadable_manifest_is_corrupt(tmp_path):
    save(tmp_path)
    (tmp_path / "net.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load(tmp_path)


def test_other_settings_are_named_in_the_error(tmp_path):
    save(tmp_path)
    with pytest.raises(CheckpointError, match="hidden: evolved with 16, asked for 32"):
        load(tmp_path, expect={"seed": 0, "hidden": 32})


def test_manifest_is_plain_json(tmp_path):
    save(tmp_path)
    assert json.loads((tmp_path / "net.json").read_text())["name"] == "net"
