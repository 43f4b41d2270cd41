import pytest
import torch

from tdca_lib.experiments import gaussian
from tdca_lib.sections import gaussian as gaussian_section

L = gaussian.LANDSCAPE


def test_gradient_matches_the_analytic_one():
    p = torch.tensor([[1.0, -0.5], [2.4, 2.0]])
    analytic = torch.zeros_like(p)
    for a, m, s in zip(L.amplitudes, L.means, L.widths):
        d = p - torch.tensor(m)
        analytic += a * d / s**2 * torch.exp(-(d**2).sum(-1, keepdim=True) / (2 * s**2))
    assert torch.allclose(L.gradient(p), analytic, atol=1e-6)


def test_landscape_has_a_global_and_a_shallower_local_minimum():
    global_min, local_min = L.minima()
    assert L(global_min) < L(local_min) < 0
    assert (global_min - local_min).norm() > 2
    assert L.gradient(torch.stack([global_min, local_min])).norm(dim=-1).max() < 1e-4


def test_gradient_descent_from_the_paper_like_start_is_trapped():
    settings = gaussian.PROFILES.get("quick")
    start = torch.tensor([gaussian.PAPER_LIKE_START])
    path = gaussian.bp_trajectory(L, start, settings.steps, settings.lr)
    assert path.shape == (settings.steps + 1, 1, 2)
    assert gaussian.reaches(path[-1, 0], L.local_minimum)


def test_tdca_trajectory_applies_the_network_update():
    tdca = gaussian.GaussianTDCA(hidden=4)
    params = torch.randn(3, tdca.net.num_params)
    starts = gaussian.grid(2.0, 3)
    path = tdca.trajectory(params, starts, steps=2, lr=0.5)
    assert path.shape == (3, 3, 9, 2)
    expected = path[1] + 0.5 * tdca.updates(params, path[1])
    assert torch.allclose(path[2], expected)


def test_task_id_changes_the_multitask_networks_input():
    tdca = gaussian.GaussianTDCA(hidden=4, tasks=2)
    assert tdca.net.sizes[0] == 4
    params = torch.randn(1, tdca.net.num_params)
    points = torch.zeros(1, 3, 2)
    a = tdca.updates(params, points, torch.zeros(3, dtype=torch.long))
    b = tdca.updates(params, points, torch.ones(3, dtype=torch.long))
    assert not torch.allclose(a, b)


def test_fitness_is_minus_the_mean_final_value_over_the_grid():
    settings = gaussian.PROFILES.get("quick", train_grid=3, steps=2)
    tdca = gaussian.GaussianTDCA(settings.hidden)
    fitness = gaussian.fitness_function(tdca, (L,), settings)
    params = torch.zeros(2, tdca.net.num_params)  # a zero network moves no point
    expected = -L(gaussian.grid(settings.extent, 3)).mean()
    assert torch.allclose(fitness(params, 0), expected.expand(2))


def test_shipped_checkpoint_loads_and_reaches_the_global_minimum():
    settings = gaussian.PROFILES.get("smoke")
    tdca, params, log, manifest = gaussian.evolved_tdca(settings, "smoke")
    assert manifest["profile"] == "quick" and len(log) == settings.generations
    start = torch.tensor([gaussian.PAPER_LIKE_START])
    with torch.no_grad():
        end = tdca.trajectory(params, start, settings.steps, settings.lr)[-1, 0, 0]
    assert gaussian.reaches(end, L.global_minimum)


def test_probes_move_the_minimum_and_start_outside_the_box():
    moved, swapped = gaussian.moved(L), gaussian.swapped(L)
    assert torch.allclose(moved.global_minimum, L.global_minimum + torch.tensor(gaussian.SHIFT),
                          atol=1e-4)
    assert (swapped.global_minimum - L.global_minimum).norm() > 2  # now near the small one's
    starts = gaussian.outside_box(5.0)
    assert (starts.abs() > 5.0).any(-1).all() and (starts.abs() <= gaussian.WIDE).all()


def test_a_network_that_only_reads_x_y_cannot_follow_a_moved_landscape():
    # The shipped network reaches its own minimum from everywhere; on a moved landscape it
    # still heads for the old place, which the probe table reports.
    settings = gaussian.PROFILES.get("smoke")
    tdca, params, _, _ = gaussian.evolved_tdca(settings, "smoke")
    table = gaussian_section.probe_table({"one task": gaussian.probe(tdca, params, settings)})
    assert len(table) == 3 and table["starts"].tolist() == [320, 441, 441]
    moved = table.iloc[1]
    assert moved["TDCA reaches the global minimum"] + moved[
        "TDCA ends at the evolved minimum instead"] <= 1.0
    assert 0 < moved["BP reaches the global minimum"] < 1


def test_comparing_the_rules_counts_reaches_and_directions():
    settings = gaussian.PROFILES.get("quick", steps=40)
    tdca = gaussian.GaussianTDCA(4)
    params = torch.zeros(1, tdca.net.num_params)  # a network that never moves the points
    global_min, local_min = L.minima()
    far = global_min + torch.tensor([3.5, -3.0])  # beyond FAR, where the slope is tiny
    points = torch.stack([global_min, local_min, far])
    rules = gaussian.compare_rules(L, tdca, params, points, settings)
    assert rules["TDCA"]["reach"] == rules["BP"]["reach"] == pytest.approx(1 / 3)  # already there
    assert rules["TDCA"]["far_size"] == 0 < rules["BP"]["far_size"]
    assert rules["BP"]["starts"] == 3 and rules["BP"]["basin_points"] == 1
    assert "of 3 starts reach the global minimum" in gaussian_section.describe_rules(rules)


def test_comparing_tasks_reports_each_tasks_reach_and_whether_the_fields_differ():
    settings = gaussian.PROFILES.get("quick", steps=2)
    tdca = gaussian.GaussianTDCA(4, tasks=2)
    points = torch.tensor([[0.5, 0.5], [1.0, -1.0]])
    zero = gaussian.compare_tasks(tdca, torch.zeros(1, tdca.net.num_params),
                                  (L, gaussian.SECOND_LANDSCAPE), points, settings)
    assert len(zero["reach"]) == 2 and zero["fields_differ"] == 0  # no update at all
    params = torch.randn(1, tdca.net.num_params, generator=torch.Generator().manual_seed(0))
    told = gaussian.compare_tasks(tdca, params, (L, gaussian.SECOND_LANDSCAPE), points,
                                  settings)
    assert told["fields_differ"] > 0  # the task id changes the update
