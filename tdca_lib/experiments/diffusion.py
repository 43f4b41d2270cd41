"""Credit diffusion (paper Fig 4c-d, Table S3, notebook 03): sparse, diffused credits for the
3-layer network.

The hidden layer's neurons sit on a line or a grid; the TDCA network emits one credit per *site*
(10 for 100 neurons, 6x6 for 30x30, ...) and each site's credit reaches the neurons around it
through the Gaussian kernel of :func:`tdca_lib.method.credit.diffusion_kernel` (sigma = 5, paper).
Everything else is the supervised experiment (:mod:`tdca_lib.experiments.supervised`, whose settings
carry the credit sites): same data, inner loop, PGPE, fitness. Its networks are evolved with

    python -m tdca_lib.experiments.supervised --profile quick --credits 10-to-100 --dataset mnist
"""

from __future__ import annotations

import torch

from ..method import credit
from .supervised import CREDITS, DENSE

# Table S3's configurations besides the dense 100-to-100 (the supervised experiment's own
# network)
CONFIGS = tuple(name for name in CREDITS if name != DENSE)


def fig4cd_credits(seed: int = 0, sigma: float = 5.0) -> dict[str, torch.Tensor | float]:
    """Fig 4c-d's random credits three ways, drawn in this order from one generator seeded
    ``seed``: ``site_credits [10]`` at ``sites [10, 1]`` on a line of ``neurons [100, 1]``,
    diffused through ``line_kernel [10, 100]``; ``grid_credits [36]`` at ``grid_sites [36, 2]``
    and the ``grid_field [30, 30]`` they diffuse to over a 30 x 30 grid; ``dense_credits
    [100]``, one a neuron. Also ``sigma``, the kernel's width in neuron spacings."""
    gen = torch.Generator().manual_seed(seed)
    neurons, sites = credit.positions("line", 100, 10)
    site_credits = torch.randn(10, generator=gen)
    grid_neurons, grid_sites = credit.positions("grid", 900, 36)
    grid_credits = torch.randn(36, generator=gen)
    grid_kernel = credit.diffusion_kernel(grid_sites, grid_neurons, sigma)
    return dict(neurons=neurons, sites=sites, site_credits=site_credits,
                line_kernel=credit.diffusion_kernel(sites, neurons, sigma),
                grid_sites=grid_sites, grid_credits=grid_credits,
                grid_field=credit.diffuse(grid_credits, grid_kernel).reshape(30, 30),
                dense_credits=torch.randn(100, generator=gen), sigma=sigma)
