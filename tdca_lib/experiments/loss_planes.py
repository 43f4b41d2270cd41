"""The loss landscape around two update trajectories (paper Fig S3, after Li et al. 2018).

Two methods train the same bottom-up network from the same start; each trajectory's main
direction is the first principal component of its displacements from the start. The plane they
span (the second direction made orthogonal to the first) carries the loss surface, and both
trajectories are projected on it. The cosine between the two main directions says how related
the two methods' updates are: near 0, nearly orthogonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def main_direction(trajectory: torch.Tensor) -> torch.Tensor:
    """``trajectory [T + 1, D]`` (its start first) -> the unit first principal component
    ``[D]`` of its displacements from the start, signed to point from the start to the end."""
    moves = trajectory[1:] - trajectory[0]
    if not moves.abs().sum() > 0:
        raise ValueError("the trajectory never leaves its start: it has no direction")
    direction = torch.linalg.svd(moves, full_matrices=False).Vh[0]
    return direction if direction @ (trajectory[-1] - trajectory[0]) >= 0 else -direction


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a @ b / (a.norm() * b.norm())).item()


@dataclass
class Plane:
    """The plane through ``origin [D]`` spanned by orthonormal ``axes [2, D]``."""

    origin: torch.Tensor
    axes: torch.Tensor

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """``[T, D]`` -> plane coordinates ``[T, 2]``."""
        return (points - self.origin) @ self.axes.T

    def captured(self, points: torch.Tensor) -> torch.Tensor:
        """``[T]``: the share of each point's displacement from the origin lying in the plane."""
        moves = points - self.origin
        return self.project(points).norm(dim=-1) / moves.norm(dim=-1).clamp_min(1e-30)

    def lift(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Plane coordinates ``[N, 2]`` -> parameters ``[N, D]``."""
        return self.origin + coordinates @ self.axes


def plane_of(first: torch.Tensor, second: torch.Tensor) -> tuple[Plane, float]:
    """The plane of two trajectories ``[T + 1, D]`` sharing their start, and the cosine between
    their main directions (Gram-Schmidt keeps the first direction as the first axis)."""
    a, b = main_direction(first), main_direction(second)
    b_orth = b - (a @ b) * a
    if b_orth.norm() < 1e-6:
        raise ValueError("the two trajectories share one direction: they span no plane")
    return Plane(first[0], torch.stack([a, b_orth / b_orth.norm()])), cosine(a, b)


def surface(loss, plane: Plane, extent: tuple[float, float, float, float], n: int = 41,
            chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``loss([N, D]) -> [N]`` on an ``n x n`` grid over ``extent`` = (x0, x1, y0, y1) of the
    plane, evaluated ``chunk`` points at a time; returns the axes ``[n]``, ``[n]`` and the
    values ``[n, n]`` (rows along the second axis)."""
    x0, x1, y0, y1 = extent
    xs, ys = torch.linspace(x0, x1, n), torch.linspace(y0, y1, n)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([xx.flatten(), yy.flatten()], -1).to(plane.origin)
    values = torch.cat([loss(plane.lift(part)) for part in points.split(chunk)])
    return xs, ys, values.reshape(n, n).cpu()


def extent_around(*paths: torch.Tensor, margin: float = 0.25) -> tuple[float, ...]:
    """A box around projected paths ``[T, 2]``, widened by ``margin`` of its size each side."""
    points = torch.cat(paths)
    low, high = points.min(0).values, points.max(0).values
    pad = (high - low).clamp_min(1e-3) * margin
    return (low[0] - pad[0]).item(), (high[0] + pad[0]).item(), \
        (low[1] - pad[1]).item(), (high[1] + pad[1]).item()
