"""The outer loop: PGPE generations over a fitness function, checkpointed and resumable.

A run keeps its state in ``run_dir/state.pt`` (written atomically every ``checkpoint_every``
generations and at the end). Calling :func:`evolve` again with the same ``run_dir`` continues
from there; on the CPU the result is bit-identical to a run that was never interrupted.

Launched by torchrun, the population is sharded over the processes
(:mod:`tdca_lib.method.distributed`):
each evaluates its share of a generation, all take the same step, and rank 0 alone writes.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..machinery.checkpoints import (
    CheckpointError,
    annotate,
    check_replaceable,
    load_evolved,
    save_evolved,
)
from ..machinery.data import DatasetUnavailable, DatasetUnusable
from ..machinery.device import DeviceUnavailable, describe_device
from ..machinery.files import (
    ROOT,
    DiskFull,
    FolderLocked,
    atomic_torch_save,
    checkpoints_dir,
    locked,
    remove_stale_temporaries,
    runs_dir,
)
from ..machinery.profiles import evolved_settings
from .distributed import RankStalled, evaluate_fitness, is_main_process, sync_from_main
from .pgpe import PGPE

FitnessFn = Callable[..., "torch.Tensor | tuple[torch.Tensor, dict]"]
"""``fitness(params [P, D], generation) -> [P]``; higher is better. It may also return
``([P], {name: [P]})``: extra measurements whose centre values go into the log as
``center_<name>``. It must be a pure function of its arguments (draw any randomness from a
generator seeded by ``generation``), or a resumed run would differ from an uninterrupted one.

Under torchrun (:mod:`tdca_lib.method.distributed`) each process evaluates a share of the batch:
``fitness(params [m, D], generation, share=Share(start, stop, total))`` gets rows
``[start, stop)`` of the whole batch of ``total`` and must return exactly the values the whole
batch would give them (a fitness that depends on a row's index, as RL's episode seeds, computes
it from ``share``; one that does not ignores it). Without torchrun ``share`` is never passed.
A fitness that evaluates its rows in blocks, a row's rounding depending on its block (the
supervised one trains 32 members at a time on a CPU), says so in an attribute ``rows_at_once``:
a share is then whole blocks of the whole batch, each computed as one process computes it."""


class ResumeMismatch(RuntimeError):
    """The run folder holds the state of a run with other settings."""


class StateUnreadable(RuntimeError):
    """The run folder's state file cannot be read."""


# What stops an evolution command with one line that says how to go on, not a traceback.
RUN_ERRORS = (ResumeMismatch, StateUnreadable, FolderLocked, CheckpointError, DatasetUnavailable,
              DatasetUnusable, DeviceUnavailable, DiskFull, RankStalled)


# The one-line summaries of evolutions (resumed where, evolved how far, shipped where) go here
# at INFO: an evolution command prints them, a notebook (no handler) does not.
logger = logging.getLogger(__name__)


def command(main: Callable[[], None]) -> int:
    """Run an evolution command's ``main``: 0, or 1 with one ``error:`` line on stderr. While it
    runs, each evolution's summary (:func:`summary`) is printed on stdout."""
    handler = logging.StreamHandler(sys.stdout)  # this call's stdout
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        main()
    except RUN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
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


def _without_length(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "generations"}


def evolve(
    fitness: FitnessFn,
    pgpe: PGPE,
    generations: int,
    *,
    run_dir: str | Path | None = None,
    checkpoint_every: int = 25,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
    desc: str = "outer loop",
    unreadable_advice: str | None = None,
) -> list[dict[str, float]]:
    """Run PGPE until ``pgpe.generation == generations``; return the log, one row a generation.

    Each row holds the generation's ``best`` and ``mean`` member fitness, ``nonfinite`` (members
    whose fitness was NaN/Inf), ``sigma`` and ``center``: the fitness of the centre that sampled
    the generation, evaluated in the same batch as the members.

    ``meta`` (the experiment's settings, say) is stored with the state; resuming a run whose
    ``meta`` differs raises :class:`ResumeMismatch` rather than mixing two runs. The folder is
    locked while the run lasts: a second run of it raises
    :class:`~tdca_lib.machinery.files.FolderLocked`; a state file that cannot be read raises
    :class:`StateUnreadable`, saying what to do: ``unreadable_advice``, or by default to delete
    the run folder (a run whose files are committed says to restore them instead). A ``meta`` entry
    ``generations`` is ignored: a longer run continues a shorter one (the first generations of
    both are the same), so a finished run can be extended by asking for more.
    """
    if run_dir is None or not is_main_process():  # under torchrun rank 0 owns the folder and
        # the other ranks start from the state it hands them
        return _evolve(fitness, pgpe, generations, None, checkpoint_every, meta, progress, desc)
    with locked(run_dir):  # one run a folder: a second one stops here, naming this one
        return _evolve(fitness, pgpe, generations, Path(run_dir) / "state.pt", checkpoint_every,
                       meta, progress, desc, unreadable_advice)


def _evolve(fitness: FitnessFn, pgpe: PGPE, generations: int, state_path: Path | None,
            checkpoint_every: int, meta: dict[str, Any] | None, progress: bool,
            desc: str, unreadable_advice: str | None = None) -> list[dict[str, float]]:
    meta = dict(meta or {})
    log: list[dict[str, float]] = []
    if state_path is not None:
        remove_stale_temporaries(state_path)  # left by a run killed while writing
    if state_path is not None and state_path.exists():
        try:
            state = torch.load(state_path, map_location=pgpe.center.device)
        except Exception as err:  # truncated, overwritten: nothing in it can be trusted
            raise StateUnreadable(
                f"{state_path} is unreadable ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else 'no detail'}); "
                f"{unreadable_advice or f'delete {state_path.parent} to evolve afresh'}"
            ) from err
        if _without_length(state["meta"]) != _without_length(meta):
            raise ResumeMismatch(
                f"{state_path} holds a run with other settings:\n  saved: {state['meta']}\n"
                f"  asked: {meta}\nDelete {state_path.parent} to start afresh, or ask for the "
                "saved settings to resume it."
            )
        pgpe.load_state_dict(state["pgpe"])
        log = state["log"]
        logger.info(f"resuming {state_path} at generation {pgpe.generation} of {generations}")
        if pgpe.generation > generations:
            raise ResumeMismatch(
                f"{state_path} is at generation {pgpe.generation}, past the {generations} asked "
                "for; ask for at least as many, or delete the folder to start afresh."
            )

    def save() -> None:
        if state_path is not None:
            state = {"pgpe": pgpe.state_dict(), "log": log, "meta": meta}
            atomic_torch_save(state, state_path)

    log = sync_from_main(pgpe, log)  # under torchrun, every rank continues rank 0's run
    # mininterval: a notebook keeps every refresh of the bar in its saved output; a log file
    # (neither a terminal nor a notebook kernel's stream) gets one line a minute at most
    lines = not (sys.stderr.isatty() or type(sys.stderr).__module__.startswith("ipykernel"))
    with tqdm(total=generations, initial=pgpe.generation, desc=desc,
              disable=not progress or not is_main_process(), mininterval=60 if lines else 3,
              file=LogLines(sys.stderr) if lines else None) as bar:
        while pgpe.generation < generations:
            members = pgpe.ask()
            # The centre rides along in the same batch: one evaluation, and its fitness is logged.
            batch = torch.cat([members, pgpe.center.detach()[None]])
            # Under torchrun each rank evaluates its share of the batch; all get every value.
            values, extras = evaluate_fitness(fitness, batch, pgpe.generation)
            row = pgpe.tell(values[:-1])
            row = {"generation": pgpe.generation, "center": values[-1].item(), **row}
            row |= {f"center_{name}": v[-1].item() for name, v in extras.items()}
            log.append(row)
            bar.update(1)
            bar.set_postfix(best=f"{row['best']:.4g}", mean=f"{row['mean']:.4g}",
                            center=f"{row['center']:.4g}", refresh=False)
            if pgpe.generation % checkpoint_every == 0:
                save()
    save()
    return log


def pgpe_for(settings: Any, start: torch.Tensor, **options: Any) -> PGPE:
    """PGPE from the TDCA network ``start [D]`` with the settings' ``population``, ``sigma``,
    ``center_lr`` and ``seed``; ``options``: PGPE's other keyword arguments, or ones that replace
    these (a search variant of the scale study)."""
    return PGPE(start, **dict(population=settings.population, sigma=settings.sigma,
                              center_lr=settings.center_lr, seed=settings.seed) | options)


def load_shipped(name: str, settings: Any,
                 regenerate: str) -> tuple[torch.Tensor, list[dict[str, float]], dict[str, Any]]:
    """The TDCA network ``name`` that profile ``settings.load_evolved_from`` shipped, checked to
    have been evolved with ``settings``: (centre ``[D]``, log, manifest). Raises
    :class:`~tdca_lib.machinery.checkpoints.CheckpointMissing` (or CheckpointError) naming
    ``regenerate``."""
    if settings.load_evolved_from is None:
        raise ValueError("settings.load_evolved_from must name the profile whose network to load")
    return load_evolved(f"{name}-{settings.load_evolved_from}",
                        expect=evolved_settings(settings), regenerate=regenerate)


def evolve_or_load(
    name: str,
    settings: Any,
    *,
    profile: str,
    experiment: str,
    fitness: FitnessFn,
    start: torch.Tensor,
    regenerate: str,
    judge: Callable[[torch.Tensor], dict[str, Any]] | None = None,
) -> tuple[torch.Tensor, list[dict[str, float]], dict[str, Any]]:
    """Every experiment's evolve-and-ship path: the evolved centre ``[D]``, its log and manifest
    for the TDCA network ``name``.

    If ``settings.load_evolved_from`` names a profile, load the checkpoint that profile shipped
    (``<name>-<that profile>``), checking it was evolved with these settings. Otherwise evolve
    PGPE (:func:`pgpe_for`) from ``start [D]`` now (resumable in ``runs/<name>-<profile>/``), ship
    the result as ``<name>-<profile>`` and, with ``judge``, record in its manifest what
    ``judge(centre [D])`` measures (how well it trains fresh networks, say).
    ``settings`` is the experiment's dataclass; it needs ``generations``, ``checkpoint_every``,
    ``load_evolved_from`` and ``replace_shipped`` fields besides PGPE's; without
    ``replace_shipped``, a network shipped as ``<name>-<profile>`` with other evolved settings
    stops it before it starts (:class:`~tdca_lib.machinery.checkpoints.CheckpointError`). Fields
    marked
    :func:`~tdca_lib.machinery.profiles.not_evolved` may differ between the run that evolved a
    network
    and one that loads it. ``regenerate``: the command that makes it, quoted in every error.
    """
    if settings.load_evolved_from:
        return load_shipped(name, settings, regenerate)
    evolved_with = evolved_settings(settings)
    run_dir = runs_dir() / f"{name}-{profile}"
    shipped = f"{name}-{profile}"
    if not settings.replace_shipped:  # a network it may not ship over: say so now, not after
        check_replaceable(shipped, evolved_with)
    # Held until shipped, so the shipped network is this run's; under torchrun rank 0 alone
    # owns the folder and ships.
    with locked(run_dir) if is_main_process() else contextlib.nullcontext():
        pgpe = pgpe_for(settings, start)
        started = time.perf_counter()
        log = evolve(
            fitness,
            pgpe,
            settings.generations,
            run_dir=run_dir,
            checkpoint_every=settings.checkpoint_every,
            meta=evolved_with,
            desc=f"evolving {name} ({profile})",
        )
        center = pgpe.center.detach()
        if not is_main_process():
            return center.cpu(), log, {}
        manifest = save_evolved(
            shipped, center.cpu(), log, experiment=experiment, profile=profile,
            settings=evolved_with, device=describe_device(pgpe.center.device),
            replace=settings.replace_shipped, command=regenerate,
        )
        logger.info(summary(shipped, log, time.perf_counter() - started,
                            checkpoints_dir() / f"{shipped}.pt"))
    if judge is not None:
        evaluation = judge(center)
        manifest = annotate(shipped, evaluation=evaluation)
        logger.info(f"{shipped} judged: {evaluation}")
    return center.cpu(), log, manifest
