"""TDCA networks, batched over the PGPE population.

A TDCA network is a small MLP whose weights are one row of the population matrix ``[P, D]``
that PGPE samples. :class:`PopulationMLP` unflattens all rows at once and runs the whole
population as one batched matrix product (``baddbmm``), never a Python loop over members.
"""

from __future__ import annotations

import math

import torch

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


class PopulationMLP:
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

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.sizes))
        return f"PopulationMLP({sizes}, {self.activation}, {self.num_params} parameters)"

    def init(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A ``[D]`` starting point: each layer uniform in +-1/sqrt(fan_in), as torch's Linear."""
        parts = []
        for fan_in, fan_out in self.layer_shapes:
            bound = 1 / math.sqrt(fan_in)
            for n in (fan_in * fan_out, fan_out):
                parts.append((torch.rand(n, generator=generator) * 2 - 1) * bound)
        return torch.cat(parts)

    def unflatten(self, params: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[P, D]`` -> per layer (weight ``[P, in, out]``, bias ``[P, 1, out]``), as views."""
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

    def __call__(self, params: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``params [P, D]``, ``inputs [P, N, in]`` (or ``[N, in]``, shared) -> ``[P, N, out]``."""
        return self.activations(params, inputs)[-1]

    def activations(self, params: torch.Tensor, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's activity ``[P, N, width]``: the input, each hidden layer, the output."""
        layers = self.unflatten(params)
        h = inputs.expand(len(params), *inputs.shape[-2:]) if inputs.dim() == 2 else inputs
        act = ACTIVATIONS[self.activation]
        out = [h]
        for k, (weight, bias) in enumerate(layers):
            h = torch.baddbmm(bias, h, weight)
            if k < len(layers) - 1:
                h = act(h)
            out.append(h)
        return out
