"""Networks batched over a population: one network's parameters are one row of a ``[P, D]``
tensor (PGPE's members, or P bottom-up networks trained at once).

:class:`PopulationMLP` unflattens all rows at once and runs the whole population as batched
matrix products, never a Python loop over members. The bottom-up networks
(:mod:`tdca_lib.method.bottom_up`) and the supervised TDCA network are PopulationMLPs; the deep CNN
shares :class:`LayeredPopulation`'s layout.
"""

from __future__ import annotations

import math

import torch

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def is_shared(inputs: torch.Tensor) -> bool:
    """Whether ``inputs`` is one batch for every member: ``[N, F]``, or ``[P, N, F]`` expanded
    from it (stride 0 over members, as ``PopulationMLP.activations`` passes the input on)."""
    return inputs.dim() == 2 or (inputs.dim() == 3 and inputs.stride(0) == 0)


def is_feature_major(h: torch.Tensor) -> bool:
    """Whether activity ``h [P, N, F]`` is laid out feature-major: a view of a ``[P, F, N]``
    tensor, each feature's samples side by side (as :func:`shared_linear` leaves it)."""
    return h.dim() == 3 and h.shape[2] > 1 and h.stride(1) == 1


def cat_features(parts: list[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(parts, -1)`` of ``[P, N, F_i]`` activities, feature-major if the first part
    is: the same numbers in the layout the rest of the step expects."""
    if not is_feature_major(parts[0]):
        return torch.cat(parts, -1)
    return torch.cat([part.transpose(1, 2) for part in parts], 1).transpose(1, 2)


def shared_linear(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Every member's layer on the same ``inputs [N, in]`` as one matrix product: ``weight
    [P, in, out]`` side by side as ``[in, P * out]`` (a copy of the weights, not of the inputs),
    transposed, times ``inputs^T``; ``bias [P, 1, out]``. Returns ``[P, N, out]``,
    feature-major: a view of a ``[P, out, N]`` tensor.

    The same products and sums as ``baddbmm(bias, inputs.expand(P, N, in), weight)``, but one
    wide matmul runs near the CPU's peak rate where P narrow ones over a stride-0 batch do not;
    and its feature-major result keeps the layers above, their credits and their updates in
    the orientation a CPU multiplies fastest (tens of percent at population 32 and more).
    """
    members, fan_in, fan_out = weight.shape
    side_by_side = weight.transpose(0, 1).reshape(fan_in, members * fan_out)
    out = torch.addmm(bias.reshape(members * fan_out, 1), side_by_side.T, inputs.T)
    return out.view(members, fan_out, len(inputs)).transpose(1, 2)


def feature_major_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``baddbmm(bias, h, weight)`` for ``h [P, N, in]``, ``weight [P, in, out]``: ``[P, N, out]``.
    With more samples than outputs it is computed as ``weight^T @ h^T`` and returned as a view
    of a ``[P, out, N]`` tensor: a matmul whose rows are as narrow as a 10-class output runs
    several times slower on a CPU than its transpose, with the same products and sums."""
    if h.shape[1] <= weight.shape[2]:
        return torch.baddbmm(bias, h, weight)
    return torch.baddbmm(bias.transpose(1, 2), weight.transpose(1, 2), h.transpose(1, 2)
                         ).transpose(1, 2)


class LayeredPopulation:
    """Parameters laid out layer by layer as (weight ``[fan_in, fan_out]``, bias ``[fan_out]``)
    for each of ``self.layer_shapes``, a population of them as one flat ``[P, D]`` tensor.
    Shared by the bottom-up networks (:class:`PopulationMLP`, the deep CNN)."""

    layer_shapes: list[tuple[int, int]]
    num_params: int

    def init(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A ``[D]`` starting point: each layer uniform in +-1/sqrt(fan_in), as torch's Linear
        and Conv2d."""
        parts = []
        for fan_in, fan_out in self.layer_shapes:
            bound = 1 / math.sqrt(fan_in)
            for n in (fan_in * fan_out, fan_out):
                parts.append((torch.rand(n, generator=generator) * 2 - 1) * bound)
        return torch.cat(parts)

    def unflatten(self, params: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[P, D]`` -> per layer (weight ``[P, fan_in, fan_out]``, bias ``[P, 1, fan_out]``),
        as views."""
        if params.dim() != 2 or params.shape[1] != self.num_params:
            raise ValueError(
                f"{self!r} expects parameters of shape [P, {self.num_params}], "
                f"got {tuple(params.shape)}"
            )
        layers, start = [], 0
        for fan_in, fan_out in self.layer_shapes:
            weight = params[:, start : start + fan_in * fan_out].view(-1, fan_in, fan_out)
            start += fan_in * fan_out
            bias = params[:, start : start + fan_out].view(-1, 1, fan_out)
            start += fan_out
            layers.append((weight, bias))
        return layers


class PopulationMLP(LayeredPopulation):
    """An MLP with ``sizes = [in, hidden..., out]``, hidden activation, linear output.

    Parameters are a flat ``[P, D]`` tensor, laid out layer by layer as (weight ``[in, out]``,
    bias ``[out]``).
    """

    def __init__(self, sizes: list[int] | tuple[int, ...], activation: str = "tanh"):
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least input and output sizes, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.layer_shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.num_params = sum(i * o + o for i, o in self.layer_shapes)
        self.credit_count = sum(self.sizes[1:])  # one credit per non-input neuron

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.sizes))
        return f"PopulationMLP({sizes}, {self.activation}, {self.num_params} parameters)"

    def __call__(self, params: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``params [P, D]``, ``inputs [P, N, in]`` (or ``[N, in]``, shared) -> ``[P, N, out]``."""
        return self.activations(params, inputs)[-1]

    def activations(self, params: torch.Tensor, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's activity ``[P, N, width]``: the input, each hidden layer, the output.

        Shared inputs ``[N, in]`` (the supervised bottom-up networks) and feature-major ones
        (the supervised TDCA network's) run feature-major layer by layer (:func:`shared_linear`,
        :func:`feature_major_linear`), so the activities may be non-contiguous views; other
        per-member inputs (RL's) one ``baddbmm`` a layer, as they were evolved with."""
        return self.layer_activations(self.unflatten(params), inputs)

    def apply(self, layers: list[tuple[torch.Tensor, torch.Tensor]],
              inputs: torch.Tensor) -> torch.Tensor:
        """As calling the network, with its parameters already unflattened (:meth:`unflatten`):
        for many calls with the same parameters."""
        return self.layer_activations(layers, inputs)[-1]

    def layer_activations(self, layers: list[tuple[torch.Tensor, torch.Tensor]],
                          inputs: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`activations` of unflattened parameters."""
        members = len(layers[0][0])
        h = inputs.expand(members, *inputs.shape[-2:]) if inputs.dim() == 2 else inputs
        act = ACTIVATIONS[self.activation]
        out = [h]
        for k, (weight, bias) in enumerate(layers):
            if k == 0 and inputs.dim() == 2:  # the same inputs for everyone: one wide matmul
                h = shared_linear(inputs, weight, bias)
            elif is_feature_major(h):
                h = feature_major_linear(h, weight, bias)
            else:
                h = torch.baddbmm(bias, h, weight)
            if k < len(layers) - 1:
                h = act(h)
            out.append(h)
        return out
