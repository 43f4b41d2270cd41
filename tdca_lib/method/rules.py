"""Known learning rules beside the TDCA network (beyond the paper): feedback alignment (FA) and
direct feedback alignment (DFA).

Both are credit assignments without the transposed forward weights, so they sit where a TDCA
network sits: they emit one credit per neuron, and the same Hebbian rule
(:func:`~tdca_lib.method.credit.credits_to_gradient`) turns the credits into weight updates, in the
same inner optimiser. They are yardsticks: what a fixed, unevolved credit rule achieves.

- **FA** (Lillicrap et al. 2016): the output error travels down layer by layer as in backprop,
  through fixed random matrices ``B_k`` in place of ``W_k^T``. With ``B_k = W_k^T`` it *is*
  backprop.
- **DFA** (Nokland 2016): the output error reaches every hidden layer at once through one fixed
  random matrix ``B_k [classes, width_k]``.

Credits follow :func:`credits_to_gradient`'s convention: per sample, the derivative of the loss
with respect to each neuron's output (``softmax - one_hot`` at the linear output layer),
top-down. The feedback matrices are drawn once from a seeded generator, normal with standard
deviation ``1 / sqrt(fan)`` over the units they sum (our choice; Adam and the clip make their
scale matter little).

The rules are registered in :data:`RULES`; everything that trains, tabulates or draws a yardstick
reads them from there, so a new rule is one function (its direction) and one entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .credit import credits_to_gradient, times_derivative
from .inner_loop import Direction
from .population import PopulationMLP

RANDOM_FEEDBACK = ("fa", "dfa")  # the rules random_feedback draws matrices for


def random_feedback(net: PopulationMLP, rule: str, seed: int = 0) -> list[torch.Tensor]:
    """The fixed feedback matrices of ``rule`` for ``net``, one per hidden layer, bottom-up:
    FA's ``B_k [width_(k+1), width_k]`` (the shape of ``W_(k+1)^T``), DFA's
    ``B_k [classes, width_k]``."""
    if rule not in RANDOM_FEEDBACK:
        raise ValueError(f"unknown feedback rule {rule!r}; valid: {', '.join(RANDOM_FEEDBACK)}")
    generator = torch.Generator().manual_seed(seed)
    widths, classes = net.sizes[1:-1], net.sizes[-1]
    above = [*widths[1:], classes] if rule == "fa" else [classes] * len(widths)
    return [torch.randn(fan, width, generator=generator) / math.sqrt(fan)
            for fan, width in zip(above, widths)]


def output_error(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``softmax - one_hot``: each sample's cross-entropy derivative w.r.t. its logits,
    ``[P, N, classes]``."""
    return torch.softmax(logits, -1) - F.one_hot(y, logits.shape[-1]).to(logits.dtype)


def feedback_credits(net: PopulationMLP, activations: list[torch.Tensor], y: torch.Tensor,
                     rule: str, feedback: list[torch.Tensor]) -> torch.Tensor:
    """``[P, N, net.credit_count]`` credits, top-down, of ``rule`` ("fa" or "dfa") with the
    feedback matrices ``feedback`` (:func:`random_feedback`'s layout)."""
    error = output_error(activations[-1], y)
    credits = [error]  # top-down: the output layer's first
    for k in range(len(feedback) - 1, -1, -1):  # hidden layers, from the top
        if rule == "dfa":
            credits.append(error @ feedback[k].to(error))
        else:  # the layer above's credit, through its activation slope, back through B
            above = credits[-1] if k == len(feedback) - 1 else times_derivative(
                net.activation, activations[k + 2], credits[-1])
            credits.append(above @ feedback[k].to(error))
    return torch.cat(credits, -1)


def feedback_direction(net: PopulationMLP, x: torch.Tensor, y: torch.Tensor, rule: str,
                       feedback: list[torch.Tensor]):
    """The inner loop's direction ``theta [P, D] -> [P, D]`` of ``rule``: its credits through the
    Hebbian rule, as :func:`~tdca_lib.method.inner_loop.tdca_direction` does with a TDCA
    network's."""

    def direction(theta: torch.Tensor) -> torch.Tensor:
        activations = net.activations(theta, x)
        credits = feedback_credits(net, activations, y, rule, feedback)
        return credits_to_gradient(net, activations, credits)

    return direction


def fa(net: PopulationMLP, x: torch.Tensor, y: torch.Tensor, seed: int) -> Direction:
    """FA's direction on ``(x, y)``, its feedback matrices drawn from ``seed``."""
    return feedback_direction(net, x, y, "fa", random_feedback(net, "fa", seed))


def dfa(net: PopulationMLP, x: torch.Tensor, y: torch.Tensor, seed: int) -> Direction:
    """DFA's direction on ``(x, y)``, its feedback matrices drawn from ``seed``."""
    return feedback_direction(net, x, y, "dfa", random_feedback(net, "dfa", seed))


@dataclass(frozen=True)
class Rule:
    """A yardstick credit rule. ``title`` names it in tables and figures; ``direction(net, x, y,
    seed)`` is its inner-loop direction ``theta [P, D] -> [P, D]`` for the bottom-up network
    ``net`` on the samples ``x [N, features]``, ``y [N]`` (``seed``: whatever it draws at
    random); ``one_hidden_layer_as``: the registered rule it is the same rule as when ``net``
    has one hidden layer, if any."""

    title: str
    direction: Callable[[PopulationMLP, torch.Tensor, torch.Tensor, int], Direction]
    one_hidden_layer_as: str | None = None


# The yardstick rules, name -> rule, in the order tables and figures show them. With one hidden
# layer DFA is FA: the one random matrix from the output reaches the only hidden layer.
RULES = {"fa": Rule("FA", fa), "dfa": Rule("DFA", dfa, one_hidden_layer_as="fa")}


def rule_groups(hidden_layers: int) -> list[tuple[str, ...]]:
    """The names of :data:`RULES` in order, those that are one rule on a bottom-up network with
    ``hidden_layers`` hidden layers together (``[("fa", "dfa")]`` for one, ``[("fa",),
    ("dfa",)]`` for more)."""
    groups: dict[str, tuple[str, ...]] = {}
    for name, rule in RULES.items():
        same = rule.one_hidden_layer_as if hidden_layers == 1 else None
        first = same if same in groups else name
        groups[first] = groups.get(first, ()) + (name,)
    return list(groups.values())
