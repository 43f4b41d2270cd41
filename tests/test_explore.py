"""Notebook 01's explorer: its update function on the shipped networks, checked against plain
gradient descent computed here, and its widgets and headless fallback."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from tdca_lib.experiments import gaussian
from tdca_lib.sections import explore

SETTINGS = gaussian.PROFILES.get("smoke")  # loads the networks quick shipped


@pytest.fixture(scope="module")
def explorer():
    one = gaussian.evolved_tdca(SETTINGS, "smoke")[:2]
    two = gaussian.evolved_tdca(SETTINGS, "smoke",
                                (gaussian.LANDSCAPE, gaussian.SECOND_LANDSCAPE))[:2]
    return explore.Explorer(SETTINGS, one_task=one, two_tasks=two)


def descent(landscape, start, steps, lr):
    """Gradient descent with the analytic gradient of a sum of Gaussians, in float64 numpy."""
    p, path = np.array(start, dtype=np.float64), [np.array(start, dtype=np.float64)]
    for _ in range(steps):
        gradient = np.zeros(2)
        for a, m, s in zip(landscape.amplitudes, landscape.means, landscape.widths):
            d = p - np.array(m)
            gradient += a * d / s**2 * math.exp(-(d @ d) / (2 * s**2))
        p = p - lr * gradient
        path.append(p)
    return np.stack(path)


@pytest.mark.parametrize("landscape", list(explore.LANDSCAPES))
@pytest.mark.parametrize("start, steps, lr", [((4.0, 3.6), 50, 0.5), ((-7.5, 2.0), 13, 1.3)])
def test_bp_path_is_plain_gradient_descent_on_the_chosen_landscape(explorer, landscape, start,
                                                                    steps, lr):
    result = explorer.run(*start, steps, lr, landscape, None)
    expected = descent(explore.LANDSCAPES[landscape][1], start, steps, lr)
    assert result["bp"].shape == (steps + 1, 2) and result["tdca"].shape == (steps + 1, 2)
    np.testing.assert_allclose(result["bp"].numpy(), expected, atol=1e-4)


def test_landscapes_move_bp_and_task_ids_move_tdca(explorer):
    runs = {(landscape, task): explorer.run(4.0, 3.6, 50, 0.5, landscape, task)
            for landscape in explore.LANDSCAPES for task in explore.TASKS}
    bp_ends = {landscape: runs[landscape, None]["bp"][-1] for landscape in explore.LANDSCAPES}
    for a in explore.LANDSCAPES:
        for b in explore.LANDSCAPES:
            if a < b:
                assert (bp_ends[a] - bp_ends[b]).norm() > 0.1, (a, b)
    # The TDCA network reads the point (and the task id), never the landscape.
    for task in explore.TASKS:
        assert all(torch.equal(runs["paper", task]["tdca"], runs[landscape, task]["tdca"])
                   for landscape in explore.LANDSCAPES)
    ends = [runs["paper", task]["tdca"][-1] for task in explore.TASKS]
    assert min((ends[i] - ends[j]).norm() for i in range(3) for j in range(i)) > 0.01
    # As notebook 01 shows: from Fig 2b-d's start BP is trapped, TDCA reaches the origin.
    paper = runs["paper", None]
    assert gaussian.reaches(paper["bp"][-1], gaussian.LANDSCAPE.local_minimum)
    assert gaussian.reaches(paper["tdca"][-1], gaussian.LANDSCAPE.global_minimum)


def test_tdca_path_and_field_are_the_chosen_networks(explorer):
    tdca, params = explorer.two_tasks
    result = explorer.run(1.0, -2.0, 5, 0.3, "second", 1)
    with torch.no_grad():
        path = tdca.trajectory(params, torch.tensor([[1.0, -2.0]]), 5, 0.3,
                               torch.tensor([1]))[:, 0, 0]
    assert torch.equal(result["tdca"], path)
    assert torch.equal(result["tdca_field"],
                       gaussian.tdca_updates(tdca, params, result["points"], 0.3, task=1))


def test_the_view_widens_to_a_start_outside_the_box(explorer):
    assert explorer.run(4.0, 3.6, 5, 0.5, "paper", None)["extent"] == SETTINGS.extent
    wide = explorer.run(-9.0, 8.0, 5, 0.5, "paper", None)
    assert wide["extent"] >= 9.0 and wide["points"].abs().max() == wide["extent"]


@pytest.mark.parametrize("values, message", [
    (dict(steps=0), "steps=0 must be an integer in"),
    (dict(steps=2.5), "steps=2.5 must be an integer"),
    (dict(steps=explore.MAX_STEPS + 1), "must be an integer in [1, 1000]"),
    (dict(lr=0.0), "lr=0.0 must be positive"),
    (dict(lr=-0.5), "lr=-0.5 must be positive"),
    (dict(start_x=float("nan")), "start_x=nan must be a finite number"),
    (dict(start_y="3"), "start_y='3' must be a finite number"),
    (dict(landscape="flat"), "landscape='flat' is not one of paper, moved, swapped, second"),
    (dict(task=2), "task=2 must be None (the one-task network), 0 or 1"),
    (dict(task=True), "task=True must be None"),
])
def test_bad_values_raise_a_clear_error(explorer, values, message):
    with pytest.raises(ValueError) as raised:
        explorer.figure(**{**explorer.defaults(), **values})
    assert message in str(raised.value)


def test_the_update_function_draws_trajectories_and_both_fields(explorer):
    fig = explorer.figure(**explorer.defaults())
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert "the paper's (task 0): 50 steps" in titles[0] and "BP f = -0.848" in titles[0]
    assert titles[1] == "BP update field" and titles[2].startswith("TDCA (one-task network)")
    assert fig.axes[-1].get_ylabel() == "log10 |update|"  # the fields' colour bar


def test_widget_controls_redraw_through_the_update_function(explorer):
    widget = explorer.widget()
    controls = {c.description: c for c in widget.children[:-1]}
    assert list(controls) == ["start x", "start y", "steps", "step size", "landscape",
                              "TDCA network"]
    assert widget.kwargs == explorer.defaults()
    assert isinstance(widget.result.figure, Figure)
    first = widget.result
    controls["landscape"].value = "moved"
    controls["TDCA network"].value = 1
    assert widget.kwargs["landscape"] == "moved" and widget.kwargs["task"] == 1
    assert widget.result is not first
    assert "moved by (3.0, -3.0)" in widget.result.figure.axes[0].get_title()


@pytest.mark.parametrize("interactive", [True, False])
def test_headless_shows_one_static_figure(explorer, monkeypatch, interactive):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    explorer.show(interactive)
    [what] = shown
    assert type(what).__name__ == ("interactive" if interactive else "Drawn")
    if not interactive:  # drawn as a PNG image, whatever the backend
        assert isinstance(what.figure, Figure)
        assert what._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


# --- Notebook 02's explorer -------------------------------------------------------------------


@pytest.fixture(scope="module")
def inner_steps():
    from tdca_lib.experiments import supervised
    from tdca_lib.machinery import data

    settings = supervised.SupervisedSettings(steps=4, train_size=200)
    dataset = data.load("mnist", settings.train_size, 300)
    net = supervised.bottom_up_network(settings, dataset.features)
    tdca = supervised.tdca_network(settings, net)
    beta = tdca.init(torch.Generator().manual_seed(3))[None]
    return explore.InnerSteps(settings, dataset, beta)


def test_inner_steps_deltas_are_backprops_and_credits_the_tdca_networks(inner_steps):
    from tdca_lib.experiments import supervised

    result = inner_steps.run(step=2, sample=7)
    s = inner_steps.settings
    net = supervised.bottom_up_network(s, inner_steps.dataset.features)
    theta = inner_steps.runs["tdca"]["theta_curve"][2]
    x, y = inner_steps.dataset.x_train[7], inner_steps.dataset.y_train[7]
    # the output layer's delta of one sample's cross-entropy: softmax - one-hot
    probs = torch.softmax(net(theta, x[None])[0, 0], -1)
    one_hot = torch.nn.functional.one_hot(y, 10).float()
    assert torch.allclose(result["deltas"]["output"], probs - one_hot, atol=1e-6)
    assert torch.allclose(result["probs"], probs, atol=1e-6)
    # the hidden layer's: the output delta through the output weights
    (_, _), (w2, _) = net.unflatten(theta)
    assert torch.allclose(result["deltas"]["hidden"], w2[0] @ (probs - one_hot), atol=1e-6)
    tdca = supervised.tdca_network(s, net)
    credits = tdca(inner_steps.beta, torch.cat([probs, one_hot])[None, None])[0, 0]
    assert torch.allclose(torch.cat([result["credits"]["output"], result["credits"]["hidden"]]),
                          credits, atol=1e-6)
    assert result["label"] == int(y) and result["image"].shape == (784,)


def test_inner_steps_curves_are_table_1s_trainings(inner_steps):
    from tdca_lib.experiments import supervised

    result = inner_steps.run(step=0, sample=0)
    for method in ("tdca", "zero_bp"):
        alone = supervised.run_bottom_up(inner_steps.settings, inner_steps.dataset, method, 1,
                                         beta=inner_steps.beta)
        curve = result["curves"][method]
        assert curve["train"].shape == (inner_steps.settings.steps + 1,)
        assert curve["test"][-1].item() == pytest.approx(alone["test_acc"].item())
    # a zero-initialised network believes nothing yet
    assert torch.allclose(result["probs"], torch.full((10,), 0.1), atol=1e-6)


@pytest.mark.parametrize("values", [dict(step=5, sample=0), dict(step=-1, sample=0),
                                    dict(step=1, sample=200), dict(step=1.0, sample=0)])
def test_inner_steps_refuses_values_out_of_range(inner_steps, values):
    with pytest.raises(ValueError, match="must be an integer"):
        inner_steps.run(**values)


def test_inner_steps_figure_and_widget(inner_steps):
    fig = inner_steps.figure(**inner_steps.defaults())
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    widget = inner_steps.widget()
    assert {c.description for c in widget.children[:2]} == {"inner step", "training sample"}


def test_inner_steps_shows_a_png_image_headless(inner_steps, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    inner_steps.show(interactive=False)
    [what] = shown
    assert what._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n" and len(what.figure.axes) == 4
