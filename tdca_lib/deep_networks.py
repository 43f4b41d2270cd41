"""The deep bottom-up networks of the paper's Table 2 ("Deep FC and Deep CNN"), batched over the
PGPE population like :class:`~tdca_lib.tdca_network.PopulationMLP`.

- Deep FC: four hidden layers of 100 and a linear output, a plain ``PopulationMLP``
  (:func:`deep_fc`).
- Deep CNN: one convolutional layer and three fully connected ones (:class:`PopulationCNN`).

Both take images flattened to ``[N, features]`` (as :mod:`tdca_lib.data` stores them), shared by
every member, or one batch per member ``[P, N, features]``; parameters are a flat ``[P, D]``
tensor. Their credit rules are in :mod:`tdca_lib.credit`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .tdca_network import ACTIVATIONS, LayeredPopulation, PopulationMLP, is_shared

DEEP_FC_HIDDEN = (100, 100, 100, 100)  # Table 2's Deep FC: four hidden layers of 100


def deep_fc(features: int, classes: int = 10, activation: str = "tanh") -> PopulationMLP:
    """The Deep FC network ``features-100-100-100-100-classes``."""
    return PopulationMLP([features, *DEEP_FC_HIDDEN, classes], activation)


class PopulationCNN(LayeredPopulation):
    """conv (act) -> flatten -> FC ``hidden[0]`` (act) -> FC ``hidden[1]`` (act) -> linear
    ``classes``: one convolutional and three fully connected layers (with the default hidden).

    The convolution has ``channels`` feature maps of ``kernel x kernel``, stride ``stride``, no
    padding. Our choice of defaults (the paper does not give them): 8 channels, kernel 5,
    stride 2, so MNIST's 1x28x28 becomes 8x12x12 (1152 units) and CIFAR-10's 3x32x32 8x14x14
    (1568): cheap on a CPU, and 126,618 / 168,618 parameters with two hidden layers of 100.

    Parameters are a flat ``[P, D]`` tensor laid out as PopulationMLP's, layer by layer
    (weight ``[fan_in, fan_out]``, bias ``[fan_out]``) with :attr:`layer_shapes`; the conv
    layer's weight is ``[C * kernel * kernel, channels]``, its rows in ``F.unfold``'s patch
    order (input channel, kernel row, kernel column). The conv layer's activity is flattened
    channel-major, ``[channels, H', W']``, as ``torch.nn.Flatten`` on ``NCHW`` would.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        channels: int = 8,
        kernel: int = 5,
        stride: int = 2,
        hidden: tuple[int, ...] = (100, 100),
        classes: int = 10,
        activation: str = "tanh",
    ):
        if len(image_shape) != 3:
            raise ValueError(f"image_shape is (C, H, W), got {image_shape}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
        c, h, w = (int(s) for s in image_shape)
        if min(channels, kernel, stride, classes, *hidden) < 1:
            raise ValueError("channels, kernel, stride, hidden and classes must be positive")
        if kernel > min(h, w):
            raise ValueError(f"kernel {kernel} is larger than the {h}x{w} image")
        self.image_shape = (c, h, w)
        self.channels, self.kernel, self.stride = int(channels), int(kernel), int(stride)
        self.hidden = tuple(int(s) for s in hidden)
        self.classes = int(classes)
        self.activation = activation
        self.features = c * h * w
        self.conv_shape = (self.channels, (h - kernel) // stride + 1, (w - kernel) // stride + 1)
        self.positions = self.conv_shape[1] * self.conv_shape[2]  # L: where a kernel sits
        self.patch_size = c * kernel * kernel  # K: the inputs one conv neuron sees
        # Each layer's width (the conv layer's counts every position), bottom-up.
        self.widths = (self.channels * self.positions, *self.hidden, self.classes)
        fan_ins = (self.patch_size, *self.widths[:-1])
        fan_outs = (self.channels, *self.widths[1:])
        self.layer_shapes = list(zip(fan_ins, fan_outs))
        self.num_params = sum(i * o + o for i, o in self.layer_shapes)

    @property
    def credit_count(self) -> int:
        """Credits a sample the TDCA network emits: one per FC neuron, one per conv channel."""
        return self.classes + sum(self.hidden) + self.channels

    @property
    def neuron_count(self) -> int:
        """Neurons besides the input, the conv layer's counted at every position: as many
        credits a sample as backprop's deltas (the per-position credit)."""
        return sum(self.widths)

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        conv = "x".join(map(str, self.conv_shape))
        sizes = "-".join(map(str, (*self.hidden, self.classes)))
        return (f"PopulationCNN({c}x{h}x{w} -conv{self.kernel}/{self.stride}-> {conv} -> "
                f"{sizes}, {self.activation}, {self.num_params} parameters)")

    def _check_inputs(self, inputs: torch.Tensor, members: int) -> None:
        if inputs.dim() not in (2, 3) or inputs.shape[-1] != self.features:
            raise ValueError(
                f"{self!r} expects inputs [N, {self.features}] or [P, N, {self.features}] "
                f"(images {'x'.join(map(str, self.image_shape))} flattened), "
                f"got {tuple(inputs.shape)}"
            )
        if inputs.dim() == 3 and len(inputs) != members:
            raise ValueError(f"inputs are for {len(inputs)} members, parameters for {members}")

    def patches(self, inputs: torch.Tensor) -> torch.Tensor:
        """What each conv neuron sees: ``inputs [N, F]`` (or ``[P, N, F]`` expanded from it) ->
        ``[N, K, L]``; per-member ``[P, N, F]`` -> ``[P, N, K, L]`` (K = C * kernel^2 inputs at
        each of L positions, ``F.unfold``'s layout)."""
        if is_shared(inputs):
            images = inputs[0] if inputs.dim() == 3 else inputs
            return F.unfold(images.reshape(-1, *self.image_shape), self.kernel,
                            stride=self.stride)
        members, samples = inputs.shape[:2]
        unfolded = F.unfold(inputs.reshape(-1, *self.image_shape), self.kernel, stride=self.stride)
        return unfolded.view(members, samples, self.patch_size, self.positions)

    def conv(self, weight: torch.Tensor, bias: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """The conv layer's pre-activation ``[P, N, channels * L]`` (channel-major) from its
        ``weight [P, K, channels]``, ``bias [P, 1, channels]`` and ``inputs``."""
        members, (c, kernel) = len(weight), (self.image_shape[0], self.kernel)
        # All members' kernels as one conv's output channels: [P * channels, C, k, k]
        kernels = weight.transpose(1, 2).reshape(members * self.channels, c, kernel, kernel)
        if is_shared(inputs):
            images = inputs[0] if inputs.dim() == 3 else inputs
            out = F.conv2d(images.reshape(-1, *self.image_shape), kernels, bias.reshape(-1),
                           stride=self.stride)
        else:  # each member its own images: member p's C input maps are group p
            samples = inputs.shape[1]
            images = inputs.reshape(members, samples, *self.image_shape).transpose(0, 1)
            out = F.conv2d(images.reshape(samples, members * c, *self.image_shape[1:]), kernels,
                           bias.reshape(-1), stride=self.stride, groups=members)
        # [N, P * channels, H', W'] -> [P, N, channels * H' * W']
        return out.view(len(out), members, -1).transpose(0, 1)

    def __call__(self, params: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``params [P, D]``, ``inputs [P, N, F]`` (or ``[N, F]``, shared) -> logits
        ``[P, N, classes]``."""
        return self.activations(params, inputs)[-1]

    def activations(self, params: torch.Tensor, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's activity ``[P, N, width]``: the input ``[P, N, F]``, the conv layer
        ``[P, N, channels * L]`` (channel-major), each hidden layer, the output (logits)."""
        layers = self.unflatten(params)
        self._check_inputs(inputs, len(params))
        act = ACTIVATIONS[self.activation]
        x = inputs.expand(len(params), *inputs.shape[-2:]) if inputs.dim() == 2 else inputs
        h = act(self.conv(*layers[0], x))
        out = [x, h]
        for k, (weight, bias) in enumerate(layers[1:], 1):
            h = torch.baddbmm(bias, h, weight)
            if k < len(layers) - 1:
                h = act(h)
            out.append(h)
        return out
