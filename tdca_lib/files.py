"""Where the project keeps things, and atomic writes.

Every file the library writes goes through :func:`atomic_write`: a reader (or a run killed
half-way) sees either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "data" / "checkpoints"  # evolved TDCA networks, committed
RUNS = ROOT / "runs"  # resume state of evolution runs in progress, git-ignored


def figures_dir() -> Path:
    """The folder figures and tables go to: ``$TDCA_FIGURES_DIR`` if set, else ``figures/``.

    Tests point it elsewhere so a smoke run never overwrites the committed figures.
    """
    return Path(os.environ.get("TDCA_FIGURES_DIR", ROOT / "figures"))


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
    try:
        write(tmp)
        with open(tmp, "rb+") as f:  # the rename must not land before the data does
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_torch_save(obj: object, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically. Through a buffer: torch names the archive inside the file after
    the file it writes, and the temporary name would make identical content differ in bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
