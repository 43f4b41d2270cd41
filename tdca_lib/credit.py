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


# Activation derivatives written in terms of the activation's output h = act(a).
DERIVATIVES = {"tanh": lambda h: 1 - h**2, "relu": lambda h: (h > 0).to(h.dtype)}


def credits_to_gradient(
    net, activations: list[torch.Tensor], credits: torch.Tensor
) -> torch.Tensor:
    """Turn one credit per neuron into the weight "gradient" of a whole MLP, layer by layer.

    Args:
        net: the bottom-up :class:`~tdca_lib.tdca_network.PopulationMLP` (hidden activation,
            linear output).
        activations: its layers' activity from ``net.activations``: ``[P, N, width]`` each.
        credits: ``[P, N, C]``, the credits of every non-input neuron, top-down: the output
            layer's first, then the last hidden layer's, down to the first hidden layer's.

    Returns:
        ``[P, D]`` in ``net``'s parameter layout, to be fed to the inner optimiser as a gradient.
    """
    widths = net.sizes[1:]
    if credits.shape[-1] != sum(widths):
        raise ValueError(f"{net!r} needs {sum(widths)} credits a sample, got {credits.shape[-1]}")
    per_layer = credits.split(widths[::-1], dim=-1)[::-1]  # bottom-up order, as the layers
    derivative = DERIVATIVES[net.activation]
    parts = []
    for k, credit in enumerate(per_layer):
        output = activations[k + 1]
        slope = 1.0 if k == len(per_layer) - 1 else derivative(output)
        dw, db = hebbian_update(activations[k], credit, slope)
        parts += [dw.flatten(1), db]
    return torch.cat(parts, 1)
