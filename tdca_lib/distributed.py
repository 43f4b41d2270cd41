"""The population sharded over processes: torch.distributed, launched by torchrun.

A generation's batch (PGPE's members and the centre, ``[n, D]``) is split into contiguous
shares, one per process; each process evaluates its share, the fitness values are gathered,
and every process takes the same PGPE step (they all draw the same noise from the same seeded
generator), so the run is the run of one process, only faster. Without torchrun (no
``WORLD_SIZE`` above 1 in the environment) every helper here falls back to one process of rank
0 and :func:`evaluate_fitness` calls the fitness function as before.

    torchrun --nproc-per-node 2 -m tdca_lib.supervised --profile quick --dataset mnist

Only fitness values cross processes (a few floats per member and generation), so the process
group is gloo's, on the CPU, whatever device the members are evaluated on.
"""

from __future__ import annotations

import atexit
import io
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from .pgpe import PGPE


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


def init_from_env() -> bool:
    """Join the process group torchrun describes in the environment (``WORLD_SIZE``, ``RANK``,
    ``MASTER_ADDR``, ``MASTER_PORT``), once. Returns whether there is a group of two or more
    processes."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    dist.init_process_group("gloo")
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


def shares(total: int, processes: int) -> list[Share]:
    """``total`` rows in ``processes`` contiguous shares, the first ``total % processes`` one
    row longer (a share is empty when there are more processes than rows)."""
    size, extra = divmod(total, processes)
    bounds = [r * size + min(r, extra) for r in range(processes + 1)]
    return [Share(a, b, total) for a, b in zip(bounds[:-1], bounds[1:])]


def _split(result: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    values, extras = result if isinstance(result, tuple) else (result, {})
    return values.detach().float(), extras


def evaluate_fitness(fitness: Callable[..., Any], batch: torch.Tensor, generation: int
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The whole batch's fitness ``[n]`` and extra measurements ``{name: [n]}``, on every
    process, for a :data:`~tdca_lib.outer_loop.FitnessFn`. Alone, ``fitness(batch [n, D],
    generation)``; under torchrun, each process calls
    ``fitness(batch[share], generation, share=Share(...))`` on its own rows and the values are
    gathered (on the CPU). A process whose fitness raises makes every process raise
    :class:`RankFailed` naming it, before any PGPE step, so no state with its values is saved."""
    if world_size() == 1:
        return _split(fitness(batch, generation))
    share = shares(len(batch), world_size())[rank()]
    try:
        piece = None
        if len(share):
            values, extras = _split(fitness(batch[share.start:share.stop], generation,
                                            share=share))
            piece = (values.cpu(), {k: v.detach().cpu() for k, v in extras.items()})
        mine = ("ok", piece)
    except Exception as error:  # every rank must reach the gather, or the others wait forever
        mine = ("failed", (f"{type(error).__name__}: {error}", traceback.format_exc()))
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
    return values, extras


def sync_from_main(pgpe: PGPE, log: list[dict[str, float]]) -> list[dict[str, float]]:
    """Rank 0's run on every process: loads rank 0's PGPE state into ``pgpe`` and returns rank
    0's ``log``, so every rank continues the run rank 0 resumed, even where another machine
    cannot see its run folder. Alone: returns ``log`` and changes nothing."""
    if world_size() == 1:
        return log
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
