import pytest
import torch

from tdca_lib.tdca_network import PopulationMLP


def test_population_forward_equals_each_member_as_a_torch_mlp():
    net = PopulationMLP([4, 6, 5, 3])
    params = torch.randn(3, net.num_params)
    inputs = torch.randn(3, 7, 4)
    out = net(params, inputs)
    assert out.shape == (3, 7, 3)
    for p in range(3):
        layers = net.unflatten(params[p : p + 1])
        mlp = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5),
                                  torch.nn.Tanh(), torch.nn.Linear(5, 3))
        with torch.no_grad():
            for linear, (w, b) in zip(mlp[::2], layers):
                linear.weight.copy_(w[0].T)
                linear.bias.copy_(b[0, 0])
            assert torch.allclose(mlp(inputs[p]), out[p], atol=1e-6)


def test_shared_inputs_broadcast_over_the_population():
    net = PopulationMLP([2, 3, 2])
    params = torch.randn(4, net.num_params)
    x = torch.randn(5, 2)
    assert torch.allclose(net(params, x), net(params, x.expand(4, 5, 2)))


def test_paper_tdca_network_has_4970_parameters():
    assert PopulationMLP([20, 30, 30, 110]).num_params == 4970


def test_init_is_bounded_by_fan_in_and_seeded():
    net = PopulationMLP([100, 10])
    a = net.init(torch.Generator().manual_seed(0))
    assert a.shape == (net.num_params,) and a.abs().max() <= 0.1
    assert torch.equal(a, net.init(torch.Generator().manual_seed(0)))


def test_wrong_parameter_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\[P, 9\]"):
        PopulationMLP([2, 3])(torch.zeros(2, 8), torch.zeros(1, 2))
