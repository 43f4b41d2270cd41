"""The credit rule (paper Fig 4b): each neuron turns its credit into a Hebbian weight update.

For a layer ``a = x W + b``, ``h = act(a)``, a neuron j that receives credit ``c_j`` changes its
incoming weight from input i by ``x_i * c_j * act'(a_j)``, averaged over the batch: the input,
the credit and the activation derivative, all local to the synapse. With backprop's delta
``dL/dh`` as the credit this is exactly the gradient of the batch-mean loss.

A convolutional layer's neurons (a channel at each position) share their channel's weights, so
its update also sums over positions (:func:`conv_hebbian_update`, the deep CNN of Table 2).

Credit diffusion (paper eq. 2, Fig 4c-d) lets a few credits steer many neurons: a layer's neurons
sit on a layout, a 1-D line or a 2-D grid; credits are emitted at a few *sites* on the same
layout, and the credit of site i reaches neuron j weighted by
``exp(-|coord(i) - coord(j)|^2 / sigma^2)``. Built once as a ``[sites, neurons]`` kernel
(:func:`diffusion_kernel`) and applied as one matmul (:func:`diffuse`), batched over the
population and the samples.
"""

from __future__ import annotations

import torch

from .bottom_up import PopulationCNN
from .population import PopulationMLP, is_shared


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
        ``c_j * act'(a_j)``, laid out as :class:`~tdca_lib.method.population.PopulationMLP` weights.
    """
    no_slope = isinstance(activation_derivative, float) and activation_derivative == 1.0
    signal = credit if no_slope else credit * activation_derivative  # [P, N, out]
    return _summed_update(inputs, signal).div_(inputs.shape[1]), signal.mean(1)


def _summed_update(inputs: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
    """``[P, in, out]``: the batch *sums* of ``inputs [P, N, in]`` x ``signal [P, N, out]``, a
    fresh tensor. Inputs shared by every member (stride 0 over P, the first layer's images)
    take one wide matmul ``signal^T [P * out, N] @ x [N, in]`` instead of P narrow ones, the
    result a view of a ``[P, out, in]`` tensor. Otherwise the product is computed in whichever
    orientation has the wider rows (a view of ``[P, out, in]`` when out < in): a matmul with
    rows as narrow as a 10-class output runs several times slower on a CPU."""
    if not is_shared(inputs):
        if signal.shape[-1] < inputs.shape[-1]:
            return (signal.transpose(1, 2) @ inputs).transpose(1, 2)
        return inputs.transpose(1, 2) @ signal
    members, samples, fan_out = signal.shape
    by_neuron = signal.transpose(1, 2).reshape(members * fan_out, samples)  # a view if the
    # signal is feature-major, as a shared layer's activity and its derivative are
    summed = by_neuron @ inputs[0]
    return summed.view(members, fan_out, inputs.shape[-1]).transpose(1, 2)


def times_derivative(activation: str, h: torch.Tensor, credit: torch.Tensor) -> torch.Tensor:
    """``credit * act'(a)`` from the activation's output ``h = act(a)`` (broadcast), a fresh
    tensor in the activity's layout (tanh's ``1 - h^2`` in one pass, not two)."""
    if activation == "tanh":
        return torch.addcmul(h.new_ones(()), h, h, value=-1).mul_(credit)
    if activation == "relu":
        return credit * (h > 0)
    raise ValueError(f"unknown activation {activation!r}; valid: tanh, relu")


def credits_to_gradient(
    net, activations: list[torch.Tensor], credits: torch.Tensor
) -> torch.Tensor:
    """Turn one credit per neuron into the weight "gradient" of a whole MLP, layer by layer.

    Args:
        net: the bottom-up :class:`~tdca_lib.method.population.PopulationMLP` (hidden activation,
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
    members, samples = credits.shape[:2]
    gradient = credits.new_empty(members, net.num_params)
    for k, (credit, (weight, bias)) in enumerate(zip(per_layer, net.unflatten(gradient))):
        signal = credit if k == len(per_layer) - 1 else times_derivative(
            net.activation, activations[k + 1], credit)
        torch.div(_summed_update(activations[k], signal), samples, out=weight)
        torch.mean(signal, 1, keepdim=True, out=bias)
    return gradient


def conv_hebbian_update(
    patches: torch.Tensor, credit: torch.Tensor, activation_derivative: torch.Tensor | float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias updates of a convolutional layer, batched over the population.

    A conv neuron is one channel at one position, and all positions of a channel share its
    weights, so channel c's weight from patch input i changes by the batch mean of the *sum*
    over positions of ``x_i * c * act'(a_c)``: with backprop's delta as the credit, exactly the
    gradient of the batch-mean loss (a shared weight's gradient sums over its uses).

    Args:
        patches: ``[P, N, K, L]`` each conv neuron's inputs (K per position, L positions, as
            ``F.unfold`` lays them out), or ``[N, K, L]`` when every member sees the same images.
        credit: ``[P, N, C, L]`` one credit per channel and position, or ``[P, N, C]`` one per
            channel (the paper's deep CNN: the TDCA network's credit for a feature map reaches
            it at every position).
        activation_derivative: ``[P, N, C, L]`` act'(a) at each conv neuron.

    Returns:
        ``([P, K, C], [P, C])`` laid out as :class:`~tdca_lib.method.bottom_up.PopulationCNN`'s
        conv weight and bias.
    """
    positions = patches.shape[-1]
    if patches.dim() not in (3, 4) or credit.dim() not in (3, 4):
        raise ValueError(f"patches are [P, N, K, L] or [N, K, L] and credits [P, N, C, L] or "
                         f"[P, N, C], got {tuple(patches.shape)} and {tuple(credit.shape)}")
    if credit.dim() == 3:
        credit = credit.unsqueeze(-1)  # the channel's credit, at every position
    elif credit.shape[-1] != positions:
        raise ValueError(f"per-position credits {tuple(credit.shape)} do not match the "
                         f"{positions} positions of patches {tuple(patches.shape)}")
    samples = credit.shape[1]
    if patches.shape[-3] != samples or (patches.dim() == 4 and len(patches) != len(credit)):
        raise ValueError(f"patches {tuple(patches.shape)} and credits {tuple(credit.shape)} "
                         f"differ in population or samples")
    signal = (credit * activation_derivative).expand(*credit.shape[:3], positions)
    if patches.dim() == 3:  # shared: one matrix product over (sample, position) for everyone
        weight = torch.tensordot(patches, signal, dims=([0, 2], [1, 3])).transpose(0, 1)
    else:
        weight = torch.einsum("pnkl,pncl->pkc", patches, signal)
    return weight / samples, signal.sum(-1).mean(1)


def cnn_credits_to_gradient(
    net: PopulationCNN, activations: list[torch.Tensor], credits: torch.Tensor
) -> torch.Tensor:
    """Turn credits into the weight "gradient" of a whole :class:`PopulationCNN`.

    Args:
        net: the bottom-up CNN (conv and hidden FC layers with its activation, linear output).
        activations: its layers' activity from ``net.activations``: ``[P, N, width]`` each.
        credits: ``[P, N, net.credit_count]`` or ``[P, N, net.neuron_count]``: top-down as
            :func:`credits_to_gradient`'s, the output layer's first, then the FC hidden
            layers' (last first), then the conv layer's: one per channel (the TDCA network's,
            applied at every position) or one per channel and position, channel-major as
            ``activations[1]`` (backprop's deltas).

    Returns:
        ``[P, D]`` in ``net``'s parameter layout, to be fed to the inner optimiser as a gradient.
    """
    fc_credits = net.classes + sum(net.hidden)
    if credits.shape[-1] not in (net.credit_count, net.neuron_count):
        raise ValueError(
            f"{net!r} needs {net.credit_count} credits a sample (one per conv channel) or "
            f"{net.neuron_count} (one per conv channel and position), got {credits.shape[-1]}"
        )
    top_down = credits.split([net.classes, *net.hidden[::-1], credits.shape[-1] - fc_credits], -1)
    conv_credit, *fc = top_down[::-1]  # bottom-up order, as the layers
    members, samples = credits.shape[:2]
    conv_activity = activations[1].reshape(members, samples, net.channels, net.positions)
    if conv_credit.shape[-1] != net.channels:  # one per channel and position
        conv_credit = conv_credit.reshape(members, samples, net.channels, net.positions)
    else:  # the channel's credit, at every position
        conv_credit = conv_credit.unsqueeze(-1)
    dw, db = conv_hebbian_update(net.patches(activations[0]),
                                 times_derivative(net.activation, conv_activity, conv_credit))
    parts = [dw.flatten(1), db]
    for k, credit in enumerate(fc, 1):
        signal = credit if k == len(fc) else times_derivative(
            net.activation, activations[k + 1], credit)
        dw, db = hebbian_update(activations[k], signal)
        parts += [dw.flatten(1), db]
    return torch.cat(parts, 1)


def network_credits_to_gradient(
    net: PopulationMLP | PopulationCNN, activations: list[torch.Tensor], credits: torch.Tensor
) -> torch.Tensor:
    """Either bottom-up network's credit rule: :func:`cnn_credits_to_gradient` for a
    :class:`PopulationCNN`, :func:`credits_to_gradient` for a ``PopulationMLP``."""
    rule = cnn_credits_to_gradient if isinstance(net, PopulationCNN) else credits_to_gradient
    return rule(net, activations, credits)


# --- Credit diffusion ---------------------------------------------------------------------

LAYOUTS = ("line", "grid")


def line_positions(n: int) -> torch.Tensor:
    """``[n, 1]``: neurons 0..n-1 on a line, unit spacing."""
    return torch.arange(n, dtype=torch.float32)[:, None]


def grid_positions(rows: int, cols: int | None = None) -> torch.Tensor:
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


def positions(layout: str, neurons: int, sites: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Neuron and site coordinates for ``neurons`` steered by ``sites`` credits.

    ``"line"``: both on a line (10 sites for 100 neurons sit at 4.5, 14.5, ...). ``"grid"``: a
    square grid of neurons (900 = 30 x 30) and a square grid of sites (36 = 6 x 6) over it.
    """
    if layout == "line":
        return line_positions(neurons), _centres(neurons, sites)[:, None]
    if layout == "grid":
        side, site_side = round(neurons**0.5), round(sites**0.5)
        if side * side != neurons or site_side * site_side != sites:
            raise ValueError(f"a grid needs square numbers of neurons and sites, got "
                             f"{neurons} and {sites}")
        axis = _centres(side, site_side)
        r, c = torch.meshgrid(axis, axis, indexing="ij")
        return grid_positions(side), torch.stack([r.flatten(), c.flatten()], -1)
    raise ValueError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")


def diffusion_kernel(sites: torch.Tensor, neurons: torch.Tensor, sigma: float) -> torch.Tensor:
    """``[S, N]``: exp(-|site_i - neuron_j|^2 / sigma^2) (paper eq. 2; C is the credit itself)."""
    return torch.exp(-torch.cdist(sites, neurons) ** 2 / sigma**2)


def diffuse(credits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``credits [..., S]`` at the sites -> ``[..., N]`` at the neurons, through ``[S, N]``."""
    return credits @ weights
