import pytest
import torch

from tdca_lib.method.credit import hebbian_update
from tdca_lib.method.population import PopulationMLP


def test_backprop_delta_as_credit_reproduces_autograds_gradient_exactly():
    torch.manual_seed(0)
    net = PopulationMLP([6, 5, 3])
    params = torch.randn(2, net.num_params, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 8, 6, dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 8))

    (w1, b1), (w2, b2) = net.unflatten(params)
    hidden = torch.tanh(torch.baddbmm(b1, x, w1))
    hidden.retain_grad()
    logits = torch.baddbmm(b2, hidden, w2)
    logits.retain_grad()
    # mean cross-entropy per member, summed over members (members are independent)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(),
                                             reduction="sum") / 8
    loss.backward()
    grads = net.unflatten(params.grad)

    # Backprop's deltas per sample: dL_n/dlogits = softmax - onehot, dL_n/dhidden = that @ W2^T
    output_credit = logits.grad * 8
    hidden_credit = hidden.grad * 8
    dw2, db2 = hebbian_update(hidden, output_credit)
    dw1, db1 = hebbian_update(x, hidden_credit, 1 - hidden**2)
    for (gw, gb), (hw, hb) in zip(grads, [(dw1, db1), (dw2, db2)]):
        assert torch.allclose(gw, hw, rtol=1e-12, atol=1e-12)
        assert torch.allclose(gb[:, 0], hb, rtol=1e-12, atol=1e-12)


def test_shapes_and_zero_credit_means_no_change():
    dw, db = hebbian_update(torch.randn(4, 10, 7), torch.zeros(4, 10, 3))
    assert dw.shape == (4, 7, 3) and db.shape == (4, 3)
    assert not dw.any() and not db.any()


def test_times_derivative_is_the_credit_times_the_activation_slope():
    from tdca_lib.method.credit import times_derivative

    a = torch.linspace(-3, 3, 61, dtype=torch.float64).reshape(1, 61, 1)
    credit = torch.randn(1, 61, 1, dtype=torch.float64)
    for name, act in (("tanh", torch.tanh), ("relu", torch.relu)):
        x = a.clone().requires_grad_(True)
        slope = torch.autograd.grad(act(x).sum(), x)[0]  # act'(a) by autograd
        assert torch.allclose(times_derivative(name, act(a), credit), credit * slope)
    with pytest.raises(ValueError, match="tanh, relu"):
        times_derivative("gelu", a, credit)
