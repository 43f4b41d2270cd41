"""What an evolution command prints: one summary line an evolution, progress bars that suit a
log file, and one ``error:`` line, not a traceback, for a failure the user can act on."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from ..method.distributed import RankStalled
from .checkpoints import CheckpointError, ResumeMismatch, StateUnreadable
from .data import DatasetUnavailable, DatasetUnusable
from .device import DeviceUnavailable
from .files import ROOT, DiskFull, FolderLocked

# What stops an evolution command with one line that says how to go on, not a traceback.
RUN_ERRORS = (ResumeMismatch, StateUnreadable, FolderLocked, CheckpointError, DatasetUnavailable,
              DatasetUnusable, DeviceUnavailable, DiskFull, RankStalled)

# The library logs its one-line summaries (resumed where, evolved how far, shipped where) under
# this logger at INFO: a command prints them, a notebook (no handler) does not.
LIBRARY_LOGGER = logging.getLogger("tdca_lib")


def command(main: Callable[[], None]) -> int:
    """Run an evolution command's ``main``: 0, or 1 with one ``error:`` line on stderr. While it
    runs, the library's summaries (:func:`summary`) are printed on stdout."""
    handler = logging.StreamHandler(sys.stdout)  # this call's stdout
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = LIBRARY_LOGGER.level
    LIBRARY_LOGGER.addHandler(handler)
    LIBRARY_LOGGER.setLevel(logging.INFO)
    try:
        main()
    except RUN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        LIBRARY_LOGGER.removeHandler(handler)
        LIBRARY_LOGGER.setLevel(level)
    return 0


def duration(seconds: float) -> str:
    """``"42.0 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def summary(name: str, log: list[dict[str, float]], elapsed: float, shipped: Path) -> str:
    """One line on a finished evolution: its generations, the last generation's best member and
    centre fitness, the best centre of the run, the time this call took, where it shipped."""
    last = log[-1]
    top = max(log, key=lambda row: row["center"])
    where = shipped.relative_to(ROOT) if shipped.is_relative_to(ROOT) else shipped
    return (f"evolved {name}: {len(log)} generations in {duration(elapsed)}; last generation: "
            f"best member {last['best']:.4g}, centre {last['center']:.4g} (best centre "
            f"{top['center']:.4g} at generation {top['generation']}); shipped {where}")


class LogLines:
    """A progress bar's stream for a log file (stderr redirected, not a notebook): each refresh
    on a line of its own instead of carriage returns that overwrite it."""

    def __init__(self, stream):
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None)

    def write(self, text: str) -> None:
        text = text.replace("\r", "").rstrip("\n")
        if text.strip():
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()
