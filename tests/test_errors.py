"""Expected failures of the commands are one ``error:`` line and a non-zero exit status, never a
traceback: a bad device, an odd population, a data set that is not here, a full disk."""

import errno
import os
from pathlib import Path

import pytest
import torch

from tdca_lib.experiments import gaussian, rl, scale, supervised
from tdca_lib.machinery import data
from tdca_lib.machinery.commands import command


def one_error_line(capsys) -> str:
    """The one line a command printed on stderr after any progress bar: its error."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("evolving ")]
    assert len(errors) == 1 and errors[0].startswith("error: "), err
    return errors[0]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Runs and shipped networks in scratch folders."""
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("TDCA_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture
def tiny_mnist(monkeypatch):
    """A data set of a few samples in place of MNIST: the device is chosen after loading it."""
    x = torch.zeros(8, 784)
    tiny = data.Dataset("mnist", x, torch.arange(8) % 10, x[:4], torch.arange(4), "test")
    monkeypatch.setattr(supervised, "load_datasets", lambda settings: [tiny])


@pytest.mark.parametrize("device, gpu, message", [
    ("tpu", True, "error: unknown device 'tpu'; use one of: auto, cpu, cuda"),
    ("cuda", False, "error: device 'cuda' asked for, but torch sees no GPU here; use 'cpu' or "
                    "'auto'"),
])
def test_a_device_that_is_not_here_is_one_line(scratch, tiny_mnist, monkeypatch, capsys, device,
                                               gpu, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert command(lambda: supervised.main(["--device", device])) == 1
    assert one_error_line(capsys) == message
    assert not (scratch / "runs").exists() and not (scratch / "checkpoints").exists()


@pytest.mark.parametrize("population", ["1", "3"])
def test_an_odd_population_is_one_line_and_status_2(scratch, capsys, population):
    with pytest.raises(SystemExit) as stopped:
        rl.main(["--task", "CartPole-v1", "--set", f"population={population}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].endswith(f"error: setting population={population} must be even "
                                         "and at least 2 (PGPE's members come in antithetic "
                                         "pairs)")


def test_a_data_set_that_is_not_here_is_one_line(tmp_path, monkeypatch, capsys):
    def offline(*args):
        raise OSError("offline")

    monkeypatch.setattr(data, "_torchvision", offline)
    started = command(lambda: scale.main(["--population", "2", "--evaluations", "2",
                                          "--dataset", "cifar10", "--folder", str(tmp_path)]))
    assert started == 1
    line = one_error_line(capsys)
    assert line.startswith("error: CIFAR-10 is not available here (torchvision: offline; ")
    assert line.endswith("To get it: run once with internet (torchvision downloads it into "
                         "data/).")
    assert list(tmp_path.iterdir()) == []  # no run folder begun


def test_a_full_disk_is_one_line_naming_the_file(scratch, monkeypatch, capsys):
    settings = gaussian.PROFILES.get("quick", generations=2, population=4, train_grid=2, steps=2,
                                     checkpoint_every=1)
    assert command(lambda: gaussian.evolved_tdca(settings, "quick")) == 0
    shipped = {p.name: p.read_bytes() for p in (scratch / "checkpoints").iterdir()}
    capsys.readouterr()
    write_bytes = Path.write_bytes

    def full(path, content):  # half of it fits
        write_bytes(path, content[: len(content) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    longer = gaussian.PROFILES.get("quick", generations=4, population=4, train_grid=2, steps=2,
                                   checkpoint_every=1)
    assert command(lambda: gaussian.evolved_tdca(longer, "quick")) == 1
    state = scratch / "runs" / "gaussian-quick" / "state.pt"
    assert one_error_line(capsys) == (f"error: {state} not written: the disk is full (No space "
                                      "left on device); free some space on it and run again")
    monkeypatch.undo()
    assert torch.load(state)["pgpe"]["generation"] == 2  # the last state, intact
    assert not list(state.parent.glob(".*.tmp"))  # the half-written file is gone
    assert {p.name: p.read_bytes() for p in (scratch / "checkpoints").iterdir()} == shipped
