import torch

from tdca_lib.method.credit import credits_to_gradient
from tdca_lib.method.inner_loop import (
    bp_direction,
    clip_per_member,
    evaluate,
    population_cross_entropy,
    train,
)
from tdca_lib.method.population import PopulationMLP


def test_population_adam_equals_separate_torch_adams_with_clipping():
    torch.manual_seed(0)
    targets = torch.randn(3, 6) * 5

    def direction(theta):  # gradient of |theta - target|^2, large enough to be clipped
        return 2 * (theta - targets)

    theta0 = torch.randn(3, 6)
    batched = train(theta0, direction, steps=15, lr=0.1, max_norm=1.0)
    for p in range(3):
        param = torch.nn.Parameter(theta0[p].clone())
        optimizer = torch.optim.Adam([param], lr=0.1)
        for _ in range(15):
            optimizer.zero_grad()
            ((param - targets[p]) ** 2).sum().backward()
            torch.nn.utils.clip_grad_norm_([param], 1.0)
            optimizer.step()
        assert torch.allclose(batched[p], param.detach(), atol=1e-6)


def test_the_one_train_also_runs_sgd_and_torchs_unfused_adam_as_rl_uses_them():
    targets = torch.randn(2, 5, generator=torch.Generator().manual_seed(1)) * 5
    theta0 = torch.zeros(2, 5)
    seen = []

    def direction(theta):
        return 2 * (theta - targets)

    sgd = train(theta0, direction, steps=4, lr=0.1, max_norm=1.0, optimizer="sgd",
                on_step=lambda step, theta: seen.append(step))
    expected = theta0.clone()
    for _ in range(4):
        expected -= 0.1 * clip_per_member(direction(expected), 1.0)
    assert torch.allclose(sgd, expected, atol=1e-7) and seen == [0, 1, 2, 3, 4]
    unfused = train(theta0, direction, steps=4, lr=0.1, max_norm=1.0, fused=False)
    param = theta0.clone()
    adam = torch.optim.Adam([param], lr=0.1)
    for _ in range(4):
        param.grad = clip_per_member(direction(param), 1.0)
        adam.step()
    assert torch.equal(unfused, param)  # bit for bit: the RL networks were evolved with it
    try:
        train(theta0, direction, steps=1, lr=0.1, max_norm=1.0, optimizer="rmsprop")
    except ValueError as err:
        assert "adam, sgd" in str(err)
    else:
        raise AssertionError("an unknown optimizer must be refused")


def test_clip_per_member_only_scales_rows_above_the_norm():
    grad = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    clipped = clip_per_member(grad, 1.0)
    assert torch.allclose(clipped[0].norm(), torch.tensor(1.0), atol=1e-5)
    assert torch.equal(clipped[1], grad[1])


def test_credit_rule_with_backprop_deltas_is_backprop_for_bottom_up():
    torch.manual_seed(1)
    net = PopulationMLP([5, 4, 4, 3])
    theta = torch.randn(2, net.num_params, dtype=torch.float64, requires_grad=True)
    x, y = torch.randn(6, 5, dtype=torch.float64), torch.randint(0, 3, (6,))
    activations = net.activations(theta, x)
    for a in activations[1:]:
        a.retain_grad()
    population_cross_entropy(activations[-1], y).sum().backward()
    # backprop's delta per sample, dL_n/dh (the mean over samples is the credit rule's job)
    credits = torch.cat([a.grad * len(y) for a in activations[:0:-1]], -1)
    ours = credits_to_gradient(net, [a.detach() for a in activations], credits.detach())
    assert torch.allclose(ours, bp_direction(net, x, y)(theta.detach()), rtol=1e-10, atol=1e-12)


def test_evaluate_counts_accuracy_and_cross_entropy_per_member():
    net = PopulationMLP([2, 2])
    theta = torch.zeros(2, net.num_params)
    theta[0, :4] = torch.tensor([10.0, 0.0, 0.0, 10.0])  # member 0: argmax(x) classifier
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    y = torch.tensor([0, 1, 1, 1])
    accuracy, cross_entropy = evaluate(net, theta, x, y, chunk=3)
    assert accuracy.tolist() == [0.75, 0.25]  # member 1 predicts class 0 everywhere (ties)
    assert torch.isclose(cross_entropy[1], torch.log(torch.tensor(2.0)))


def test_dense_credit_kernel_reduces_to_the_undiffused_rule():
    from tdca_lib.method import credit
    from tdca_lib.method.inner_loop import tdca_direction

    torch.manual_seed(2)
    net, tdca = PopulationMLP([6, 8, 10]), PopulationMLP([20, 5, 18])
    x, y = torch.randn(7, 6), torch.randint(0, 10, (7,))
    theta, beta = torch.randn(2, net.num_params), torch.randn(2, tdca.num_params)
    neurons, sites = credit.positions("line", 8, 8)
    dense = credit.diffusion_kernel(sites, neurons, sigma=1e-3)
    plain = tdca_direction(net, tdca, beta, x, y)(theta)
    assert torch.equal(tdca_direction(net, tdca, beta, x, y, credit_kernel=dense)(theta), plain)

    few = PopulationMLP([20, 5, 12])  # 10 output credits + 2 sites for 8 hidden neurons
    neurons, sites = credit.positions("line", 8, 2)
    sparse = tdca_direction(net, few, torch.randn(2, few.num_params), x, y,
                            credit_kernel=credit.diffusion_kernel(sites, neurons, sigma=5.0))(theta)
    assert sparse.shape == plain.shape
