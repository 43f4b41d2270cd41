import pytest
import torch

from tdca_lib.method.inner_loop import bp_direction, train
from tdca_lib.method.population import PopulationMLP
from tdca_lib.method.rules import (
    feedback_credits,
    feedback_direction,
    output_error,
    random_feedback,
)


def setting(sizes=(6, 5, 4, 3)):
    torch.manual_seed(0)
    net = PopulationMLP(list(sizes))
    theta = torch.randn(2, net.num_params, dtype=torch.float64)
    x = torch.randn(16, sizes[0], dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (16,))
    return net, theta, x, y


def transposed_weights(net, theta):
    """FA's matrices set to backprop's: W_(k+1)^T for every hidden layer k (member 0's)."""
    return [weight[0].T for weight, _ in net.unflatten(theta)[1:]]


def test_fa_with_the_transposed_weights_is_backprop_exactly():
    net, theta, x, y = setting()
    theta = theta[:1]
    fa = feedback_direction(net, x, y, "fa", transposed_weights(net, theta))(theta)
    assert torch.allclose(fa, bp_direction(net, x, y)(theta), rtol=1e-12, atol=1e-12)


def test_dfa_credits_are_the_output_error_through_one_matrix_per_layer():
    net, theta, x, y = setting()
    feedback = random_feedback(net, "dfa", seed=3)
    activations = net.activations(theta, x)
    credits = feedback_credits(net, activations, y, "dfa", feedback)
    error = output_error(activations[-1], y)
    classes, top, bottom = credits.split([3, 4, 5], -1)  # top-down
    assert torch.equal(classes, error)
    assert torch.allclose(top, error @ feedback[1].double())
    assert torch.allclose(bottom, error @ feedback[0].double())


def test_feedback_matrices_are_fixed_by_the_seed_and_shaped_per_rule():
    net = PopulationMLP([784, 100, 10])
    fa, dfa = random_feedback(net, "fa"), random_feedback(net, "dfa")
    assert [b.shape for b in fa] == [(10, 100)] and [b.shape for b in dfa] == [(10, 100)]
    deep = PopulationMLP([8, 7, 6, 3])
    assert [b.shape for b in random_feedback(deep, "fa")] == [(6, 7), (3, 6)]
    assert [b.shape for b in random_feedback(deep, "dfa")] == [(3, 7), (3, 6)]
    assert torch.equal(random_feedback(net, "fa", 1)[0], random_feedback(net, "fa", 1)[0])
    assert not torch.equal(random_feedback(net, "fa", 1)[0], random_feedback(net, "fa", 2)[0])
    with pytest.raises(ValueError, match="fa, dfa"):
        random_feedback(net, "kp")


@pytest.mark.parametrize("rule", ["fa", "dfa"])
def test_feedback_rules_train_a_zero_initialised_network(rule):
    # Backprop's hidden credits at zero are the output error through zero weights: nothing.
    # Random feedback reaches the hidden layer at once.
    net, _, x, y = setting((6, 8, 3))
    x, theta = x.float(), torch.zeros(1, net.num_params)
    hidden = slice(0, 6 * 8)
    assert bp_direction(net, x, y)(theta)[0, hidden].abs().sum() == 0
    direction = feedback_direction(net, x, y, rule, random_feedback(net, rule))
    assert direction(theta)[0, hidden].abs().sum() > 0
    trained = train(theta, direction, 30, 0.05, 1.0)
    loss = lambda t: torch.nn.functional.cross_entropy(net(t, x)[0], y)  # noqa: E731
    assert loss(trained) < loss(theta) - 0.1
