import pytest
import torch

from tdca_lib.method import credit


def test_dense_layout_with_a_tiny_sigma_is_the_identity():
    neurons, sites = credit.positions("line", 100, 100)
    weights = credit.diffusion_kernel(sites, neurons, sigma=1e-3)
    assert torch.equal(weights, torch.eye(100))
    credits = torch.randn(3, 7, 100)
    assert torch.equal(credit.diffuse(credits, weights), credits)


def test_kernel_values_rows_and_symmetry():
    neurons, sites = credit.positions("line", 100, 10)
    weights = credit.diffusion_kernel(sites, neurons, sigma=5.0)
    assert weights.shape == (10, 100)
    assert torch.allclose(weights[0, 4], torch.exp(torch.tensor(-0.25 / 25)))  # site at 4.5
    assert torch.allclose(weights[0, :5], weights[0, 5:10].flip(0))  # symmetric about 4.5
    assert torch.allclose(weights.sum(1)[1:-1], weights.sum(1)[1:-1].mean())  # inner rows alike
    assert weights.argmax(1).tolist() == [4 + 10 * k for k in range(10)]


def test_layout_coordinates():
    neurons, sites = credit.positions("line", 100, 10)
    assert neurons.shape == (100, 1) and sites[:, 0].tolist() == [4.5 + 10 * k for k in range(10)]
    neurons, sites = credit.positions("grid", 900, 36)
    assert neurons.shape == (900, 2) and sites.shape == (36, 2)
    assert neurons[31].tolist() == [1.0, 1.0]  # row-major: neuron 31 is row 1, column 1
    assert sites[0].tolist() == [2.0, 2.0] and sites[-1].tolist() == [27.0, 27.0]


@pytest.mark.parametrize("kind, neurons, sites", [("line", 100, 7), ("grid", 900, 10),
                                                   ("ring", 10, 2)])
def test_bad_layouts_are_refused(kind, neurons, sites):
    with pytest.raises(ValueError):
        credit.positions(kind, neurons, sites)
