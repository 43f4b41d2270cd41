import pytest
import torch

from tdca_lib.method.population import PopulationMLP
from tdca_lib.method.recurrent_tdca import PopulationGRU


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


def test_population_gru_equals_torch_grucell_member_by_member():
    torch.manual_seed(0)
    gru = PopulationGRU(inputs=5, hidden=4, outputs=3)
    params = torch.randn(2, gru.num_params, dtype=torch.float64)
    weights = gru.unflatten(params)
    xs = torch.randn(6, 2, 5, dtype=torch.float64)
    state = gru.start(2).double()
    for x in xs:
        state = gru.step(weights, state, x)
    for p in range(2):
        cell = torch.nn.GRUCell(5, 4).double()
        w_x, w_h, b_x, b_h, w_o, b_o = (w[p] for w in weights)
        with torch.no_grad():
            cell.weight_ih.copy_(w_x.T)
            cell.weight_hh.copy_(w_h.T)
            cell.bias_ih.copy_(b_x[0])
            cell.bias_hh.copy_(b_h[0])
        h = torch.zeros(1, 4, dtype=torch.float64)
        for x in xs:
            h = cell(x[p : p + 1], h)
        assert torch.allclose(state[p], h[0], atol=1e-12)
        assert torch.allclose(gru.readout(weights, state)[p], state[p] @ w_o + b_o[0])


def test_population_gru_starts_with_zero_credits_and_refuses_bad_shapes():
    gru = PopulationGRU(inputs=3, hidden=8, outputs=10)
    params = gru.init(torch.Generator().manual_seed(0))[None]
    state = gru.step(gru.unflatten(params), gru.start(1), torch.ones(1, 3))
    assert state.abs().sum() > 0
    assert torch.equal(gru.readout(gru.unflatten(params), state), torch.zeros(1, 10))
    with pytest.raises(ValueError, match="shape"):
        gru.unflatten(torch.zeros(1, 5))
