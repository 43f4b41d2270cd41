"""Credit diffusion (paper eq. 2, Fig 4c-d): a few credits steer many neurons.

A layer's neurons sit on a layout, a 1-D line or a 2-D grid; credits are emitted at a few
*sites* on the same layout, and the credit of site i reaches neuron j weighted by
``exp(-|coord(i) - coord(j)|^2 / sigma^2)``. Built once as a ``[sites, neurons]`` kernel and
applied as one matmul, batched over the population and the samples.
"""

from __future__ import annotations

import torch

LAYOUTS = ("line", "grid")


def line(n: int) -> torch.Tensor:
    """``[n, 1]``: neurons 0..n-1 on a line, unit spacing."""
    return torch.arange(n, dtype=torch.float32)[:, None]


def grid(rows: int, cols: int | None = None) -> torch.Tensor:
    """``[rows * cols, 2]``: neurons on a grid, unit spacing, row-major (neuron k at k // cols,
    k % cols)."""
    cols = cols or rows
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    return torch.stack([r.flatten(), c.flatten()], -1).float()


def _centres(neurons: int, sites: int) -> torch.Tensor:
    """``sites`` points spread evenly over 0..neurons-1, each at the middle of its stretch."""
    if sites > neurons or neurons % sites:
        raise ValueError(f"{sites} credit sites must divide {neurons} neurons evenly")
    stride = neurons // sites
    return torch.arange(sites, dtype=torch.float32) * stride + (stride - 1) / 2


def layout(kind: str, neurons: int, sites: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Neuron and site coordinates for ``neurons`` steered by ``sites`` credits.

    ``"line"``: both on a line (10 sites for 100 neurons sit at 4.5, 14.5, ...). ``"grid"``: a
    square grid of neurons (900 = 30 x 30) and a square grid of sites (36 = 6 x 6) over it.
    """
    if kind == "line":
        return line(neurons), _centres(neurons, sites)[:, None]
    if kind == "grid":
        side, site_side = round(neurons**0.5), round(sites**0.5)
        if side * side != neurons or site_side * site_side != sites:
            raise ValueError(f"a grid needs square numbers of neurons and sites, got "
                             f"{neurons} and {sites}")
        axis = _centres(side, site_side)
        r, c = torch.meshgrid(axis, axis, indexing="ij")
        return grid(side), torch.stack([r.flatten(), c.flatten()], -1)
    raise ValueError(f"unknown layout {kind!r}; valid: {', '.join(LAYOUTS)}")


def kernel(sites: torch.Tensor, neurons: torch.Tensor, sigma: float) -> torch.Tensor:
    """``[S, N]``: exp(-|site_i - neuron_j|^2 / sigma^2) (paper eq. 2; C is the credit itself)."""
    return torch.exp(-torch.cdist(sites, neurons) ** 2 / sigma**2)


def diffuse(credits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``credits [..., S]`` at the sites -> ``[..., N]`` at the neurons, through ``[S, N]``."""
    return credits @ weights
