"""Section 1 of the paper: BP vs a TDCA network on a non-convex 2-D Gaussian landscape (Fig 2).

The bottom-up "network" here is just a point p = (x, y). BP moves it by gradient descent on the
landscape (autograd); the TDCA network maps [x, y] (plus a one-hot task id in the multi-task
case) to an update [dx, dy], with no gradient and no loss. Both use the same start, number of
steps and step size. PGPE evolves the TDCA network so that, from a grid of starts, the points
end as low as possible (fitness = minus the mean landscape value after the inner loop).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from ..machinery.profiles import Profiles
from ..method.distributed import Share
from ..method.outer_loop import Experiment, RunSettings, evolve_or_load
from ..method.population import PopulationMLP


@dataclass(frozen=True)
class Landscape:
    """f(p) = -sum_k A_k exp(-|p - m_k|^2 / (2 s_k^2)), to be minimised.

    Component 0 is the dominant Gaussian (global minimum), component 1 the smaller one that
    makes a local minimum.
    """

    amplitudes: tuple[float, ...]
    means: tuple[tuple[float, float], ...]
    widths: tuple[float, ...]

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """``[..., 2]`` -> ``[...]``."""
        value = torch.zeros(points.shape[:-1], dtype=points.dtype, device=points.device)
        for a, m, s in zip(self.amplitudes, self.means, self.widths):
            d2 = ((points - torch.tensor(m, dtype=points.dtype, device=points.device)) ** 2).sum(-1)
            value = value - a * torch.exp(-d2 / (2 * s * s))
        return value

    def gradient(self, points: torch.Tensor) -> torch.Tensor:
        """Autograd's gradient of f at ``[..., 2]`` points: what backprop would give."""
        with torch.enable_grad():
            p = points.detach().requires_grad_(True)
            return torch.autograd.grad(self(p).sum(), p)[0]

    def minima(self) -> torch.Tensor:
        """``[K, 2]``: the minimum each component's basin holds (long small-step descent)."""
        return _minima(self).clone()

    @property
    def global_minimum(self) -> torch.Tensor:
        return self.minima()[0]

    @property
    def local_minimum(self) -> torch.Tensor:
        return self.minima()[1]


# Our choice (the paper gives no numbers): a dominant wide Gaussian at the origin and a smaller,
# narrow one up-right whose basin traps gradient descent. The second task mirrors the idea
# elsewhere in the plane. Minima: task 1 global f=-1.00 at (0, 0), local f=-0.85 near (2.5, 2.1).
LANDSCAPE = Landscape(amplitudes=(1.0, 0.6), means=((0.0, 0.0), (2.6, 2.2)), widths=(2.0, 0.6))
SECOND_LANDSCAPE = Landscape(
    amplitudes=(1.0, 0.6), means=((-1.0, 1.0), (-3.0, -1.8)), widths=(1.8, 0.6)
)
PAPER_LIKE_START = (4.0, 3.6)  # beyond the small Gaussian, as in the paper's Fig 2b-d


@dataclass(frozen=True)
class GaussianSettings(RunSettings.with_defaults(population=64, center_lr=0.03, generations=400,
                                                 checkpoint_every=50)):
    """Every knob of the Gaussian experiment; the run's (PGPE's, the seed's, how long) are
    :class:`~tdca_lib.method.outer_loop.RunSettings`'. Defaults are the ``quick`` profile; all
    our choice."""

    steps: int = 50  # inner-loop steps, the same for BP and TDCA
    lr: float = 0.5  # inner-loop step size, the same for BP and TDCA
    hidden: int = 16  # TDCA network: in -> hidden -> hidden -> 2, tanh
    extent: float = 5.0  # the plane shown and sampled: [-extent, extent]^2
    train_grid: int = 9  # fitness is averaged over a train_grid x train_grid grid of starts


PROFILES = Profiles(
    GaussianSettings,
    # smoke loads the network quick evolved, so its numbers are quick's (what nbval compares)
    smoke=dict(load_evolved_from="quick"),
    quick=dict(),
    paper=dict(population=256, generations=2000, train_grid=15),
)
REGENERATE = "python -m tdca_lib.machinery.reproduce --profile quick --only 01"


@functools.cache  # seconds of descent per landscape, and the probes ask often
def _minima(landscape: Landscape) -> torch.Tensor:
    return bp_trajectory(landscape, torch.tensor(landscape.means), steps=4000, lr=0.05)[-1]


def grid(extent: float, n: int) -> torch.Tensor:
    """``[n*n, 2]`` points of a regular grid over [-extent, extent]^2, x fastest."""
    axis = torch.linspace(-extent, extent, n)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], -1)


def bp_trajectory(
    landscape: Landscape, starts: torch.Tensor, steps: int, lr: float
) -> torch.Tensor:
    """Gradient descent from ``starts [N, 2]``: returns ``[steps + 1, N, 2]``."""
    points = [starts]
    for _ in range(steps):
        points.append(points[-1] - lr * landscape.gradient(points[-1]))
    return torch.stack(points)


class GaussianTDCA:
    """The TDCA network of the Gaussian experiments: [x, y, task one-hot] -> [dx, dy]."""

    def __init__(self, hidden: int, tasks: int = 1):
        self.tasks = tasks
        self.net = PopulationMLP([2 + (tasks if tasks > 1 else 0), hidden, hidden, 2])

    def updates(self, params: torch.Tensor, points: torch.Tensor, task: torch.Tensor | None = None):
        """``params [P, D]``, ``points [P, N, 2]``, ``task [N]`` ids -> updates ``[P, N, 2]``."""
        inputs = points
        if self.tasks > 1:
            one_hot = torch.nn.functional.one_hot(task, self.tasks).to(points)
            inputs = torch.cat([points, one_hot.expand(len(points), -1, -1)], -1)
        return self.net(params, inputs)

    def trajectory(
        self,
        params: torch.Tensor,
        starts: torch.Tensor,
        steps: int,
        lr: float,
        task: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The inner loop p <- p + lr * T(p) from ``starts [N, 2]``: ``[steps + 1, P, N, 2]``."""
        points = [starts.to(params).expand(len(params), -1, -1)]
        for _ in range(steps):
            points.append(points[-1] + lr * self.updates(params, points[-1], task))
        return torch.stack(points)


def task_values(landscapes: tuple[Landscape, ...], points: torch.Tensor, task: torch.Tensor):
    """Each point's value on its own task's landscape: ``points [..., N, 2]``, ``task [N]``."""
    values = torch.stack([landscape(points) for landscape in landscapes], -1)
    return values.gather(-1, task.expand(values.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def fitness_function(
    tdca: GaussianTDCA, landscapes: tuple[Landscape, ...], settings: GaussianSettings
):
    """Fitness of each member: minus the mean landscape value after the inner loop, over a grid
    of starts (for every task). Deterministic, so resumed runs match uninterrupted ones; each
member's independent of the others (a process's ``share`` of the batch changes nothing)."""
    starts = grid(settings.extent, settings.train_grid)
    task = torch.arange(len(landscapes)).repeat_interleave(len(starts))
    starts = starts.repeat(len(landscapes), 1)

    def fitness(params: torch.Tensor, generation: int, share: Share | None = None) -> torch.Tensor:
        ids = task.to(params.device)
        final = tdca.trajectory(params, starts, settings.steps, settings.lr, ids)[-1]
        return -task_values(landscapes, final, ids).mean(-1)

    return fitness


def evolved_tdca(
    settings: GaussianSettings,
    profile: str,
    landscapes: tuple[Landscape, ...] = (LANDSCAPE,),
    device: torch.device | str = "cpu",
) -> tuple[GaussianTDCA, torch.Tensor, list[dict[str, float]], dict]:
    """Evolve (or load) the TDCA network for one or several landscapes.

    Returns the network, its evolved parameters ``[1, D]`` on ``device``, the evolution log and
    the checkpoint's manifest.
    """
    center, log, manifest = evolve_or_load(experiment(settings, profile, landscapes, device))
    tdca = GaussianTDCA(settings.hidden, tasks=len(landscapes))
    return tdca, center.to(device)[None], log, manifest


def experiment(settings: GaussianSettings, profile: str, landscapes: tuple[Landscape, ...],
               device: torch.device | str = "cpu") -> Experiment:
    """The evolution of the TDCA network for ``landscapes`` under ``profile``, for
    :func:`~tdca_lib.method.outer_loop.evolve_or_load`."""
    tdca = GaussianTDCA(settings.hidden, tasks=len(landscapes))
    return Experiment(
        "gaussian" if len(landscapes) == 1 else f"gaussian-{len(landscapes)}tasks",
        settings, profile, notebook="01_gaussian",
        fitness=fitness_function(tdca, landscapes, settings),
        start=tdca.net.init(torch.Generator().manual_seed(settings.seed)).to(device),
        regenerate=REGENERATE)


# --- Reading the results ---------------------------------------------------------------------

REACH_TOLERANCE = 0.5  # a run "reaches" a minimum when it ends this close to it (our choice)
FAR = 4.0  # "far from the centre": this far or more from the global minimum (our choice)
BASIN_RADIUS = 0.9  # the circle drawn around the local minimum in Fig 2e-f (our choice)


def reaches(final: torch.Tensor, target: torch.Tensor, tolerance: float = REACH_TOLERANCE):
    """``final [..., 2]`` -> bool ``[...]``: ended within ``tolerance`` of ``target [2]``."""
    return (final - target).norm(dim=-1) < tolerance


def points_toward(points: torch.Tensor, updates: torch.Tensor, target: torch.Tensor):
    """bool ``[N]``: the update at each point has a positive component toward ``target``."""
    return ((target - points) * updates).sum(-1) > 0


def bp_updates(landscape: Landscape, points: torch.Tensor, lr: float) -> torch.Tensor:
    """BP's update field ``[N, 2]``: one gradient-descent step at each point."""
    return -lr * landscape.gradient(points)


def tdca_updates(tdca: GaussianTDCA, params: torch.Tensor, points: torch.Tensor, lr: float,
                 task: int = 0) -> torch.Tensor:
    """The TDCA network's update field ``[N, 2]`` (for task id ``task``), one step each."""
    ids = torch.full((len(points),), task, dtype=torch.long, device=params.device)
    with torch.no_grad():
        return lr * tdca.updates(params, points.to(params)[None], ids)[0].cpu()


@torch.no_grad()
def compare_rules(landscape: Landscape, tdca: GaussianTDCA, params: torch.Tensor,
                  points: torch.Tensor, settings: GaussianSettings) -> dict[str, dict]:
    """BP and the TDCA network ``params [1, D]`` from every start of ``points [N, 2]`` and their
    one-step update fields there (Fig 2e-f). Returns, for ``"BP"`` and ``"TDCA"``: ``starts``
    (N); ``reach``, the share of starts whose ``settings.steps``-step run ends at the global
    minimum; ``toward``, the share of updates pointing toward it; inside the red circle
    (:data:`BASIN_RADIUS` around the local minimum; ``basin_points`` of them) the shares
    ``basin_toward_global`` and ``basin_toward_local``; and ``far_size``, the median update
    size at least :data:`FAR` from the global minimum."""
    global_min, local_min = landscape.minima()
    finals = {"BP": bp_trajectory(landscape, points, settings.steps, settings.lr)[-1],
              "TDCA": tdca.trajectory(params, points, settings.steps, settings.lr)[-1, 0].cpu()}
    fields = {"BP": bp_updates(landscape, points, settings.lr),
              "TDCA": tdca_updates(tdca, params, points, settings.lr)}
    far = (points - global_min).norm(dim=-1) >= FAR
    basin = (points - local_min).norm(dim=-1) < BASIN_RADIUS
    share = lambda hits: hits.float().mean().item()  # noqa: E731
    return {name: {
        "starts": len(points),
        "reach": share(reaches(finals[name], global_min)),
        "toward": share(points_toward(points, field, global_min)),
        "basin_points": int(basin.sum()),
        "basin_toward_global": share(points_toward(points[basin], field[basin], global_min)),
        "basin_toward_local": share(points_toward(points[basin], field[basin], local_min)),
        "far_size": field[far].norm(dim=-1).median().item()}
        for name, field in fields.items()}


@torch.no_grad()
def compare_tasks(tdca: GaussianTDCA, params: torch.Tensor, landscapes: tuple[Landscape, ...],
                  points: torch.Tensor, settings: GaussianSettings) -> dict:
    """One network ``params [1, D]`` told each task id in turn (Fig 2h-i), from every start of
    ``points [N, 2]``. Returns ``reach``: per task, the share of starts whose run ends at that
    task's global minimum; ``fields_differ``: the median distance between the first two tasks'
    updates at the same point."""
    reach = []
    for task, landscape in enumerate(landscapes):
        ids = torch.full((len(points),), task, device=params.device)
        final = tdca.trajectory(params, points, settings.steps, settings.lr, ids)[-1, 0]
        reach.append(reaches(final.cpu(), landscape.global_minimum).float().mean().item())
    first, second = (tdca_updates(tdca, params, points, settings.lr, task=task)
                     for task in (0, 1))
    return {"reach": reach, "fields_differ": (first - second).norm(dim=-1).median().item()}


# --- What the network learned: probes beyond what it was evolved on ---------------------------
# The TDCA network reads only (x, y) (and a task id): it cannot see the landscape. Did evolution
# find an optimiser, which would follow a moved landscape, or a map of where this landscape's
# optimum lies? Starts outside the evolution's box, and the landscape translated or with its two
# Gaussians' places swapped, tell the two apart. BP, which reads the gradient, is the yardstick.

SHIFT = (3.0, -3.0)  # the translation probe (our choice: the new minimum stays inside the box)
WIDE = 10.0  # the wider box's half-width: starts in [-10, 10]^2 outside the evolution's box


def moved(landscape: Landscape, shift: tuple[float, float] = SHIFT) -> Landscape:
    """``landscape`` translated by ``shift``."""
    means = tuple((x + shift[0], y + shift[1]) for x, y in landscape.means)
    return Landscape(landscape.amplitudes, means, landscape.widths)


def swapped(landscape: Landscape) -> Landscape:
    """``landscape`` with its two Gaussians' places exchanged: the dominant one now sits where the
    small one was, so the global minimum moves there."""
    return Landscape(landscape.amplitudes, landscape.means[::-1], landscape.widths)


def outside_box(extent: float, wide: float = WIDE, n: int = 21) -> torch.Tensor:
    """``[N, 2]`` starts of an ``n x n`` grid over [-wide, wide]^2 that lie outside
    [-extent, extent]^2 (none of them is a start evolution saw)."""
    points = grid(wide, n)
    return points[(points.abs() > extent).any(-1)]


@torch.no_grad()
def probe(tdca: GaussianTDCA, params: torch.Tensor, settings: GaussianSettings,
          landscapes: tuple[Landscape, ...] = (LANDSCAPE,)) -> list[dict]:
    """Every probe for every task of the network ``params [1, D]``: where BP and TDCA end from
    each start, and whether they reach the probe landscape's global minimum. Returns one dict a
    (task, probe): ``task``, ``probe``, ``landscape``, ``starts [N, 2]``, ``bp_final``,
    ``tdca_final [N, 2]``, ``minimum [2]`` (the probe's global minimum), ``evolved_minimum``
    (the evolved landscape's)."""
    inside = grid(settings.extent, 21)
    results = []
    for task, landscape in enumerate(landscapes):
        cases = [("evolved landscape, starts outside the evolution's box", landscape,
                  outside_box(settings.extent)),
                 (f"landscape moved by {SHIFT}", moved(landscape), inside),
                 ("the two Gaussians' places swapped", swapped(landscape), inside)]
        for name, probed, starts in cases:
            ids = torch.full((len(starts),), task, dtype=torch.long, device=params.device)
            tdca_final = tdca.trajectory(params, starts, settings.steps, settings.lr,
                                         ids)[-1, 0].cpu()
            results.append({
                "task": task, "probe": name, "landscape": probed, "starts": starts,
                "bp_final": bp_trajectory(probed, starts, settings.steps, settings.lr)[-1],
                "tdca_final": tdca_final, "minimum": probed.global_minimum,
                "evolved_minimum": landscape.global_minimum})
    return results


# --- The section's claims ----------------------------------------------------------------------
