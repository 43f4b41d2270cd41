"""The credit rule (paper Fig 4b): each neuron turns its credit into a Hebbian weight update.

For a layer ``a = x W + b``, ``h = act(a)``, a neuron j that receives credit ``c_j`` changes its
incoming weight from input i by ``x_i * c_j * act'(a_j)``, averaged over the batch: the input,
the credit and the activation derivative, all local to the synapse. With backprop's delta
``dL/dh`` as the credit this is exactly the gradient of the batch-mean loss.
"""

from __future__ import annotations

import torch


def hebbian_update(
    inputs: torch.Tensor, credit: torch.Tensor, activation_derivative: torch.Tensor | float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias updates of one layer, batched over the population.

    Args:
        inputs: ``[P, N, in]`` the layer's inputs (presynaptic activity).
        credit: ``[P, N, out]`` one credit per neuron and sample.
        activation_derivative: ``[P, N, out]`` act'(a) at each neuron (1.0 for a linear layer).

    Returns:
        ``([P, in, out], [P, out])``: the batch means of ``x_i * c_j * act'(a_j)`` and
        ``c_j * act'(a_j)``, laid out as :class:`~tdca_lib.tdca_network.PopulationMLP` weights.
    """
    signal = credit * activation_derivative  # [P, N, out]
    return inputs.transpose(1, 2) @ signal / inputs.shape[1], signal.mean(1)
