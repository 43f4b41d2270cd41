import pytest
import torch

from tdca_lib.method import inner_loop
from tdca_lib.method.bottom_up import PopulationCNN, deep_fc
from tdca_lib.method.credit import (
    cnn_credits_to_gradient,
    conv_hebbian_update,
    credits_to_gradient,
    network_credits_to_gradient,
)
from tdca_lib.method.inner_loop import bp_direction, evaluate, population_cross_entropy, train
from tdca_lib.method.population import PopulationMLP

# A small CNN with every dimension different (2x9x8 images, 3 channels of 3x3, stride 2 -> 3x4x3)
SMALL = dict(image_shape=(2, 9, 8), channels=3, kernel=3, stride=2, hidden=(5, 4), classes=3)


def small_problem(members=2, samples=6, seed=0, **geometry):
    """A float64 CNN, its parameters ``[P, D]``, shared inputs ``[N, F]`` and labels ``[N]``."""
    gen = torch.Generator().manual_seed(seed)
    net = PopulationCNN(**(geometry or SMALL))
    theta = torch.randn(members, net.num_params, generator=gen, dtype=torch.float64) * 0.5
    x = torch.randn(samples, net.features, generator=gen, dtype=torch.float64)
    y = torch.randint(0, net.classes, (samples,), generator=gen)
    return net, theta, x, y


def as_torch_modules(net: PopulationCNN, params: torch.Tensor) -> torch.nn.Sequential:
    """One member ``params [D]`` as a plain Conv2d + Linear network (float64)."""
    c = net.image_shape[0]
    modules = [torch.nn.Conv2d(c, net.channels, net.kernel, net.stride), torch.nn.Tanh(),
               torch.nn.Flatten()]
    for fan_in, fan_out in net.layer_shapes[1:]:
        modules += [torch.nn.Linear(fan_in, fan_out), torch.nn.Tanh()]
    model = torch.nn.Sequential(*modules[:-1]).double()  # linear output
    layers = net.unflatten(params[None])
    with torch.no_grad():
        conv_weight, conv_bias = layers[0]
        model[0].weight.copy_(conv_weight[0].T.reshape(net.channels, c, net.kernel, net.kernel))
        model[0].bias.copy_(conv_bias[0, 0])
        for linear, (weight, bias) in zip(model[3::2], layers[1:]):
            linear.weight.copy_(weight[0].T)
            linear.bias.copy_(bias[0, 0])
    return model


def backprop_deltas(net, theta, x, y):
    """Activations and backprop's per-sample deltas dL_n/dh, top-down (conv per position)."""
    theta = theta.detach().requires_grad_(True)
    activations = net.activations(theta, x)
    for a in activations[1:]:
        a.retain_grad()
    population_cross_entropy(activations[-1], y).sum().backward()  # members are independent
    # the credit rule averages over samples, so the credit is the per-sample delta: N x grad
    deltas = torch.cat([a.grad * len(y) for a in activations[:0:-1]], -1)
    return [a.detach() for a in activations], deltas


def test_mnist_and_cifar_defaults_shapes_and_counts():
    mnist, cifar = PopulationCNN(), PopulationCNN((3, 32, 32))
    assert mnist.conv_shape == (8, 12, 12) and cifar.conv_shape == (8, 14, 14)
    assert mnist.num_params == 126_618 and cifar.num_params == 168_618
    assert mnist.credit_count == 10 + 100 + 100 + 8 == cifar.credit_count
    assert mnist.neuron_count == 8 * 144 + 210
    assert "126618 parameters" in repr(mnist)
    theta = torch.stack([mnist.init(torch.Generator().manual_seed(s)) for s in (0, 1)])
    activations = mnist.activations(theta, torch.rand(5, 784))
    assert [tuple(a.shape) for a in activations] == [
        (2, 5, 784), (2, 5, 1152), (2, 5, 100), (2, 5, 100), (2, 5, 10)]
    assert mnist(theta, torch.rand(2, 5, 784)).shape == (2, 5, 10)


def test_deep_fc_is_the_four_hidden_layer_mlp():
    net = deep_fc(784)
    assert net.sizes == (784, 100, 100, 100, 100, 10) and net.num_params == 109_810
    assert sum(net.sizes[1:]) == 410  # its credits a sample: one per non-input neuron


def test_init_is_bounded_by_each_layers_fan_in_and_seeded():
    net = PopulationCNN(**SMALL)
    a = net.init(torch.Generator().manual_seed(0))
    assert torch.equal(a, net.init(torch.Generator().manual_seed(0)))
    for (fan_in, _), (weight, bias) in zip(net.layer_shapes, net.unflatten(a[None])):
        assert weight.abs().max() <= fan_in**-0.5 and bias.abs().max() <= fan_in**-0.5


@pytest.mark.parametrize("per_member", [False, True])
def test_population_forward_equals_each_member_as_torch_conv2d_and_linear(per_member):
    net, theta, x, _ = small_problem(members=3)
    inputs = torch.randn(3, *x.shape, dtype=torch.float64) if per_member else x
    out = net(theta, inputs)
    assert out.shape == (3, 6, 3)
    for p in range(3):
        images = (inputs[p] if per_member else x).view(-1, *net.image_shape)
        model = as_torch_modules(net, theta[p])
        assert torch.allclose(model(images), out[p], rtol=1e-12, atol=1e-12)
        conv = torch.tanh(model[0](images)).flatten(1)  # channel-major, as torch flattens
        assert torch.allclose(net.activations(theta, inputs)[1][p], conv, atol=1e-12)


@pytest.mark.parametrize("geometry", [SMALL, dict(hidden=(7, 6))], ids=["small", "mnist"])
@pytest.mark.parametrize("per_member", [False, True], ids=["shared", "per-member"])
def test_backprop_deltas_as_credits_reproduce_autograds_gradient_for_every_layer(
    geometry, per_member
):
    """The credit rule with backprop's deltas (per position for the conv layer) is backprop."""
    net, theta, x, y = small_problem(samples=5, **geometry)
    inputs = torch.randn(2, *x.shape, dtype=torch.float64) if per_member else x
    activations, deltas = backprop_deltas(net, theta, inputs, y)
    assert deltas.shape[-1] == net.neuron_count

    ours = cnn_credits_to_gradient(net, activations, deltas)
    theta = theta.detach().requires_grad_(True)
    autograd = torch.autograd.grad(population_cross_entropy(net(theta, inputs), y).sum(), theta)[0]
    for k, (mine, theirs) in enumerate(zip(net.unflatten(ours), net.unflatten(autograd))):
        for a, b in zip(mine, theirs):  # weight, bias of layer k (0: the conv layer)
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-12), f"layer {k}"
    if not per_member:
        assert torch.allclose(ours, bp_direction(net, x, y)(theta.detach()), rtol=1e-10,
                              atol=1e-12)


def test_conv_rule_with_deltas_is_torchs_conv2d_weight_gradient():
    """An independent reference for the conv layer alone: torch.nn.grad.conv2d_weight."""
    net, theta, x, y = small_problem(members=1)
    activations, deltas = backprop_deltas(net, theta, x, y)
    conv_activity = activations[1].view(1, 6, net.channels, net.positions)
    conv_delta = deltas[..., -net.channels * net.positions :].view_as(conv_activity)
    dw, db = conv_hebbian_update(net.patches(x), conv_delta, 1 - conv_activity**2)
    images = x.view(-1, *net.image_shape)
    signal = (conv_delta * (1 - conv_activity**2))[0].view(6, *net.conv_shape) / 6
    weight_shape = (net.channels, net.image_shape[0], net.kernel, net.kernel)
    reference = torch.nn.grad.conv2d_weight(images, weight_shape, signal, stride=net.stride)
    assert torch.allclose(dw[0], reference.flatten(1).T, rtol=1e-10, atol=1e-12)
    assert torch.allclose(db[0], signal.sum((0, 2, 3)), rtol=1e-10, atol=1e-12)


def test_per_channel_credits_are_per_position_credits_constant_over_positions():
    net, theta, x, _ = small_problem()
    activations = net.activations(theta, x)
    credits = torch.randn(2, 6, net.credit_count, dtype=torch.float64)
    fc, conv = credits[..., : -net.channels], credits[..., -net.channels :]
    per_position = torch.cat([fc, conv[..., None].expand(-1, -1, -1, net.positions).flatten(2)],
                             -1)
    assert per_position.shape[-1] == net.neuron_count
    assert torch.allclose(cnn_credits_to_gradient(net, activations, credits),
                          cnn_credits_to_gradient(net, activations, per_position), atol=1e-12)

    patches = net.patches(x)
    slope = torch.rand(2, 6, net.channels, net.positions, dtype=torch.float64)
    channel = torch.randn(2, 6, net.channels, dtype=torch.float64)
    expected = conv_hebbian_update(patches, channel[..., None].expand_as(slope), slope)
    for a, b in zip(conv_hebbian_update(patches, channel, slope), expected):
        assert torch.allclose(a, b, atol=1e-12)


def test_shared_and_per_member_patches_give_the_same_update():
    net, theta, x, _ = small_problem()
    credits = torch.randn(2, 6, net.credit_count, dtype=torch.float64)
    shared = cnn_credits_to_gradient(net, net.activations(theta, x), credits)
    copies = x.expand(2, -1, -1).clone()  # the same images, stored per member
    assert torch.allclose(shared, cnn_credits_to_gradient(net, net.activations(theta, copies),
                                                          credits), atol=1e-12)
    assert not cnn_credits_to_gradient(net, net.activations(theta, x), credits * 0).any()


def test_bad_shapes_are_refused_with_clear_messages():
    net, theta, x, _ = small_problem()
    activations = net.activations(theta, x)
    with pytest.raises(ValueError, match=f"{net.credit_count} credits a sample .* or "
                                         f"{net.neuron_count}"):
        cnn_credits_to_gradient(net, activations, torch.zeros(2, 6, net.credit_count + 1))
    with pytest.raises(ValueError, match=rf"\[P, {net.num_params}\]"):
        net(theta[:, 1:], x)
    with pytest.raises(ValueError, match=rf"inputs \[N, {net.features}\].*2x9x8"):
        net(theta, x[:, 1:])
    with pytest.raises(ValueError, match="inputs are for 3 members, parameters for 2"):
        net(theta, x.expand(3, -1, -1))
    with pytest.raises(ValueError, match="positions"):
        conv_hebbian_update(net.patches(x), torch.zeros(2, 6, 3, net.positions + 1))
    with pytest.raises(ValueError, match="population or samples"):
        conv_hebbian_update(net.patches(x), torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="larger than the 9x8 image"):
        PopulationCNN((1, 9, 8), kernel=9)
    with pytest.raises(ValueError, match="unknown activation"):
        PopulationCNN(activation="gelu")


def test_inner_loop_bp_direction_evaluate_and_train_work_unchanged():
    net, theta, x, y = small_problem(members=2, samples=12)
    accuracy, loss = evaluate(net, theta, x, y, chunk=5)
    logits = net(theta, x)
    assert torch.allclose(loss, population_cross_entropy(logits, y).to(loss.dtype))
    assert torch.equal(accuracy, (logits.argmax(-1) == y).float().mean(1).to(accuracy.dtype))
    trained = train(theta, bp_direction(net, x, y), steps=30, lr=0.05, max_norm=1.0)
    assert (evaluate(net, trained, x, y)[1] < loss).all()


def test_tdca_direction_works_for_both_networks_with_the_dispatching_rule():
    net, theta, x, y = small_problem(samples=8)
    tdca = PopulationMLP([2 * net.classes, 5, net.credit_count])
    beta = torch.randn(2, tdca.num_params, dtype=torch.float64)
    update = inner_loop.tdca_direction(net, tdca, beta, x, y, classes=net.classes)(theta)
    assert update.shape == theta.shape and update.isfinite().all() and update.any()

    mlp = PopulationMLP([net.features, 4, 4, 3])
    activations = mlp.activations(torch.randn(2, mlp.num_params), x.float())
    credits = torch.randn(2, 8, sum(mlp.sizes[1:]))
    assert torch.equal(network_credits_to_gradient(mlp, activations, credits),
                       credits_to_gradient(mlp, activations, credits))
