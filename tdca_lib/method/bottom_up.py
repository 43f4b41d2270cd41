"""The bottom-up networks: the networks that learn (paper: "bottom-up network"), batched over a
population of P networks trained at once. Their parameters are a flat ``[P, D]`` tensor; their
credit rules are in :mod:`tdca_lib.method.credit`.

- The 3-layer network of the supervised tasks, ``features-100-10`` (tanh): :func:`network`
  with ``"mlp"``.
- Table 2's Deep FC (four hidden layers of 100): a plain PopulationMLP (:func:`deep_fc`).
- Table 2's Deep CNN: one convolutional layer and three fully connected ones
  (:class:`PopulationCNN`).
- The RL agent, ``obs-hidden-actions`` (tanh): :func:`agent`.

Images come flattened to ``[N, features]`` (as :mod:`tdca_lib.machinery.data` stores them), shared
by every member, or one batch per member ``[P, N, features]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .population import ACTIVATIONS, LayeredPopulation, PopulationMLP, is_shared

CLASSES = 10
ARCHITECTURES = ("mlp", "deep_fc", "deep_cnn")
ARCHITECTURE_TITLES = {"mlp": "3-layer FC", "deep_fc": "Deep FC", "deep_cnn": "Deep CNN"}
IMAGE_SHAPES = {784: (1, 28, 28), 3072: (3, 32, 32)}  # MNIST / Fashion-MNIST, CIFAR-10
INITS = ("kaiming", "zero")
ZERO_SCALE = 1e-16  # "Zero" init: uniform within 1e-16 of the origin (paper)
DEEP_FC_HIDDEN = (100, 100, 100, 100)  # Table 2's Deep FC: four hidden layers of 100


def deep_fc(features: int, classes: int = CLASSES, activation: str = "tanh") -> PopulationMLP:
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
        classes: int = CLASSES,
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


def network(architecture: str, features: int, hidden: int = 100) -> PopulationMLP | PopulationCNN:
    """The bottom-up network ``architecture`` (one of :data:`ARCHITECTURES`) for inputs of
    ``features``; ``hidden``: the 3-layer network's hidden width (the deep ones have theirs)."""
    if architecture == "mlp":
        return PopulationMLP([features, hidden, CLASSES])
    if architecture == "deep_fc":
        return deep_fc(features)
    if architecture == "deep_cnn":
        if features not in IMAGE_SHAPES:
            raise ValueError(f"the Deep CNN needs images: no image shape for {features} features")
        return PopulationCNN(IMAGE_SHAPES[features])
    raise ValueError(f"unknown architecture {architecture!r}; valid: {', '.join(ARCHITECTURES)}")


def initial(net: PopulationMLP | PopulationCNN, population: int, scheme: str,
            seed: int) -> torch.Tensor:
    """``[P, D]`` initial parameters: ``"kaiming"`` (normal, std sqrt(2 / fan_in), zero bias)
    or ``"zero"`` (uniform within 1e-16 of the origin); member p is seeded by ``seed + p``."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; valid: {', '.join(INITS)}")
    rows = []
    for p in range(population):
        gen = torch.Generator().manual_seed(seed + p)
        if scheme == "zero":
            rows.append((torch.rand(net.num_params, generator=gen) * 2 - 1) * ZERO_SCALE)
            continue
        parts = []
        for fan_in, fan_out in net.layer_shapes:
            parts += [torch.randn(fan_in * fan_out, generator=gen) * math.sqrt(2 / fan_in),
                      torch.zeros(fan_out)]
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def agent(observations: int, hidden: int, actions: int) -> PopulationMLP:
    """The RL agent: ``observations-hidden-actions``, tanh (logits, or pre-tanh actions)."""
    return PopulationMLP([observations, hidden, actions])
