"""The recurrent TDCA network for episodes (paper, "Reinforcement Learning").

The supervised TDCA network is a plain :class:`~tdca_lib.method.population.PopulationMLP` (it reads
one sample's output and label and emits its credits); an episode needs memory, so RL's reads
the episode step by step with a GRU and emits the credits at its end.
"""

from __future__ import annotations

import math

import torch


class PopulationGRU:
    """A recurrent TDCA network for episodes (paper, "Reinforcement Learning"): a GRU of
    ``hidden`` units reads one ``[P, inputs]`` step at a time; after the episode a linear
    readout turns its state into ``outputs`` credits. Batched over the population like
    :class:`~tdca_lib.method.population.PopulationMLP`; the cell follows ``torch.nn.GRUCell`` (gates
    r, z, n in that order).

    Layout of a member's ``[D]`` parameters: input weights ``[inputs, 3H]``, recurrent weights
    ``[H, 3H]``, their biases ``[3H]`` each, readout weight ``[H, outputs]`` and bias.
    """

    def __init__(self, inputs: int, hidden: int, outputs: int):
        self.inputs, self.hidden, self.outputs = inputs, hidden, outputs
        self.shapes = [(inputs, 3 * hidden), (hidden, 3 * hidden), (1, 3 * hidden),
                       (1, 3 * hidden), (hidden, outputs), (1, outputs)]
        self.num_params = sum(a * b for a, b in self.shapes)

    def __repr__(self) -> str:
        return (f"PopulationGRU({self.inputs}-GRU{self.hidden}-{self.outputs}, "
                f"{self.num_params} parameters)")

    def init(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A ``[D]`` starting point, uniform in +-1/sqrt(hidden) as torch's GRUCell; the readout
        starts at zero, so the first credits are zero and evolution sets their scale."""
        bound = 1 / math.sqrt(self.hidden)
        parts = [(torch.rand(a * b, generator=generator) * 2 - 1) * bound
                 for a, b in self.shapes[:4]]
        return torch.cat([*parts, torch.zeros(self.hidden * self.outputs + self.outputs)])

    def unflatten(self, params: torch.Tensor) -> list[torch.Tensor]:
        """``[P, D]`` -> the six weights above, each ``[P, rows, cols]`` (views)."""
        if params.dim() != 2 or params.shape[1] != self.num_params:
            raise ValueError(f"{self!r} expects parameters of shape [P, {self.num_params}], "
                             f"got {tuple(params.shape)}")
        return [part.view(-1, a, b) for part, (a, b) in
                zip(params.split([a * b for a, b in self.shapes], 1), self.shapes)]

    def start(self, population: int, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.zeros(population, self.hidden, device=device)

    def step(self, params: list[torch.Tensor], state: torch.Tensor,
             inputs: torch.Tensor) -> torch.Tensor:
        """One step: ``params`` from :meth:`unflatten`, ``state [P, H]``, ``inputs [P, in]``
        -> the next state ``[P, H]``."""
        w_x, w_h, b_x, b_h = params[:4]
        gx = torch.baddbmm(b_x, inputs[:, None], w_x)[:, 0]
        gh = torch.baddbmm(b_h, state[:, None], w_h)[:, 0]
        xr, xz, xn = gx.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * state

    def readout(self, params: list[torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """``state [P, H]`` -> credits ``[P, outputs]``."""
        return torch.baddbmm(params[5], state[:, None], params[4])[:, 0]
