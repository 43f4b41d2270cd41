"""The outer loop: PGPE generations over a fitness function, checkpointed and resumable.

A run keeps its state in ``run_dir/state.pt`` (written atomically every ``checkpoint_every``
generations and at the end). Calling :func:`evolve` again with the same ``run_dir`` continues
from there; on the CPU the result is bit-identical to a run that was never interrupted.

Launched by torchrun, the population is sharded over the processes
(:mod:`tdca_lib.method.distributed`):
each evaluates its share of a generation, all take the same step, and rank 0 alone writes.

Every experiment evolves the same way: it describes itself as an :class:`Experiment` (its
settings, a :class:`RunSettings`; its fitness and start; how to measure what it evolved) and
:func:`evolve_or_load` evolves and ships it, or loads what a profile shipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..machinery.checkpoints import (
    ResumeMismatch,
    StateUnreadable,
    annotate,
    check_replaceable,
    load_evolved,
    save_evolved,
)
from ..machinery.commands import LogLines, summary
from ..machinery.device import describe_device
from ..machinery.files import (
    atomic_torch_save,
    checkpoints_dir,
    locked,
    remove_stale_temporaries,
    runs_dir,
)
from ..machinery.profiles import check_settings, evolved_settings, not_evolved
from .distributed import evaluate_fitness, is_main_process, sync_from_main
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

# The one-line summaries of evolutions (resumed where, evolved how far, shipped where) go here
# at INFO: an evolution command prints them (machinery.commands), a notebook does not.
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """The settings every evolution has: PGPE's, the run's length, and how it is carried out.
    Each experiment's settings class adds its own fields and gives these its own numbers where
    they differ."""

    seed: int = 0  # PGPE's sampler, the TDCA network's initial centre, the experiment's draws
    population: int = 32  # PGPE members a generation, in antithetic pairs (our choice)
    sigma: float = 0.1  # PGPE exploration std (paper, for RL)
    center_lr: float = 0.1  # Adam on PGPE's centre (paper, for RL)
    generations: int = 600
    checkpoint_every: int = not_evolved(10)  # generations between resume checkpoints
    load_evolved_from: str | None = not_evolved(None)  # a profile whose shipped network to load
    replace_shipped: bool = not_evolved(False)  # ship over one evolved longer or otherwise

    def __post_init__(self):  # refuse a bad setting now, not an hour into a run
        check_settings(self)

    @classmethod
    def with_defaults(cls, **defaults: Any) -> type:
        """These run fields with an experiment's own default values, as the base of its
        settings class: each field stays declared here alone (its type, meaning and
        ``not_evolved`` mark), the experiment gives only its numbers."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(defaults) - set(fields))
        if unknown:
            raise TypeError(f"not run fields: {', '.join(unknown)}; valid: {', '.join(fields)}")
        return dataclasses.make_dataclass(
            cls.__name__, [(name, fields[name].type,
                            dataclasses.field(default=value, metadata=fields[name].metadata))
                           for name, value in defaults.items()],
            bases=(cls,), frozen=True, namespace={"__module__": cls.__module__})


@dataclass(frozen=True)
class Experiment:
    """What evolving one TDCA network takes: its ``name`` (shipped as ``<name>-<profile>``),
    ``settings`` and ``profile``, the ``notebook`` it belongs to (``"02_supervised"``), its
    ``fitness``, the search's ``start [D]``, the command that makes it (``regenerate``, quoted in
    every error) and, optionally, ``measure(centre [D]) -> dict``: what the evolved network
    does (how well it trains fresh networks, say), recorded in its manifest."""

    name: str
    settings: RunSettings
    profile: str
    notebook: str
    fitness: FitnessFn
    start: torch.Tensor
    regenerate: str
    measure: Callable[[torch.Tensor], dict[str, Any]] | None = None


def generation(pgpe: PGPE, fitness: FitnessFn) -> dict[str, float]:
    """One generation: ask PGPE for its members, evaluate them with the centre riding along in
    the same batch, tell PGPE their fitness. Returns the log row: :meth:`PGPE.tell`'s, with
    the ``generation`` reached and the centre's fitness (``center``, ``center_<name>``)."""
    batch = torch.cat([pgpe.ask(), pgpe.center.detach()[None]])
    # Under torchrun each rank evaluates its share of the batch; all get every value.
    values, extras = evaluate_fitness(fitness, batch, pgpe.generation)
    row = pgpe.tell(values[:-1])
    row = {"generation": pgpe.generation, "center": values[-1].item(), **row}
    return row | {f"center_{name}": v[-1].item() for name, v in extras.items()}


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
    meta = dict(meta or {})
    # Under torchrun rank 0 owns the folder; the other ranks start from the state it hands them.
    state_path = Path(run_dir) / "state.pt" if run_dir is not None and is_main_process() else None
    # one run a folder: a second one stops here, naming this one
    with locked(state_path.parent) if state_path else contextlib.nullcontext():
        log = resume(pgpe, state_path, generations, meta, unreadable_advice) if state_path else []
        log = sync_from_main(pgpe, log)  # under torchrun, every rank continues rank 0's run
        with progress_bar(pgpe.generation, generations, desc, progress) as bar:
            while pgpe.generation < generations:
                row = generation(pgpe, fitness)
                log.append(row)
                bar.update(1)
                bar.set_postfix(best=f"{row['best']:.4g}", mean=f"{row['mean']:.4g}",
                                center=f"{row['center']:.4g}", refresh=False)
                if state_path and pgpe.generation % checkpoint_every == 0:
                    save_state(state_path, pgpe, log, meta)
        if state_path:
            save_state(state_path, pgpe, log, meta)
    return log


def progress_bar(initial: int, generations: int, desc: str, progress: bool) -> tqdm:
    """The run's progress bar, shown on rank 0 alone. A notebook keeps every refresh of the bar
    in its saved output, so it refreshes every 3 s at most; a log file (neither a terminal nor a
    notebook kernel's stream) gets a line a minute at most."""
    lines = not (sys.stderr.isatty() or type(sys.stderr).__module__.startswith("ipykernel"))
    return tqdm(total=generations, initial=initial, desc=desc,
                disable=not progress or not is_main_process(), mininterval=60 if lines else 3,
                file=LogLines(sys.stderr) if lines else None)


def _without_length(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "generations"}


def resume(pgpe: PGPE, state_path: Path, generations: int, meta: dict[str, Any],
           unreadable_advice: str | None = None) -> list[dict[str, float]]:
    """Load the run saved at ``state_path`` into ``pgpe`` and return its log (empty, with
    ``pgpe`` as it is, when nothing is saved there). Raises :class:`StateUnreadable` for a
    state file that cannot be read, :class:`ResumeMismatch` for one of a run with another
    ``meta`` or past ``generations``."""
    remove_stale_temporaries(state_path)  # left by a run killed while writing
    if not state_path.exists():
        return []
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
    logger.info(f"resuming {state_path} at generation {pgpe.generation} of {generations}")
    if pgpe.generation > generations:
        raise ResumeMismatch(
            f"{state_path} is at generation {pgpe.generation}, past the {generations} asked "
            "for; ask for at least as many, or delete the folder to start afresh."
        )
    return state["log"]


def save_state(state_path: Path, pgpe: PGPE, log: list[dict[str, float]],
               meta: dict[str, Any]) -> None:
    """Write the run's state (PGPE's, the log, ``meta``) to ``state_path``, atomically."""
    atomic_torch_save({"pgpe": pgpe.state_dict(), "log": log, "meta": meta}, state_path)


def pgpe_for(settings: RunSettings, start: torch.Tensor, **options: Any) -> PGPE:
    """PGPE from the TDCA network ``start [D]`` with the settings' ``population``, ``sigma``,
    ``center_lr`` and ``seed``; ``options``: PGPE's other keyword arguments, or ones that replace
    these (a search variant of the scale study)."""
    return PGPE(start, **dict(population=settings.population, sigma=settings.sigma,
                              center_lr=settings.center_lr, seed=settings.seed) | options)


def load_shipped(name: str, settings: RunSettings,
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
        experiment: Experiment) -> tuple[torch.Tensor, list[dict[str, float]], dict[str, Any]]:
    """Every experiment's evolve-and-ship path: the evolved centre ``[D]``, its log and manifest
    for the TDCA network ``experiment.name``.

    If ``settings.load_evolved_from`` names a profile, load the checkpoint that profile shipped
    (``<name>-<that profile>``), checking it was evolved with these settings. Otherwise evolve
    PGPE (:func:`pgpe_for`) from the experiment's start now (resumable in
    ``runs/<name>-<profile>/``), ship the result as ``<name>-<profile>`` and, with
    ``experiment.measure``, record in its manifest what it measures. Without
    ``settings.replace_shipped``, a network shipped as ``<name>-<profile>`` with other evolved
    settings stops it before it starts (:class:`~tdca_lib.machinery.checkpoints.CheckpointError`).
    Fields marked :func:`~tdca_lib.machinery.profiles.not_evolved` may differ between the run
    that evolved a network and one that loads it.
    """
    settings = experiment.settings
    if settings.load_evolved_from:
        return load_shipped(experiment.name, settings, experiment.regenerate)
    evolved_with = evolved_settings(settings)
    shipped = f"{experiment.name}-{experiment.profile}"
    run_dir = runs_dir() / shipped
    if not settings.replace_shipped:  # a network it may not ship over: say so now, not after
        check_replaceable(shipped, evolved_with)
    # Held until shipped, so the shipped network is this run's; under torchrun rank 0 alone
    # owns the folder and ships.
    with locked(run_dir) if is_main_process() else contextlib.nullcontext():
        pgpe = pgpe_for(settings, experiment.start)
        started = time.perf_counter()
        log = evolve(experiment.fitness, pgpe, settings.generations, run_dir=run_dir,
                     checkpoint_every=settings.checkpoint_every, meta=evolved_with,
                     desc=f"evolving {experiment.name} ({experiment.profile})")
        center = pgpe.center.detach()
        if not is_main_process():
            return center.cpu(), log, {}
        manifest = save_evolved(
            shipped, center.cpu(), log, experiment=experiment.notebook,
            profile=experiment.profile, settings=evolved_with,
            device=describe_device(pgpe.center.device), replace=settings.replace_shipped,
            command=experiment.regenerate,
        )
        logger.info(summary(shipped, log, time.perf_counter() - started,
                            checkpoints_dir() / f"{shipped}.pt"))
    if experiment.measure is not None:
        measured = experiment.measure(center)
        manifest = annotate(shipped, evaluation=measured)
        logger.info(f"{shipped} measured: {measured}")
    return center.cpu(), log, manifest
