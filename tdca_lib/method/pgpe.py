"""PGPE, the outer loop's hyper-optimiser (paper eqs. 3-7; Sehnke et al. 2010).

The population is a batch dimension: :meth:`PGPE.ask` returns all members as one ``[P, D]``
tensor and :meth:`PGPE.tell` takes their fitness as one ``[P]`` tensor. Sampling is antithetic
(members ``i`` and ``i + P/2`` are ``centre +- sigma * eps_i``), fitness is shaped by centred
ranks, and the centre follows a torch optimiser (Adam, momentum SGD or ClipUp) on the estimated
gradient.
"""

from __future__ import annotations

import torch

OPTIMIZERS = ("adam", "sgd", "clipup")


class ClipUp(torch.optim.Optimizer):
    """ClipUp (Toklu et al. 2020), the centre optimiser of evolution strategies that people
    reach for: momentum on the *normalised* gradient, the velocity clipped to ``max_speed``.
    A step moves the centre by at most ``max_speed`` whatever the gradient's scale, so noisy
    rank-shaped estimates cannot throw it far. Ascends (as PGPE maximises)."""

    def __init__(self, params, lr: float, momentum: float = 0.9, max_speed: float | None = None):
        if lr <= 0:
            raise ValueError(f"ClipUp's lr must be positive, got {lr}")
        # the paper's rule of thumb: a step size of half the maximum speed
        super().__init__(params, dict(lr=lr, momentum=momentum, max_speed=max_speed or 2 * lr))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                norm = p.grad.norm()
                if norm == 0:
                    continue
                velocity = self.state[p].setdefault("velocity", torch.zeros_like(p))
                velocity.mul_(group["momentum"]).add_(p.grad, alpha=group["lr"] / norm)
                speed = velocity.norm()
                if speed > group["max_speed"]:
                    velocity.mul_(group["max_speed"] / speed)
                p.add_(velocity)


def centered_ranks(fitness: torch.Tensor) -> torch.Tensor:
    """Rank-based fitness shaping: ``[P]`` fitness -> ``[P]`` values in [-0.5, 0.5].

    The best member gets 0.5, the worst -0.5, evenly spaced between. Non-finite fitness (NaN,
    +-Inf) counts as the worst, so a diverged member can never steer the search. Tied members
    share the mean of their ranks: equal fitness carries no preference, so an all-equal (or
    all-NaN) generation shapes to all zeros and an antithetic pair tied on both sides
    contributes nothing.
    """
    fitness = torch.where(torch.isfinite(fitness), fitness, torch.finfo(fitness.dtype).min)
    _, group, counts = torch.unique(fitness, sorted=True, return_inverse=True,
                                    return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # rank of each group's first member
    ranks = (first + (counts - 1) / 2).to(fitness.dtype)[group]
    return ranks / (len(fitness) - 1) - 0.5


class PGPE:
    """Antithetic PGPE with rank shaping, on a ``[D]`` parameter vector.

    Args:
        center: ``[D]`` initial centre (the TDCA network's flat parameters).
        population: members per generation; even, since members come in antithetic pairs.
        sigma: initial exploration standard deviation (the same for every parameter).
        center_lr: learning rate of the centre's optimiser.
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``).
        sigma_lr: learning rate of sigma's adaptation (Sehnke et al.); 0 keeps sigma fixed.
        sigma_max_change: the most sigma may change in one generation, as a fraction of itself
            (None: unbounded); keeps one noisy estimate from collapsing or inflating it.
        seed: seeds the sampler's own generator, so runs are reproducible and resumable.
    """

    def __init__(
        self,
        center: torch.Tensor,
        *,
        population: int,
        sigma: float,
        center_lr: float,
        optimizer: str = "adam",
        momentum: float = 0.9,
        sigma_lr: float = 0.0,
        sigma_max_change: float | None = None,
        seed: int = 0,
    ):
        if population < 2 or population % 2:
            raise ValueError(
                f"population must be even and >= 2 (members come in antithetic pairs), "
                f"got {population}"
            )
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if sigma_max_change is not None and not 0 < sigma_max_change < 1:
            raise ValueError(f"sigma_max_change must be in (0, 1), got {sigma_max_change}")
        self.population = population
        self.sigma_lr = sigma_lr
        self.sigma_max_change = sigma_max_change
        self.center = torch.nn.Parameter(center.detach().clone().float().flatten())
        self.sigma = torch.full_like(self.center.data, sigma)
        if optimizer == "adam":
            self.optimizer = torch.optim.Adam([self.center], lr=center_lr, maximize=True)
        elif optimizer == "sgd":
            self.optimizer = torch.optim.SGD(
                [self.center], lr=center_lr, momentum=momentum, maximize=True
            )
        else:
            self.optimizer = ClipUp([self.center], lr=center_lr, momentum=momentum)
        # Noise is drawn on the CPU whatever the device: the same run on a GPU samples the same
        # populations, and a run resumes on either device.
        self.generator = torch.Generator().manual_seed(seed)
        self.generation = 0
        self._eps: torch.Tensor | None = None

    @property
    def num_params(self) -> int:
        return self.center.numel()

    def ask(self) -> torch.Tensor:
        """Sample the next population: ``[P, D]``, rows ``i`` and ``i + P/2`` antithetic."""
        self._eps = torch.randn(
            self.population // 2,
            self.num_params,
            generator=self.generator,
        ).to(self.center.device)
        delta = self.sigma * self._eps
        center = self.center.detach()
        return torch.cat([center + delta, center - delta])

    @torch.no_grad()
    def tell(self, fitness: torch.Tensor) -> dict[str, float]:
        """Update the centre (and sigma) from the ``[P]`` fitness of the last :meth:`ask`.

        Returns the generation's statistics over finite members: best, mean, and the count of
        non-finite members (which got the worst rank).
        """
        if self._eps is None:
            raise RuntimeError("call ask() before tell()")
        fitness = torch.as_tensor(fitness, dtype=torch.float32, device=self.center.device)
        if fitness.shape != (self.population,):
            raise ValueError(
                f"fitness must have shape ({self.population},), got {tuple(fitness.shape)}"
            )
        shaped = centered_ranks(fitness)
        plus, minus = shaped.chunk(2)
        pairs = len(plus)
        # A generation whose members all tie tells nothing: the centre, sigma and the
        # optimiser's moments stay where they were (a zero gradient would still move Adam).
        informative = bool((shaped != 0).any())
        # Gradient of E[F] w.r.t. the centre (eq. 7), antithetic form.
        self.center.grad = ((plus - minus) / 2) @ self._eps / (pairs * self.sigma)
        if informative:
            self.optimizer.step()
        if self.sigma_lr > 0 and informative:
            # Score of N(centre, sigma^2) w.r.t. log sigma is eps^2 - 1; the shaped fitness has
            # mean 0, so it is its own baseline. A multiplicative step keeps sigma positive.
            score = ((plus + minus) / 2) @ (self._eps**2 - 1) / pairs
            factor = torch.exp(self.sigma_lr * score)
            if self.sigma_max_change is not None:
                factor = factor.clamp(1 - self.sigma_max_change, 1 + self.sigma_max_change)
            self.sigma *= factor
        self._eps = None
        self.generation += 1

        finite = fitness[torch.isfinite(fitness)]
        return {
            "best": finite.max().item() if len(finite) else float("nan"),
            "mean": finite.mean().item() if len(finite) else float("nan"),
            "nonfinite": int(self.population - len(finite)),
            "sigma": self.sigma.mean().item(),
        }

    def state_dict(self) -> dict:
        """Everything needed to continue bit-identically: centre, sigma, optimiser, generator."""
        return {
            "center": self.center.detach().clone(),
            "sigma": self.sigma.clone(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "generation": self.generation,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["center"].shape != self.center.shape:
            raise ValueError(
                f"saved centre has shape {tuple(state['center'].shape)}, "
                f"this PGPE has {tuple(self.center.shape)}"
            )
        with torch.no_grad():
            self.center.copy_(state["center"])
        self.sigma = state["sigma"].clone().to(self.center.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.generation = state["generation"]
