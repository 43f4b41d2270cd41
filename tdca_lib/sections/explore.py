"""The notebooks' explorers. Notebook 01's: BP's and the TDCA network's trajectories and update
fields from a start, number of steps, step size, landscape and task id of the reader's choosing.
Notebook 02's (:class:`InnerSteps`): the inner steps of a network the TDCA network trains, and the
credits it emits for one sample at each.

:meth:`Explorer.figure` is the update function: it takes the widget's values and returns a
matplotlib figure (no pyplot state, so a redraw leaks nothing and shows once), shown as a PNG
image (:class:`Drawn`).
:meth:`Explorer.show` puts it behind ipywidgets controls, or, headless (papermill, a book),
draws one static figure with the defaults.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import torch
from matplotlib.figure import Figure

from ..experiments import gaussian, supervised
from ..experiments.gaussian import GaussianSettings, GaussianTDCA, Landscape
from ..experiments.supervised import SupervisedSettings
from ..machinery import data, plots
from ..method import bottom_up

# The landscapes a reader can switch between: the evolved ones and two of the probes'.
LANDSCAPES: dict[str, tuple[str, Landscape]] = {
    "paper": ("the paper's (task 0)", gaussian.LANDSCAPE),
    "moved": (f"the paper's, moved by {gaussian.SHIFT}", gaussian.moved(gaussian.LANDSCAPE)),
    "swapped": ("the paper's, its Gaussians swapped", gaussian.swapped(gaussian.LANDSCAPE)),
    "second": ("the second task's (task 1)", gaussian.SECOND_LANDSCAPE),
}
# None: the one-task network (no task input); 0, 1: the two-task network told that task id.
TASKS: dict[int | None, str] = {None: "one-task network", 0: "two-task network, task id 0",
                                1: "two-task network, task id 1"}
MAX_STEPS = 1000  # keeps a redraw under a second
FIELD_GRID = 21  # the update fields' grid, as in Fig 2e-f


@dataclass(frozen=True)
class Drawn:
    """A figure as the explorers show it: a PNG image in every front end. A bare Figure is drawn
    by Jupyter only once pyplot's inline backend has loaded, which the first figure of a notebook
    cannot count on (the reader would see ``<Figure size ...>``)."""

    figure: Figure

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


@dataclass(frozen=True)
class Explorer:
    """The shipped (or just evolved) networks of notebook 01: ``one_task`` and ``two_tasks`` are
    ``(network, params [1, D])`` pairs as :func:`gaussian.evolved_tdca` returns them."""

    settings: GaussianSettings
    one_task: tuple[GaussianTDCA, torch.Tensor]
    two_tasks: tuple[GaussianTDCA, torch.Tensor]

    def defaults(self) -> dict:
        """The values a static figure is drawn with: Fig 2b-d's start, steps and step size."""
        x, y = gaussian.PAPER_LIKE_START
        return dict(start_x=x, start_y=y, steps=self.settings.steps, lr=self.settings.lr,
                    landscape="paper", task=None)

    @torch.no_grad()
    def run(self, start_x: float, start_y: float, steps: int, lr: float, landscape: str,
            task: int | None) -> dict:
        """BP and TDCA from ``(start_x, start_y)`` for ``steps`` steps of size ``lr`` on
        ``LANDSCAPES[landscape]``, TDCA being the network ``task`` picks (see :data:`TASKS`).
        Returns ``landscape``, ``title``, ``task``, paths ``bp``, ``tdca [steps + 1, 2]``, the
        grid ``points [N, 2]``, fields ``bp_field``, ``tdca_field [N, 2]`` and ``extent``.
        Raises ValueError naming a value out of range."""
        check(start_x, start_y, steps, lr, landscape, task)
        title, surface = LANDSCAPES[landscape]
        tdca, params = self.one_task if task is None else self.two_tasks
        start = torch.tensor([[float(start_x), float(start_y)]])
        ids = None if task is None else torch.full((1,), task, device=params.device)
        bp = gaussian.bp_trajectory(surface, start, steps, lr)[:, 0]
        moved = tdca.trajectory(params, start, steps, lr, ids)[:, 0, 0].cpu()
        # wide enough for the start and both paths, never narrower than the evolution's box
        extent = max(self.settings.extent, math.ceil(torch.cat([bp, moved]).abs().max()) + 0.5)
        points = gaussian.grid(extent, FIELD_GRID)
        return {"landscape": surface, "title": title, "task": TASKS[task], "bp": bp,
                "tdca": moved, "points": points, "extent": extent,
                "bp_field": gaussian.bp_updates(surface, points, lr),
                "tdca_field": gaussian.tdca_updates(tdca, params, points, lr, task=task or 0)}

    def figure(self, start_x: float, start_y: float, steps: int, lr: float,
               landscape: str = "paper", task: int | None = None) -> Figure:
        """The widgets' update function: :meth:`run`'s trajectories and fields, drawn."""
        fig = Figure(figsize=(14, 4.4), layout="constrained")
        plots.exploration(fig, self.run(start_x, start_y, steps, lr, landscape, task))
        return fig

    def widget(self):
        """``ipywidgets.interactive`` over :meth:`figure`: sliders for the start, steps and step
        size, menus for the landscape and the task id; redraws when a value is let go."""
        import ipywidgets as w

        values = self.defaults()
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        return w.interactive(
            lambda **values: Drawn(self.figure(**values)),
            start_x=w.FloatSlider(values["start_x"], min=-10, max=10, step=0.1,
                                  description="start x", **slider),
            start_y=w.FloatSlider(values["start_y"], min=-10, max=10, step=0.1,
                                  description="start y", **slider),
            steps=w.IntSlider(values["steps"], min=1, max=200, description="steps", **slider),
            lr=w.FloatSlider(values["lr"], min=0.05, max=2.0, step=0.05,
                             description="step size", **slider),
            landscape=w.Dropdown(options=[(t, k) for k, (t, _) in LANDSCAPES.items()],
                                 value="paper", description="landscape"),
            task=w.Dropdown(options=[(t, k) for k, t in TASKS.items()], value=None,
                            description="TDCA network"),
        )

    def show(self, interactive: bool = True) -> None:
        """Display the widget, or, with ``interactive=False`` (papermill: ``reproduce`` sets it
        in the notebook's parameters), one static figure with :meth:`defaults`."""
        from IPython.display import display

        display(self.widget() if interactive else Drawn(self.figure(**self.defaults())))


def check(start_x: float, start_y: float, steps: int, lr: float, landscape: str,
          task: int | None) -> None:
    """ValueError naming the first of the explorer's values that is out of range."""
    for name, value in (("start_x", start_x), ("start_y", start_y), ("lr", lr)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise ValueError(f"{name}={value!r} must be a finite number")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps={steps!r} must be an integer in [1, {MAX_STEPS}]")
    if lr <= 0:
        raise ValueError(f"lr={lr!r} must be positive")
    if landscape not in LANDSCAPES:
        raise ValueError(f"landscape={landscape!r} is not one of {', '.join(LANDSCAPES)}")
    if isinstance(task, bool) or task not in TASKS:
        raise ValueError(f"task={task!r} must be None (the one-task network), 0 or 1")


@dataclass(frozen=True)
class InnerSteps:
    """Notebook 02's explorer: scrub through the inner steps of a zero-initialised network the
    evolved TDCA network ``beta [1, D]`` trains on ``dataset`` (as Table 1 does), beside Zero
    BP's, and see the credits the TDCA network emits for one training sample at that step,
    beside backprop's deltas for the same sample and network (the credits that would reproduce
    BP's update exactly, :mod:`tdca_lib.method.credit`). Both trainings run once, when first
    asked."""

    settings: SupervisedSettings
    dataset: data.Dataset
    beta: torch.Tensor

    @functools.cached_property
    def runs(self) -> dict[str, dict]:
        return {method: supervised.run_bottom_up(self.settings, self.dataset, method, 1,
                                                 beta=self.beta, curve=True, trajectory=True)
                for method in ("tdca", "zero_bp")}

    def defaults(self) -> dict:
        return dict(step=self.settings.steps // 2, sample=0)

    def check(self, step: int, sample: int) -> None:
        """ValueError naming a value out of range."""
        for name, value, top in (("step", step, self.settings.steps),
                                 ("sample", sample, len(self.dataset.y_train) - 1)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ValueError(f"{name}={value!r} must be an integer in [0, {top}]")

    @torch.no_grad()
    def run(self, step: int, sample: int) -> dict:
        """At inner step ``step`` (0: the zero init), for training sample ``sample``: the
        learning curves (``curves``: method -> ``{"train", "test"}`` ``[steps + 1]``), the
        ``image``, ``label``, the network's ``probs [classes]``, the TDCA network's ``credits``
        and backprop's ``deltas``, each ``{"output": [classes], "hidden": [hidden]}``."""
        self.check(step, sample)
        net = supervised.bottom_up_network(self.settings, self.dataset.features)
        tdca = supervised.tdca_network(self.settings, net)
        theta = self.runs["tdca"]["theta_curve"][step]  # [1, D]
        x = self.dataset.x_train[sample][None, None]  # [1 member, 1 sample, features]
        y = self.dataset.y_train[sample]
        with torch.enable_grad():  # backprop's deltas: dL/d(each neuron's activity)
            activations = net.activations(theta.clone().requires_grad_(True), x)
            loss = torch.nn.functional.cross_entropy(activations[-1][0], y[None])
            hidden_delta, output_delta = torch.autograd.grad(loss, activations[1:])
        probs = torch.softmax(activations[-1], -1)
        one_hot = torch.nn.functional.one_hot(y, bottom_up.CLASSES).to(x.dtype)
        credits = tdca(self.beta, torch.cat([probs, one_hot[None, None]], -1))[0, 0]
        classes = bottom_up.CLASSES
        if supervised.credit_kernel(self.settings) is not None:
            raise ValueError("the explorer shows one credit a neuron; not diffused credits")
        return {
            "step": step, "steps": self.settings.steps, "sample": sample,
            "curves": {m: {split: r[f"{split}_curve"][:, 0].cpu() for split in ("train", "test")}
                       for m, r in self.runs.items()},
            "image": self.dataset.x_train[sample].cpu(), "label": int(y),
            "probs": probs[0, 0].cpu(),
            "credits": {"output": credits[:classes].cpu(), "hidden": credits[classes:].cpu()},
            "deltas": {"output": output_delta[0, 0].cpu(), "hidden": hidden_delta[0, 0].cpu()},
        }

    def figure(self, step: int, sample: int) -> Figure:
        """The widgets' update function: :meth:`run`, drawn."""
        fig = Figure(figsize=(15, 3.8), layout="constrained")
        plots.inner_steps(fig, self.run(step, sample))
        return fig

    def widget(self):
        """``ipywidgets.interactive`` over :meth:`figure`: the inner step and the sample."""
        import ipywidgets as w

        values = self.defaults()
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        return w.interactive(
            lambda **values: Drawn(self.figure(**values)),
            step=w.IntSlider(values["step"], min=0, max=self.settings.steps,
                             description="inner step", **slider),
            sample=w.IntSlider(values["sample"], min=0, max=len(self.dataset.y_train) - 1,
                               description="training sample", **slider))

    def show(self, interactive: bool = True) -> None:
        """The widget, or with ``interactive=False`` one static figure at :meth:`defaults`."""
        from IPython.display import display

        display(self.widget() if interactive else Drawn(self.figure(**self.defaults())))
