"""The population sharded over processes: torch.distributed, launched by torchrun.

A generation's batch (PGPE's members and the centre, ``[n, D]``) is split into contiguous
shares, one per process; each process evaluates its share, the fitness values are gathered,
and every process takes the same PGPE step (they all draw the same noise from the same seeded
generator), so the run is the run of one process, only faster. A fitness that evaluates its
rows in blocks (supervised's: 32 members at a time on a CPU) gets shares of whole blocks, so
each block is computed as one process computes it, to the bit. Without torchrun (no
``WORLD_SIZE`` above 1 in the environment) every helper here falls back to one process of rank
0 and :func:`evaluate_fitness` calls the fitness function as before.

    torchrun --nproc-per-node 2 -m tdca_lib.experiments.supervised --profile quick --dataset mnist

Only fitness values cross processes (a few floats per member and generation), so the process
group is gloo's, on the CPU, whatever device the members are evaluated on. A process that
stops answering (stopped, hung) stops the run within :func:`rank_timeout`, naming its rank.
"""

from __future__ import annotations

import atexit
import io
import itertools
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from .pgpe import PGPE

# How long a process waits for the others at a generation's end before it names those that did
# not come (a process killed ends the run at once; one stopped or hung would otherwise hold the
# others for gloo's 30 minutes). A healthy process is late by at most the time its share takes,
# under a generation's: so WAIT_GENERATIONS times the longest generation so far, at least
# MIN_WAIT_S (a checkpoint write, a slow generation); before the first, START_WAIT_S (loading
# data, compiling, warming caches). TIMEOUT_VARIABLE (seconds) sets it instead.
WAIT_GENERATIONS = 10
MIN_WAIT_S = 60.0
START_WAIT_S = 600.0
TIMEOUT_VARIABLE = "TDCA_RANK_TIMEOUT"

_longest_generation = 0.0  # seconds: the longest evaluate_fitness of this process so far
_meetings = itertools.count()  # every process meets the others at the same calls, in order
_store: dist.Store | None = None  # the process group's key-value store: who has arrived


@dataclass(frozen=True)
class Share:
    """The rows ``[start, stop)`` of a generation's whole batch of ``total`` rows that one
    process evaluates. A fitness function whose values depend on a row's place in the batch
    (RL's episode seeds) computes them as the whole batch would."""

    start: int
    stop: int
    total: int

    @classmethod
    def whole(cls, total: int) -> Share:
        return cls(0, total, total)

    def __len__(self) -> int:
        return self.stop - self.start


class RankFailed(RuntimeError):
    """A process's fitness raised; every process stops with this error, naming the rank."""


class RankStalled(RuntimeError):
    """A process did not reach a generation's end within :func:`rank_timeout`; the others stop
    with this error, naming it."""


def init_from_env() -> bool:
    """Join the process group torchrun describes in the environment (``WORLD_SIZE``, ``RANK``,
    ``MASTER_ADDR``, ``MASTER_PORT``), once. Returns whether there is a group of two or more
    processes."""
    global _store
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    # torchrun's rendezvous, as init_process_group("gloo") makes it, keeping its store
    store, process, processes = next(dist.rendezvous("env://"))
    dist.init_process_group("gloo", store=store, rank=process, world_size=processes)
    # a restarted group (torchrun --max-restarts) may meet in the same store: its own keys
    _store = dist.PrefixStore(f"tdca-{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}",
                              store)
    atexit.register(dist.destroy_process_group)  # a clean exit, without torch's warning
    return True


def world_size() -> int:
    """Processes sharing the population: 1 without torchrun."""
    return dist.get_world_size() if init_from_env() else 1


def rank() -> int:
    """This process's rank: 0 without torchrun."""
    return dist.get_rank() if init_from_env() else 0


def is_main_process() -> bool:
    """Rank 0: the process that writes the run state, the log and the shipped network."""
    return rank() == 0


def local_rank() -> int:
    """This process's rank on its machine (torchrun's ``LOCAL_RANK``): picks its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def shares(total: int, processes: int, block: int = 1) -> list[Share]:
    """``total`` rows in ``processes`` contiguous shares, cut only between whole blocks of
    ``block`` rows (the last block may be shorter), each as near ``total / processes`` rows as
    that allows; a share is empty when there are more processes than blocks."""
    # each cut at the block boundary nearest its even split (halves rounded up)
    cuts = [min(total, block * ((2 * r * total + processes * block) // (2 * processes * block)))
            for r in range(processes)]
    return [Share(a, b, total) for a, b in zip(cuts, cuts[1:] + [total])]


def rank_timeout() -> float:
    """Seconds a process waits for the others at a generation's end (see
    :data:`WAIT_GENERATIONS`), or ``TDCA_RANK_TIMEOUT`` where it is set."""
    if (setting := os.environ.get(TIMEOUT_VARIABLE)) is not None:
        try:
            seconds = float(setting)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{TIMEOUT_VARIABLE} must be a number of seconds above 0, got "
                             f"{setting!r}")
        return seconds
    if not _longest_generation:
        return START_WAIT_S
    return max(MIN_WAIT_S, WAIT_GENERATIONS * _longest_generation)


def wait_for_every_rank(where: str) -> None:
    """Return when every process has come here (this call and the others' calls of the same
    count); raise :class:`RankStalled` naming those that have not within
    :func:`rank_timeout`. ``where`` (the generation, say) goes into the message."""
    if world_size() == 1 or _store is None:  # alone, or in a group made elsewhere (gloo's
        return  # own timeout applies)
    timeout = rank_timeout()
    keys = [f"{next(_meetings)}/{r}" for r in range(world_size())]
    _store.set(keys[rank()], "here")
    # polled, not the store's wait: a wait that times out logs torch's socket warnings
    deadline, pause = time.monotonic() + timeout, 0.001
    while not _store.check(keys):
        if time.monotonic() > deadline:
            missing = [r for r, key in enumerate(keys) if not _store.check([key])]
            if missing:  # (none if the last came just now)
                raise RankStalled(
                    f"rank{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} did not "
                    f"answer within {timeout:g} s, at {where} (stopped or hung?); every rank "
                    f"stops, the run folder keeps its last checkpoint; {TIMEOUT_VARIABLE} "
                    "(seconds) sets the wait")
        time.sleep(pause)
        pause = min(2 * pause, 0.05)  # at most 50 ms late, while ranks arrive


def _split(result: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    values, extras = result if isinstance(result, tuple) else (result, {})
    return values.detach().float(), extras


def evaluate_fitness(fitness: Callable[..., Any], batch: torch.Tensor,
                     generation: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The whole batch's fitness ``[n]`` and extra measurements ``{name: [n]}``, on every
    process, for a :data:`~tdca_lib.method.outer_loop.FitnessFn`. Alone, ``fitness(batch [n, D],
    generation)``; under torchrun, each process calls
    ``fitness(batch[share], generation, share=Share(...))`` on its own rows (whole blocks of
    ``fitness.rows_at_once`` rows, where it says it evaluates rows so) and the values are
    gathered (on the CPU). A process whose fitness raises makes every process raise
    :class:`RankFailed` naming it, one that does not come makes the others raise
    :class:`RankStalled`, before any PGPE step, so no state with its values is saved."""
    global _longest_generation
    if world_size() == 1:
        return _split(fitness(batch, generation))
    began = time.monotonic()
    block = getattr(fitness, "rows_at_once", None) or 1
    share = shares(len(batch), world_size(), block)[rank()]
    try:
        piece = None
        if len(share):
            values, extras = _split(fitness(batch[share.start:share.stop], generation,
                                            share=share))
            piece = (values.cpu(), {k: v.detach().cpu() for k, v in extras.items()})
        mine = ("ok", piece)
    except Exception as error:  # every rank must reach the gather, or the others wait forever
        mine = ("failed", (f"{type(error).__name__}: {error}", traceback.format_exc()))
    wait_for_every_rank(f"generation {generation}")
    pieces: list[Any] = [None] * world_size()
    dist.all_gather_object(pieces, mine)
    failed = [(r, p[1]) for r, p in enumerate(pieces) if p[0] == "failed"]
    if failed:
        summary = "; ".join(f"rank {r} failed in generation {generation}: {error}"
                            for r, (error, _) in failed)
        tracebacks = "".join(f"\nrank {r}'s {trace}" for r, (_, trace) in failed)
        raise RankFailed(f"{summary}. Every rank stops; the run folder keeps its last "
                         f"checkpoint.{tracebacks}")
    shared = [p[1] for p in pieces if p[1] is not None]
    values = torch.cat([v for v, _ in shared]).to(batch.device)
    extras = {k: torch.cat([e[k] for _, e in shared]).to(batch.device) for k in shared[0][1]}
    _longest_generation = max(_longest_generation, time.monotonic() - began)
    return values, extras


def sync_from_main(pgpe: PGPE, log: list[dict[str, float]]) -> list[dict[str, float]]:
    """Rank 0's run on every process: loads rank 0's PGPE state into ``pgpe`` and returns rank
    0's ``log``, so every rank continues the run rank 0 resumed, even where another machine
    cannot see its run folder. Alone: returns ``log`` and changes nothing."""
    if world_size() == 1:
        return log
    wait_for_every_rank("the start of the run")
    buffer = io.BytesIO()
    if is_main_process():
        torch.save((pgpe.state_dict(), log), buffer)
    payload = [buffer.getvalue()]
    dist.broadcast_object_list(payload, src=0)
    if is_main_process():
        return log
    state, log = torch.load(io.BytesIO(payload[0]), map_location=pgpe.center.device,
                            weights_only=False)
    pgpe.load_state_dict(state)
    return log
