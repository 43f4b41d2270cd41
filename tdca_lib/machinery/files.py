"""Where the project keeps things, and atomic writes.

Every file the library writes goes through :func:`atomic_write`: a reader (or a run killed
half-way) sees either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def figures_dir() -> Path:
    """The folder figures and tables go to: ``$TDCA_FIGURES_DIR`` if set, else ``figures/``.

    Tests point it elsewhere so a smoke run never overwrites the committed figures.
    """
    return Path(os.environ.get("TDCA_FIGURES_DIR", ROOT / "figures"))


def runs_dir() -> Path:
    """The folder of evolution runs in progress (their resume state, git-ignored):
    ``$TDCA_RUNS_DIR`` if set, else ``runs/``."""
    return Path(os.environ.get("TDCA_RUNS_DIR", ROOT / "runs"))


def checkpoints_dir() -> Path:
    """The folder of the evolved TDCA networks: ``$TDCA_CHECKPOINTS_DIR`` if set, else the
    committed ``data/checkpoints/``. Tests point it elsewhere to ship into a scratch folder."""
    return Path(os.environ.get("TDCA_CHECKPOINTS_DIR", ROOT / "data" / "checkpoints"))


def data_dir() -> Path:
    """The folder the data sets and their caches go to: ``$TDCA_DATA_DIR`` if set, else
    ``data/`` (set it when ``data/`` is not writable)."""
    return Path(os.environ.get("TDCA_DATA_DIR", ROOT / "data"))


class FolderLocked(RuntimeError):
    """Another process holds the lock of a run folder."""


class DiskFull(RuntimeError):
    """A file could not be written for want of space (or of quota) on its disk."""


_held: dict[Path, tuple[int, int]] = {}  # the locks this process holds: file -> (fd, depth)


@contextlib.contextmanager
def locked(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder/lock`` while the block runs, so two runs of one name never share a folder.

    Re-entrant within a process. The operating system drops the lock when its holder exits,
    killed or not, so a lock never outlives its run. A second process gets
    :class:`FolderLocked`, naming the process that holds it.
    """
    path = (Path(folder) / "lock").resolve()
    if path in _held:
        fd, depth = _held[path]
        _held[path] = fd, depth + 1
        try:
            yield
        finally:
            _held[path] = fd, depth
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise FolderLocked(f"{path.parent} is in use by {holder}; wait for it to finish or "
                           "stop it, then run again") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()} ({' '.join(sys.argv)[:200]})\n".encode(), 0)
    _held[path] = fd, 1
    try:
        yield
    finally:
        del _held[path]
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder`` exclusively while the block runs, waiting for any other process that
    holds it: for a read-modify-write of a file in it that several processes share (the
    figures' manifest, when notebooks run side by side). The lock is on the folder itself, so
    it leaves no file behind."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete what killed :func:`atomic_write` calls for ``path`` left beside it; returns them.
    Call it only while no other process can be writing ``path`` (holding its run's lock)."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``.
    A full disk raises :class:`DiskFull` naming ``path``, which is left as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        _raise_if_full(err, path)
        raise
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
    except OSError as err:
        _raise_if_full(err, path)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _raise_if_full(err: OSError, path: Path) -> None:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFull(f"{path} not written: the disk is full ({err.strerror}); free some "
                       "space on it and run again") from err


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_torch_save(obj: object, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically. Through a buffer: torch names the archive inside the file after
    the file it writes, and the temporary name would make identical content differ in bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
