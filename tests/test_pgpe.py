import pytest
import torch

from tdca_lib.method.outer_loop import evolve
from tdca_lib.method.pgpe import PGPE, ClipUp, centered_ranks


def sphere(optimum):
    """Fitness of a shifted sphere: maximal (0) at ``optimum``."""
    return lambda params, generation: -((params - optimum) ** 2).sum(-1)


def test_reaches_the_optimum_of_a_shifted_sphere_in_50d():
    optimum = torch.linspace(-1, 1, 50)
    pgpe = PGPE(torch.zeros(50), population=64, sigma=0.1, center_lr=0.05, seed=0)
    evolve(sphere(optimum), pgpe, 400, progress=False)
    start_distance = optimum.norm().item()  # about 4.1
    assert (pgpe.center.detach() - optimum).norm() < 0.05 * start_distance


@pytest.mark.parametrize("optimizer, center_lr, within", [("sgd", 0.01, 0.05),
                                                         ("clipup", 0.02, 0.1)])
def test_other_centre_optimizers_also_converge(optimizer, center_lr, within):
    optimum = torch.full((10,), 0.5)
    pgpe = PGPE(torch.zeros(10), population=32, sigma=0.1, center_lr=center_lr,
                optimizer=optimizer, seed=1)
    evolve(sphere(optimum), pgpe, 300, progress=False)
    assert (pgpe.center.detach() - optimum).norm() < within  # from 1.58


def test_sigma_adaptation_shrinks_sigma_on_a_sphere_and_still_converges():
    # On a sphere the antithetic average only sees curvature, so sigma must shrink.
    optimum = torch.full((10,), 0.5)
    pgpe = PGPE(torch.zeros(10), population=32, sigma=0.1, center_lr=0.05, sigma_lr=0.05, seed=1)
    evolve(sphere(optimum), pgpe, 300, progress=False)
    assert pgpe.sigma.max() < 0.05
    assert (pgpe.center.detach() - optimum).norm() < 0.25  # from 1.58


def test_clipup_never_moves_faster_than_its_max_speed():
    # a constant, huge gradient: the first step is lr long, later ones at most 2 * lr
    p = torch.nn.Parameter(torch.zeros(3))
    clipup = ClipUp([p], lr=0.1, momentum=0.9)
    moves = []
    for _ in range(30):
        before = p.detach().clone()
        p.grad = torch.tensor([1e6, 0.0, 0.0])
        clipup.step()
        moves.append((p.detach() - before).norm().item())
    assert moves[0] == pytest.approx(0.1)
    assert max(moves) == pytest.approx(0.2) and all(m <= 0.2 + 1e-7 for m in moves)


def test_sigma_changes_at_most_its_bound_a_generation():
    pgpe = PGPE(torch.zeros(20), population=16, sigma=0.1, center_lr=0.01, sigma_lr=50.0,
                sigma_max_change=0.2, seed=0)
    optimum = torch.full((20,), 3.0)
    for _ in range(20):
        before = pgpe.sigma.clone()
        pgpe.tell(sphere(optimum)(pgpe.ask(), 0))
        ratio = pgpe.sigma / before
        assert ratio.min() >= 0.8 - 1e-6 and ratio.max() <= 1.2 + 1e-6
    assert not torch.equal(pgpe.sigma, torch.full((20,), 0.1))  # it did adapt
    with pytest.raises(ValueError, match="sigma_max_change"):
        PGPE(torch.zeros(2), population=2, sigma=0.1, center_lr=0.1, sigma_max_change=1.5)


def test_centered_ranks_are_evenly_spaced_in_half_interval_and_order_preserving():
    fitness = torch.tensor([3.0, -1.0, 10.0, 0.5, 2.0, 7.0])
    shaped = centered_ranks(fitness)
    assert shaped.max() == 0.5 and shaped.min() == -0.5
    assert abs(shaped.sum().item()) < 1e-6
    assert torch.equal(torch.argsort(shaped), torch.argsort(fitness))
    assert torch.allclose(shaped.sort().values.diff(), torch.full((5,), 0.2))
    # invariant to any increasing transform of the fitness
    assert torch.equal(centered_ranks(torch.exp(fitness)), shaped)


def test_nonfinite_fitness_gets_the_worst_ranks():
    fitness = torch.tensor([1.0, float("nan"), 2.0, float("inf"), -5.0, float("-inf")])
    shaped = centered_ranks(fitness)
    worst_three = set(torch.argsort(shaped)[:3].tolist())
    assert worst_three == {1, 3, 5}
    assert shaped[2] == 0.5


def test_samples_are_antithetic_pairs_around_the_centre():
    center = torch.randn(7)
    pgpe = PGPE(center, population=10, sigma=0.3, center_lr=0.1)
    samples = pgpe.ask()
    assert samples.shape == (10, 7)
    assert torch.allclose(samples[:5] + samples[5:], 2 * center.expand(5, 7), atol=1e-6)


def test_nan_members_are_counted_and_never_stop_the_run():
    def half_nan(params, generation):
        fitness = -(params**2).sum(-1)
        fitness[::3] = float("nan")
        return fitness

    pgpe = PGPE(torch.ones(5), population=12, sigma=0.1, center_lr=0.05)
    log = evolve(half_nan, pgpe, 20, progress=False)
    assert len(log) == 20
    assert all(row["nonfinite"] == 4 for row in log)  # members 0, 3, 6, 9 of 12
    assert torch.isfinite(pgpe.center).all()


def test_extra_measurements_of_the_centre_are_logged():
    def fitness(params, generation):
        return -(params**2).sum(-1), {"norm": params.norm(dim=1)}

    pgpe = PGPE(torch.ones(4), population=4, sigma=0.1, center_lr=0.05)
    log = evolve(fitness, pgpe, 2, progress=False)
    assert log[0]["center_norm"] == 2.0  # the centre that sampled generation 1: ones(4)
    assert log[0]["center"] == -4.0


def test_same_seed_same_run_and_other_seed_other_run():
    def run(seed):
        pgpe = PGPE(torch.zeros(8), population=8, sigma=0.1, center_lr=0.05, seed=seed)
        evolve(sphere(torch.ones(8)), pgpe, 10, progress=False)
        return pgpe.center.detach()

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_a_state_saved_on_the_cpu_resumes_on_another_device():
    # Noise comes from a CPU generator whatever the centre's device, so a GPU run samples what
    # a CPU run samples and a state moves between them. "meta" stands in for a GPU here: a
    # device other than the CPU (a generator on it cannot even be made).
    cpu = PGPE(torch.zeros(4), population=4, sigma=0.1, center_lr=0.1, seed=3)
    state = cpu.state_dict()
    first = cpu.ask()
    again = PGPE(torch.zeros(4), population=4, sigma=0.1, center_lr=0.1, seed=0)
    again.load_state_dict(state)
    assert torch.equal(again.ask(), first)
    elsewhere = PGPE(torch.zeros(4, device="meta"), population=4, sigma=0.1, center_lr=0.1)
    elsewhere.load_state_dict(state)
    members = elsewhere.ask()
    assert members.device.type == "meta" and members.shape == (4, 4)


@pytest.mark.parametrize("kwargs, message", [
    (dict(population=7), "even"),
    (dict(optimizer="lion"), "unknown optimizer"),
    (dict(sigma=0.0), "sigma must be positive"),
])
def test_bad_settings_fail_with_a_clear_error(kwargs, message):
    settings = dict(population=8, sigma=0.1, center_lr=0.1) | kwargs
    with pytest.raises(ValueError, match=message):
        PGPE(torch.zeros(3), **settings)


def test_tell_checks_the_fitness_shape_and_order_of_calls():
    pgpe = PGPE(torch.zeros(3), population=4, sigma=0.1, center_lr=0.1)
    with pytest.raises(RuntimeError, match="ask"):
        pgpe.tell(torch.zeros(4))
    pgpe.ask()
    with pytest.raises(ValueError, match="shape"):
        pgpe.tell(torch.zeros(5))


def test_tied_members_share_their_shaped_fitness():
    shaped = centered_ranks(torch.tensor([1.0, 2.0, 1.0, 3.0]))
    assert shaped[0] == shaped[2]  # ranks 0 and 1 -> both 0.5 of the way: -1/3
    assert torch.allclose(shaped, torch.tensor([-1 / 3, 1 / 6, -1 / 3, 0.5]))
    assert torch.equal(centered_ranks(torch.full((6,), 2.5)), torch.zeros(6))


@pytest.mark.parametrize("value", [float("nan"), 7.0])
def test_a_generation_without_information_moves_nothing(value):
    # All members NaN (or all equal): the centre, sigma and Adam's moments stay as they were.
    pgpe = PGPE(torch.ones(5), population=8, sigma=0.1, center_lr=0.05, sigma_lr=0.1, seed=2)
    pgpe.ask()
    pgpe.tell(torch.randn(8, generator=torch.Generator().manual_seed(0)))  # Adam has moments
    before = pgpe.state_dict()
    pgpe.ask()
    pgpe.tell(torch.full((8,), value))
    after = pgpe.state_dict()
    assert torch.equal(after["center"], before["center"])
    assert torch.equal(after["sigma"], before["sigma"])
    moments = before["optimizer"]["state"][0], after["optimizer"]["state"][0]
    assert all(torch.equal(moments[0][k], moments[1][k]) for k in moments[0])
    assert after["generation"] == before["generation"] + 1


def test_a_pair_nonfinite_on_both_sides_contributes_nothing():
    pgpe = PGPE(torch.zeros(3), population=4, sigma=0.1, center_lr=0.1, optimizer="sgd",
                momentum=0.0)
    pgpe.ask()
    eps = pgpe._eps.clone()
    pgpe.tell(torch.tensor([1.0, float("nan"), 0.0, float("nan")]))  # pair 1 is NaN twice
    # only pair 0 counts: plus ranks above minus, so the centre moves along +eps[0]
    shaped = centered_ranks(torch.tensor([1.0, float("nan"), 0.0, float("nan")]))
    expected = 0.1 * ((shaped[0] - shaped[2]) / 2) * eps[0] / (2 * 0.1)
    assert torch.allclose(pgpe.center.detach(), expected)
