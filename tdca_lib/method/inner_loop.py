"""The inner loop: train P bottom-up networks at once from a direction (BP's gradient or the
credits of P TDCA networks), with P independent Adam optimisers, each clipping its own update.

Adam is elementwise, so one ``torch.optim.Adam`` on the ``[P, D]`` population tensor *is* P
independent Adams; the gradient-norm clip is applied per member (row) first. A test checks
this against P separate ``torch.optim.Adam`` + ``clip_grad_norm_`` runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .credit import diffuse, network_credits_to_gradient
from .population import PopulationMLP, cat_features

OPTIMIZERS = ("adam", "sgd")

Direction = Callable[[torch.Tensor], torch.Tensor]
"""``direction(theta [P, D]) -> [P, D]``: the "gradient" the inner optimiser descends."""


def clip_per_member(grad: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Scale each row of ``grad [P, D]`` to norm at most ``max_norm`` (as clip_grad_norm_)."""
    norm = grad.norm(dim=1, keepdim=True)
    return grad * (max_norm / (norm + 1e-6)).clamp(max=1.0)


def population_adam(theta: torch.Tensor, lr: float) -> torch.optim.Adam:
    """One ``torch.optim.Adam`` on the whole ``[P, D]`` population: its fused kernel (one pass
    over parameters, gradient and moments) where the device has one, else the default."""
    try:
        return torch.optim.Adam([theta], lr=lr, fused=True)
    except RuntimeError:  # a device without the fused kernel
        return torch.optim.Adam([theta], lr=lr)


def population_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``logits [P, N, K]``, ``labels [N]`` -> mean cross-entropy per member ``[P]``."""
    per_sample = F.cross_entropy(logits.transpose(1, 2), labels.expand(len(logits), -1),
                                 reduction="none")
    return per_sample.mean(1)


@torch.no_grad()
def evaluate(net: PopulationMLP, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
             chunk: int = 10000) -> tuple[torch.Tensor, torch.Tensor]:
    """Accuracy and mean cross-entropy of each member on ``(x, y)``: two ``[P]`` tensors."""
    correct = torch.zeros(len(theta), device=theta.device)
    loss = torch.zeros(len(theta), device=theta.device)
    for start in range(0, len(y), chunk):
        xb, yb = x[start : start + chunk], y[start : start + chunk]
        logits = net(theta, xb)
        correct += (logits.argmax(-1) == yb).float().sum(1)
        loss += population_cross_entropy(logits, yb) * len(yb)
    return correct / len(y), loss / len(y)


def bp_direction(net: PopulationMLP, x: torch.Tensor, y: torch.Tensor) -> Direction:
    """Backprop's gradient of each member's mean cross-entropy on ``(x, y)`` (autograd)."""

    def direction(theta: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            theta = theta.detach().requires_grad_(True)
            loss = population_cross_entropy(net(theta, x), y).sum()  # members are independent
            return torch.autograd.grad(loss, theta)[0]

    return direction


def tdca_direction(net: PopulationMLP, tdca: PopulationMLP, beta: torch.Tensor,
                   x: torch.Tensor, y: torch.Tensor, classes: int = 10,
                   credit_kernel: torch.Tensor | None = None) -> Direction:
    """The update member p's TDCA network ``beta[p]`` assigns: it reads the bottom-up network's
    softmax output and the one-hot label and emits one credit per neuron (no loss, no backprop).

    With ``credit_kernel [S, H]`` the TDCA network emits S credits for the hidden layer instead
    of H, diffused to its neurons (:mod:`tdca_lib.experiments.diffusion`); the output layer stays
    dense.
    """
    one_hot = F.one_hot(y, classes).to(x.dtype).T  # [classes, N]

    def direction(theta: torch.Tensor) -> torch.Tensor:
        activations = net.activations(theta, x)
        # The state is built feature-major ([P, 2 * classes, N]), as the bottom-up network's
        # activity is (population.shared_linear), so the TDCA network runs feature-major too.
        probs = torch.softmax(activations[-1].transpose(1, 2), 1)
        state = torch.cat([probs, one_hot.expand(len(theta), -1, -1)], 1).transpose(1, 2)
        credits = tdca(beta, state)
        if credit_kernel is not None:
            hidden = diffuse(credits[..., classes:], credit_kernel)
            credits = cat_features([credits[..., :classes], hidden])
        return network_credits_to_gradient(net, activations, credits)

    return direction


def train(
    theta: torch.Tensor,
    direction: Direction,
    steps: int,
    lr: float,
    max_norm: float,
    on_step: Callable[[int, torch.Tensor], None] | None = None,
    optimizer: str = "adam",
    fused: bool = True,
) -> torch.Tensor:
    """``steps`` steps of every member along ``direction`` (BP's gradient, a TDCA network's
    credits on a batch, or on an episode the agent plays), each member's update clipped to
    ``max_norm``; returns ``[P, D]``. The one inner loop of every experiment.

    ``optimizer``: ``"adam"`` (:func:`population_adam`; ``fused=False``: torch's default
    kernel, which RL's networks were evolved with: the two differ at float rounding, and an
    episode's return can turn on that) or ``"sgd"``. ``on_step(step, theta)`` is called before
    the first step and after each (learning curves).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown inner optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    theta = theta.detach().clone().requires_grad_(False)
    if optimizer == "sgd":
        step_rule = torch.optim.SGD([theta], lr=lr)
    else:
        step_rule = population_adam(theta, lr) if fused else torch.optim.Adam([theta], lr=lr)
    if on_step:
        on_step(0, theta)
    for step in range(1, steps + 1):
        theta.grad = clip_per_member(direction(theta), max_norm)
        step_rule.step()
        if on_step:
            on_step(step, theta)
    return theta.detach()
