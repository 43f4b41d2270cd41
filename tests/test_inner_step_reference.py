"""The inner step against a plain reference: the code as it was before the speed-ups of
issue 15 (P narrow ``baddbmm`` over the expanded inputs, the credit rule layer by layer joined
by ``torch.cat``, the default ``torch.optim.Adam``). Float64 directions must agree to rounding;
float32 training steps (what evolution runs) to float32 tolerance. For the MLP, the MLP with
diffused credits, and the deep CNN."""

import pytest
import torch
import torch.nn.functional as F

from tdca_lib.method import credit
from tdca_lib.method.bottom_up import PopulationCNN
from tdca_lib.method.inner_loop import tdca_direction, train
from tdca_lib.method.population import PopulationMLP

CLASSES = 10


def reference_mlp(net: PopulationMLP, theta, inputs):
    """Every layer's activity, each layer one ``baddbmm`` over the population."""
    h = inputs.expand(len(theta), -1, -1) if inputs.dim() == 2 else inputs
    layers, out = net.unflatten(theta), [h]
    for k, (weight, bias) in enumerate(layers):
        h = torch.baddbmm(bias, h, weight)
        if k < len(layers) - 1:
            h = torch.tanh(h)
        out.append(h)
    return out


def reference_rule(inputs, credit, slope=1.0):
    """Batch means of input x credit x act'(a) and of credit x act'(a)."""
    signal = credit * slope
    return (inputs.transpose(1, 2) @ signal / inputs.shape[1]).flatten(1), signal.mean(1)


def reference_gradient(net, activations, credits):
    """The whole network's update, top-down credits -> ``[P, D]``."""
    if isinstance(net, PopulationCNN):
        widths = [net.classes, *net.hidden[::-1], net.channels]
    else:
        widths = list(net.sizes[1:][::-1])
    per_layer = credits.split(widths, -1)[::-1]  # bottom-up
    parts, first_fc = [], 0
    if isinstance(net, PopulationCNN):  # a channel's credit reaches it at every position
        members, samples = credits.shape[:2]
        patches = F.unfold(activations[0][0].reshape(-1, *net.image_shape), net.kernel,
                           stride=net.stride)  # [N, K, L]
        activity = activations[1].reshape(members, samples, net.channels, net.positions)
        signal = per_layer[0][..., None] * (1 - activity**2)
        parts += [torch.einsum("nkl,pncl->pkc", patches, signal).flatten(1) / samples,
                  signal.sum(-1).mean(1)]
        first_fc = 1
    for k in range(first_fc, len(per_layer)):
        last = k == len(per_layer) - 1
        slope = 1.0 if last else 1 - activations[k + 1] ** 2
        parts += list(reference_rule(activations[k], per_layer[k], slope))
    return torch.cat(parts, 1)


def reference_direction(net, tdca, beta, x, y, kernel=None):
    one_hot = F.one_hot(y, CLASSES).to(x.dtype)

    def direction(theta):
        if isinstance(net, PopulationCNN):
            activations = net.activations(theta, x)
        else:
            activations = reference_mlp(net, theta, x)
        probs = torch.softmax(activations[-1], -1)
        state = torch.cat([probs, one_hot.expand(len(theta), -1, -1)], -1)
        credits = reference_mlp(tdca, beta, state)[-1]
        if kernel is not None:
            credits = torch.cat([credits[..., :CLASSES], credits[..., CLASSES:] @ kernel], -1)
        return reference_gradient(net, activations, credits)

    return direction


def reference_train(theta, direction, steps, lr, max_norm):
    theta = theta.clone()
    optimizer = torch.optim.Adam([theta], lr=lr)
    for _ in range(steps):
        grad = direction(theta)
        norm = grad.norm(dim=1, keepdim=True)
        theta.grad = grad * (max_norm / (norm + 1e-6)).clamp(max=1.0)
        optimizer.step()
    return theta


def problem(kind: str, dtype, members=3, samples=40, features=784, hidden=100, seed=0):
    """(bottom-up network, TDCA network, kernel or None, theta, beta, x, y) of one kind."""
    gen = torch.Generator().manual_seed(seed)
    kernel = None
    if kind == "cnn":
        net = PopulationCNN()  # MNIST's 1x28x28 -> 8 channels -> 100 -> 100 -> 10
        credits = net.credit_count
    else:
        net = PopulationMLP([features, hidden, CLASSES])
        credits = net.credit_count
        if kind == "diffusion":
            neurons, sites = credit.positions("line", hidden, 10)
            kernel = credit.diffusion_kernel(sites, neurons, sigma=5.0).to(dtype)
            credits = CLASSES + 10
    tdca = PopulationMLP([2 * CLASSES, 30, 30, credits])
    theta = torch.stack([net.init(gen) for _ in range(members)]).to(dtype) * 0.1
    beta = (torch.randn(members, tdca.num_params, generator=gen) * 0.3).to(dtype)
    x = torch.rand(samples, net.sizes[0] if kind != "cnn" else net.features, generator=gen)
    y = torch.randint(0, CLASSES, (samples,), generator=gen)
    return net, tdca, kernel, theta, beta, x.to(dtype), y


@pytest.mark.parametrize("kind", ["mlp", "diffusion", "cnn"])
def test_direction_equals_the_reference_to_rounding_in_float64(kind):
    net, tdca, kernel, theta, beta, x, y = problem(kind, torch.float64)
    ours = tdca_direction(net, tdca, beta, x, y, credit_kernel=kernel)(theta)
    theirs = reference_direction(net, tdca, beta, x, y, kernel)(theta)
    scale = theirs.abs().max()
    assert ours.shape == theirs.shape and scale > 1e-3
    assert torch.allclose(ours, theirs, rtol=1e-10, atol=1e-13 * scale)


@pytest.mark.parametrize("kind", ["mlp", "diffusion", "cnn"])
def test_float32_training_steps_equal_the_reference_to_float32_tolerance(kind):
    net, tdca, kernel, theta, beta, x, y = problem(kind, torch.float32, samples=200)
    ours = train(theta, tdca_direction(net, tdca, beta, x, y, credit_kernel=kernel), 5, 0.01, 1.0)
    theirs = reference_train(theta, reference_direction(net, tdca, beta, x, y, kernel), 5, 0.01,
                             1.0)
    assert (theirs - theta).abs().max() > 0.04  # five steps of 0.01 moved the networks
    assert (ours - theirs).abs().max() < 1e-5  # here: 6e-8 to 2e-7


def test_per_member_sample_major_inputs_keep_plain_baddbmm_bit_for_bit():
    # RL's networks read their own states, sample-major: they must run exactly as they were
    # evolved (an episode's return can turn on rounding), whatever the supervised layout does.
    gen = torch.Generator().manual_seed(3)
    net = PopulationMLP([4, 16, 16, 3])
    theta = torch.randn(5, net.num_params, generator=gen)
    states = torch.randn(5, 200, 4, generator=gen)  # more samples than any layer's width
    ours, theirs = net.activations(theta, states), reference_mlp(net, theta, states)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_shared_inputs_run_feature_major_with_the_same_numbers():
    from tdca_lib.method.population import is_feature_major

    gen = torch.Generator().manual_seed(4)
    net = PopulationMLP([30, 16, 10])
    theta = torch.randn(3, net.num_params, generator=gen).double()
    x = torch.randn(50, 30, generator=gen).double()
    ours, theirs = net.activations(theta, x), reference_mlp(net, theta, x)
    assert all(is_feature_major(a) for a in ours[1:])
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-12) for a, b in zip(ours, theirs))
