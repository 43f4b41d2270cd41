import io
import json
import pickle

import pytest
import torch

from tdca_lib.machinery import checkpoints
from tdca_lib.machinery.checkpoints import (
    CheckpointError,
    CheckpointMissing,
    load_evolved,
    save_evolved,
)

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


def test_manifest_says_how_the_network_was_made(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        manifest = save_evolved("net", torch.arange(5.0), LOG, experiment="test",
                                profile="quick", settings=SETTINGS, folder=tmp_path,
                                command="python -m tdca_lib.experiments.rl --task T")
    finally:
        torch.set_num_threads(threads)
    assert manifest["command"] == "python -m tdca_lib.experiments.rl --task T"
    assert manifest["threads"] == 1
    assert load(tmp_path)[2] == manifest


def test_saving_the_same_network_again_leaves_the_files_untouched(tmp_path):
    save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    save(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    save_evolved("net", torch.arange(5.0) + 1, LOG, experiment="test", profile="quick",
                 settings=SETTINGS, folder=tmp_path)
    assert (tmp_path / "net.pt").read_bytes() != before["net.pt"]


def test_missing_file_says_how_to_regenerate(tmp_path):
    with pytest.raises(CheckpointMissing, match="(?s)not found.*make it again"):
        load(tmp_path)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_corrupt_file_is_an_error_not_a_missing_network(tmp_path, where):
    save(tmp_path)
    data = bytearray((tmp_path / "net.pt").read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    (tmp_path / "net.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="(?s)corrupt.*make it again") as caught:
        load(tmp_path)
    assert not isinstance(caught.value, CheckpointMissing)


def test_truncated_file_is_corrupt(tmp_path):
    save(tmp_path)
    pt = tmp_path / "net.pt"
    pt.write_bytes(pt.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load(tmp_path)


def test_a_ship_killed_between_the_pt_and_its_manifest_still_loads_one_network(tmp_path,
                                                                              monkeypatch):
    save(tmp_path)
    old_manifest = (tmp_path / "net.json").read_text()

    def killed(path, manifest):
        raise KeyboardInterrupt  # the process dies after the .pt, before the .json

    monkeypatch.setattr(checkpoints, "_write_manifest", killed)
    longer = LOG + [dict(LOG[0], generation=2, center=0.75)]
    with pytest.raises(KeyboardInterrupt):
        save_evolved("net", torch.ones(5), longer, experiment="test", profile="quick",
                     settings=SETTINGS, folder=tmp_path)
    monkeypatch.undo()
    assert (tmp_path / "net.json").read_text() == old_manifest  # stale: it describes the old .pt
    with pytest.warns(UserWarning, match="out of date"):
        center, log, manifest = load(tmp_path)
    assert torch.equal(center, torch.ones(5)) and log == longer
    assert manifest["generations"] == 2 and manifest["final_center_fitness"] == 0.75
    assert manifest["sha256"] == checkpoints._sha256(tmp_path / "net.pt")
    save_evolved("net", torch.ones(5), longer, experiment="test", profile="quick",
                 settings=SETTINGS, folder=tmp_path)  # shipping again repairs the .json
    assert json.loads((tmp_path / "net.json").read_text())["generations"] == 2


def test_bytes_depend_on_the_contents_only(tmp_path):
    # A resumed run's log comes back from pickle, its rows sharing other objects than a fresh
    # run's; the shipped bytes must not tell the two apart.
    fresh = [{"generation": g, "center": 0.5, "best": 0.5} for g in (1, 2)]
    buffer = io.BytesIO()
    pickle.dump(fresh[:1], buffer)
    resumed = pickle.loads(buffer.getvalue()) + [{"generation": 2, "center": 0.5, "best": 0.5}]
    assert resumed == fresh
    for folder, log in ((tmp_path / "a", fresh), (tmp_path / "b", resumed)):
        save_evolved("net", torch.arange(5.0), log, experiment="test", profile="quick",
                     settings=SETTINGS, folder=folder)
    for suffix in (".pt", ".json"):
        a, b = (tmp_path / f / f"net{suffix}" for f in "ab")
        assert a.read_bytes() == b.read_bytes()


def test_a_shorter_run_does_not_ship_over_a_longer_one(tmp_path):
    longer = LOG + [dict(LOG[0], generation=2)]
    save_evolved("net", torch.ones(5), longer, experiment="test", profile="quick",
                 settings=SETTINGS, folder=tmp_path)
    before = (tmp_path / "net.pt").read_bytes()
    with pytest.raises(CheckpointError, match="evolved 2 generations and this run has 1"):
        save(tmp_path)
    assert (tmp_path / "net.pt").read_bytes() == before
    save_evolved("net", torch.arange(5.0), LOG, experiment="test", profile="quick",
                 settings=SETTINGS, folder=tmp_path, replace=True)
    assert load(tmp_path)[2]["generations"] == 1


def test_a_run_with_other_settings_does_not_ship_over_a_network_unless_asked(tmp_path):
    save(tmp_path)  # hidden 16
    before = (tmp_path / "net.pt").read_bytes()
    other = SETTINGS | {"hidden": 32}
    with pytest.raises(CheckpointError) as refused:
        checkpoints.check_replaceable("net", other, folder=tmp_path)
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path / "net.pt") in message
    assert "hidden: 16 shipped, 32 asked" in message and "--replace-shipped" in message
    with pytest.raises(CheckpointError, match="hidden: 16 shipped, 32 asked"):
        save_evolved("net", torch.ones(5), LOG, experiment="test", profile="quick",
                     settings=other, folder=tmp_path)  # the same length: only settings differ
    assert (tmp_path / "net.pt").read_bytes() == before
    checkpoints.check_replaceable("net", SETTINGS | {"generations": 9}, folder=tmp_path)
    checkpoints.check_replaceable("other-net", other, folder=tmp_path)  # nothing shipped there
    save_evolved("net", torch.ones(5), LOG, experiment="test", profile="quick", settings=other,
                 folder=tmp_path, replace=True)
    assert load(tmp_path, expect=other)[2]["settings"]["hidden"] == 32


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path):
    stale = [tmp_path / ".net.pt.abc123.tmp", tmp_path / ".net.json.def456.tmp"]
    other = tmp_path / ".other.pt.abc123.tmp"  # another network's: not ours to touch
    for path in [*stale, other]:
        path.write_bytes(b"half")
    save(tmp_path)
    assert not any(p.exists() for p in stale) and other.exists()


def test_a_format_1_checkpoint_still_loads(tmp_path):
    # Before the manifest moved into the .pt: {"center", "log"}, checked by the .json's SHA-256.
    pt = tmp_path / "old.pt"
    torch.save({"center": torch.arange(3.0), "log": LOG}, pt)
    manifest = {"name": "old", "settings": SETTINGS, "sha256": checkpoints._sha256(pt)}
    (tmp_path / "old.json").write_text(json.dumps(manifest))
    center, log, loaded = load(tmp_path, "old")
    assert torch.equal(center, torch.arange(3.0)) and loaded == manifest
    (tmp_path / "old.json").write_text(json.dumps(manifest | {"sha256": "0" * 64}))
    with pytest.raises(CheckpointError, match="corrupt"):
        load(tmp_path, "old")


def test_other_settings_are_named_in_the_error(tmp_path):
    save(tmp_path)
    with pytest.raises(CheckpointError, match="hidden: evolved with 16, asked for 32"):
        load(tmp_path, expect={"seed": 0, "hidden": 32})


def test_manifest_is_plain_json(tmp_path):
    save(tmp_path)
    assert json.loads((tmp_path / "net.json").read_text())["name"] == "net"


def test_current_commit_is_dirty_only_for_changes_under_the_paths_given(tmp_path, monkeypatch):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("needs git")
    git = lambda *args: subprocess.run(["git", "-C", str(tmp_path), *args],  # noqa: E731
                                       check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    for folder in ("code", "data"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "file.txt").write_text("a\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(checkpoints, "ROOT", tmp_path)
    head = git("rev-parse", "--short=12", "HEAD")
    assert checkpoints.current_commit() == head
    (tmp_path / "data" / "file.txt").write_text("b\n")  # a run's output changes
    assert checkpoints.current_commit() == head + "+dirty"
    assert checkpoints.current_commit(("code",)) == head
    (tmp_path / "code" / "file.txt").write_text("b\n")
    assert checkpoints.current_commit(("code",)) == head + "+dirty"
