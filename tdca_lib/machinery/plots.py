"""Drawing functions: they take computed data and an axes, and draw. No computation here."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..experiments.gaussian import BASIN_RADIUS, Landscape, grid
from .output import BP_COLOR, DIFFUSION_COLOR, TDCA_COLOR

# plasma without its palest end, so that every arrow shows on white
FIELD_CMAP = mpl.colors.ListedColormap(plt.cm.plasma(np.linspace(0.0, 0.85, 256)))


def _surface(landscape: Landscape, extent: float, n: int = 121):
    points = grid(extent, n)
    values = landscape(points).reshape(n, n)
    axis = np.linspace(-extent, extent, n)
    return axis, axis, values.numpy()


def surface_3d(ax, landscape: Landscape, extent: float, paths: dict[str, tuple[torch.Tensor, str]]):
    """3-D surface of ``landscape`` with each path ``[T, 2]`` drawn on it, labelled, coloured."""
    x, y, z = _surface(landscape, extent, 81)
    xx, yy = np.meshgrid(x, y)
    ax.plot_surface(xx, yy, z, cmap="viridis", alpha=0.55, linewidth=0, rstride=2, cstride=2)
    for label, (path, color) in paths.items():
        height = landscape(path).numpy() + 0.02  # just above the surface, so it stays visible
        ax.plot(path[:, 0], path[:, 1], height, color=color, lw=2, marker="o", ms=2, label=label)
    ax.set(xlabel="x", ylabel="y", zlabel="f(x, y)")
    ax.view_init(elev=40, azim=-120)


def contour(ax, landscape: Landscape, extent: float, levels: int = 20, cmap: str = "viridis"):
    x, y, z = _surface(landscape, extent)
    ax.contour(x, y, z, levels=levels, cmap=cmap, linewidths=0.8)
    ax.set(xlabel="x", ylabel="y", aspect="equal", xlim=(-extent, extent), ylim=(-extent, extent))


def paths_on_contour(ax, landscape, extent, paths: dict[str, tuple[torch.Tensor, str]]):
    contour(ax, landscape, extent)
    for label, (path, color) in paths.items():
        ax.plot(path[:, 0], path[:, 1], color=color, lw=1.8, marker="o", ms=2, label=label)
        ax.plot(*path[0], "k^", ms=6)
    ax.legend(loc="lower left")


def update_field(ax, landscape, extent, points: torch.Tensor, updates: torch.Tensor, color: str,
                 circle: torch.Tensor | None = None):
    """Grey contour plus the update field: ``updates [N, 2]`` at ``points [N, 2]``, arrows of
    equal length coloured by log10 magnitude, so vanishing updates stay visible."""
    contour(ax, landscape, extent, cmap="Greys_r")
    norm = updates.norm(dim=-1, keepdim=True)
    direction = updates / norm.clamp_min(1e-12)
    quiver = ax.quiver(points[:, 0], points[:, 1], direction[:, 0], direction[:, 1],
                       torch.log10(norm.squeeze(-1).clamp_min(1e-8)), cmap=FIELD_CMAP,
                       scale=28, width=0.004, clim=(-4, 0.5))
    if circle is not None:
        ring = plt.Circle(tuple(circle.tolist()), BASIN_RADIUS, fill=False, color="red", lw=1.5)
        ax.add_patch(ring)
    ax.set_title(ax.get_title(), color=color)
    return quiver


def exploration(fig, result: dict):
    """Notebook 01's explorer (:meth:`tdca_lib.sections.explore.Explorer.run`'s ``result``): both
    paths on the landscape's contour, then BP's and TDCA's update fields, the star its global
    minimum, the red circle its local one."""
    landscape, extent = result["landscape"], result["extent"]
    axes = fig.subplots(1, 3)
    paths = {"BP": (result["bp"], BP_COLOR), "TDCA": (result["tdca"], TDCA_COLOR)}
    paths_on_contour(axes[0], landscape, extent, paths)
    for ax in axes:
        ax.plot(*landscape.global_minimum, marker="*", ms=12, color="gold", mec="k", ls="")
    ends = ", ".join(f"{label} f = {landscape(path[-1]):.3f}"
                     for label, (path, _) in paths.items())
    axes[0].set_title(f"{result['title']}: {len(result['bp']) - 1} steps\nends: {ends}",
                      fontsize=9)
    for ax, label, field, color in ((axes[1], "BP", result["bp_field"], BP_COLOR),
                                    (axes[2], f"TDCA ({result['task']})", result["tdca_field"],
                                     TDCA_COLOR)):
        ax.set_title(f"{label} update field", fontsize=9)
        quiver = update_field(ax, landscape, extent, result["points"], field, color,
                              landscape.local_minimum)
    fig.colorbar(quiver, ax=axes[1:], label="log10 |update|")
    return axes


def inner_steps(fig, result: dict):
    """Notebook 02's explorer (:meth:`tdca_lib.sections.explore.InnerSteps.run`'s ``result``): the
    learning curves with the chosen step marked, the chosen sample and the network's belief,
    then the TDCA network's credits beside backprop's deltas, output and hidden neurons."""
    axes = fig.subplots(1, 4, width_ratios=[1.3, 0.8, 1, 1.4])
    step = result["step"]
    for method, label, color in (("tdca", "TDCA", TDCA_COLOR), ("zero_bp", "Zero BP", BP_COLOR)):
        curves = result["curves"][method]
        axes[0].plot(100 * curves["train"], color=color, label=f"{label}: train")
        axes[0].plot(100 * curves["test"], color=color, ls="--", label=f"{label}: test")
    axes[0].axvline(step, color="0.4", lw=0.8)
    axes[0].set(xlabel="inner step", ylabel="accuracy (%)",
                title=f"step {step} of {result['steps']}")
    axes[0].legend(fontsize=7)
    side = int(len(result["image"]) ** 0.5)
    axes[1].imshow(result["image"].view(side, side), cmap="gray_r")
    axes[1].set_axis_off()
    probs = result["probs"]
    axes[1].set_title(f"sample {result['sample']}: label {result['label']}\nbelieves "
                      f"{int(probs.argmax())} (p = {probs.max():.2f}), label p = "
                      f"{probs[result['label']]:.2f}", fontsize=9)
    cosines = {layer: torch.nn.functional.cosine_similarity(
        result["credits"][layer], result["deltas"][layer], dim=0).item()
        for layer in ("output", "hidden")}
    credits, deltas = ((result[k]["output"] / result[k]["output"].abs().max()).numpy()
                       for k in ("credits", "deltas"))  # scales differ; directions compare
    classes = np.arange(len(credits))
    axes[2].bar(classes - 0.2, credits, 0.4, color=TDCA_COLOR, label="TDCA credit")
    axes[2].bar(classes + 0.2, deltas, 0.4, color=BP_COLOR, label="backprop delta")
    axes[2].axhline(0, color="0.7", lw=0.6)
    axes[2].set(xlabel="output neuron (class)", ylabel="each scaled to its largest |value|",
                xticks=classes.tolist(),
                title=f"output layer: cosine with backprop {cosines['output']:+.2f}")
    axes[2].legend(fontsize=7)
    axes[3].scatter(result["deltas"]["hidden"].numpy(), result["credits"]["hidden"].numpy(), s=10,
                    color=TDCA_COLOR)
    axes[3].axhline(0, color="0.7", lw=0.6)
    axes[3].axvline(0, color="0.7", lw=0.6)
    axes[3].set(xlabel="backprop delta", ylabel="TDCA credit",
                title=f"{len(result['credits']['hidden'])} hidden neurons: cosine "
                      f"{cosines['hidden']:+.2f}")
    return axes


def scale_curve(ax, curves, yardsticks: dict[str, float], paper: float | None = None):
    """Notebook 07's scale curve: meta-test accuracy against member evaluations (log axis), one
    colour a population (each evolution seed thin, their mean bold), with the yardsticks and
    the paper's number as horizontal lines. ``curves``:
    :func:`tdca_lib.sections.scale.stored_curves` rows of one variant."""
    _per_population(ax, curves, "meta_test", 100)
    for label, value in yardsticks.items():  # "Zero BP", "Kaiming DFA": init by line style,
        # rule by colour, the value in the legend (the lines lie close together)
        ax.axhline(100 * value, lw=1.2, ls="--" if label.startswith("Zero") else ":",
                   color="tab:green" if label.endswith("DFA") else "0.3",
                   label=f"{label} ({100 * value:.1f}%)")
    if paper is not None:
        ax.axhline(100 * paper, color="crimson", lw=1,
                   label=f"TDCA-net, the paper's ({100 * paper:.1f}%)")
    ax.set(xscale="log", xlabel="member evaluations (20 inner steps each)",
           ylabel="meta-test accuracy (%)")
    ax.legend(fontsize=7, loc="center left")
    return ax


def aimed_searches(axes, curves, dfa: float):
    """Notebook 07's searches from the DFA-fitted start (``curves``: their
    :func:`tdca_lib.sections.scale.stored_curves` rows): meta-test accuracy at 20 inner steps
    (left) and at 50 (right) against member evaluations, one colour a search, the mean over
    its evolution seeds where all have been; the start (its mean over the fit seeds) dashed,
    zero-init DFA at 20 steps (``dfa``) dotted. Evaluations on a log axis but for the start,
    drawn at the left edge."""
    start = curves[curves["evaluations"] == 0]
    colors = dict(zip(sorted(curves["variant"].unique()), plt.rcParams["axes.prop_cycle"]
                      .by_key()["color"]))  # a search keeps its colour in both panels
    for ax, key, steps in zip(axes, ("meta_test", "meta_test_50"), (20, 50)):
        for variant, rows in curves.groupby("variant", sort=True):
            seeds = rows["seed"].nunique()
            by_point = rows.groupby("evaluations")[key]
            mean = by_point.mean()[by_point.count() == seeds]  # where every seed has been
            if len(mean) > 1:
                ax.plot(mean.index.to_numpy().clip(min=48), 100 * mean.to_numpy(), lw=1.5,
                        marker=".", color=colors[variant], label=f"{variant} ({seeds} seeds)")
        ax.axhline(100 * start[key].mean(), color="k", ls="--", lw=1,
                   label=f"the DFA-fitted start ({100 * start[key].mean():.1f}%)")
        if steps == 20:
            ax.axhline(100 * dfa, color="tab:green", ls=":", lw=1.2,
                       label=f"DFA, zero init ({100 * dfa:.1f}%)")
        ax.set(xscale="log", xlabel="member evaluations (the start at the left edge)",
               ylabel=f"meta-test accuracy after {steps} inner steps (%)")
    axes[0].legend(fontsize=7, loc="lower left")
    return axes


def scale_fitness(ax, curves):
    """Beside :func:`scale_curve`: the search's own objective, the centre's training
    cross-entropy after 20 steps (minus its fitness; log axis: late gains show), against member
    evaluations, coloured alike."""
    _per_population(ax, curves, "center_fitness", -1)
    ax.set(xscale="log", yscale="log", xlabel="member evaluations (20 inner steps each)",
           ylabel="centre's training cross-entropy (minus fitness)")
    ax.legend(fontsize=7, loc="upper right")
    return ax


def _per_population(ax, curves, column: str, factor: float):
    """``factor * curves[column]`` against evaluations, one colour a population: each evolution
    seed thin, their mean bold where every seed has been (the start, at 0 evaluations, is off a
    log axis)."""
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (population, group) in zip(colors, curves.groupby("population")):
        group = group[group["evaluations"] > 0]
        for _, run in group.groupby("seed"):
            ax.plot(run["evaluations"], factor * run[column], color=color, lw=0.7, alpha=0.5)
        seeds = group["seed"].nunique()
        by = group.groupby("evaluations")
        mean = by[column].mean()[by["seed"].nunique() == seeds]
        ax.plot(mean.index, factor * mean.values, color=color, lw=2, marker="o", ms=3,
                label=f"population {population} ({seeds} seed{'s' * (seeds > 1)})")


def evolution_curve(ax, log: list[dict[str, float]], label: str, color: str):
    generation = [row["generation"] for row in log]
    ax.plot(generation, [row["center"] for row in log], color=color, label=f"{label}: centre")
    ax.plot(generation, [row["mean"] for row in log], color=color, alpha=0.4, lw=0.8,
            label=f"{label}: population mean")
    ax.set(xlabel="generation", ylabel="fitness")


def credits_on_a_line(ax, neurons: torch.Tensor, sites: torch.Tensor, site_credits: torch.Tensor,
                      kernel: torch.Tensor, color: str):
    """Credits ``[S]`` at ``sites [S]`` and what each neuron at ``neurons [N]`` receives through
    ``kernel [S, N]``: each site's bump faint, their sum bold (paper eq. 2)."""
    for credit, row in zip(site_credits, kernel):
        ax.plot(neurons, credit * row, color=color, lw=0.7, alpha=0.35)
    ax.plot(neurons, site_credits @ kernel, color=color, lw=2, label="credit a neuron receives")
    ax.stem(sites, site_credits, linefmt="k-", markerfmt="ko", basefmt=" ", label="credit sites")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set(xlabel="hidden neuron (position on the line)", ylabel="credit")


def credits_on_a_grid(ax, field: torch.Tensor, sites: torch.Tensor, site_credits: torch.Tensor):
    """The credit ``field [rows, cols]`` neurons receive on a grid, with the sites ``[S, 2]``
    marked by the sign of their credit."""
    limit = field.abs().max().item()
    image = ax.imshow(field, cmap="RdBu_r", vmin=-limit, vmax=limit, origin="upper")
    positive = site_credits > 0
    ax.scatter(sites[positive, 1], sites[positive, 0], marker="+", c="k", s=25)
    ax.scatter(sites[~positive, 1], sites[~positive, 0], marker="_", c="k", s=25)
    ax.set(xlabel="grid column", ylabel="grid row")
    return image


def fig4cd(credits: dict):
    """Fig 4c-d from :func:`tdca_lib.experiments.diffusion.fig4cd_credits`'s ``credits``: (c) sparse
    credits diffused over a line, (c') over a grid, (d) dense credits, one a neuron. Returns the
    figure."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained",
                             gridspec_kw={"width_ratios": [1.3, 0.9, 1.3]})
    neurons, site_credits = credits["neurons"][:, 0], credits["site_credits"]
    credits_on_a_line(axes[0], neurons, credits["sites"][:, 0], site_credits,
                      credits["line_kernel"], DIFFUSION_COLOR)
    axes[0].set_title(f"c  sparse: {len(site_credits)} credits for {len(neurons)} neurons (1-D, "
                      f"sigma {credits['sigma']:g})")
    axes[0].legend(loc="lower right", fontsize=7)
    field = credits["grid_field"]
    image = credits_on_a_grid(axes[1], field, credits["grid_sites"], credits["grid_credits"])
    fig.colorbar(image, ax=axes[1], shrink=0.8, label="credit")
    side = round(len(credits["grid_credits"]) ** 0.5)
    axes[1].set_title(f"c'  sparse, 2-D: {side} x {side} for {field.shape[0]} x {field.shape[1]}")
    axes[2].stem(neurons, credits["dense_credits"], linefmt=TDCA_COLOR, markerfmt=" ",
                 basefmt=" ")
    axes[2].set(xlabel="hidden neuron", ylabel="credit",
                title=f"d  dense: one credit per neuron ({len(neurons)}-to-{len(neurons)})")
    return fig


def diffusion_evolution(logs: dict[str, list[dict[str, float]]], configs: list[str]):
    """Each credit configuration's evolution, one panel a data set with logs: the centre
    network's training accuracy after the inner loop per generation (log axis). ``logs`` maps
    ``"<dataset>/<config>"`` to an evolution log (a dict a generation); ``configs`` orders the
    lines, a colour each. Returns the figure."""
    from .data import DATASETS, TITLES

    colors = dict(zip(configs, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    shown = [n for n in DATASETS if any(k.startswith(f"{n}/") for k in logs)]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(5 * max(1, len(shown)), 3.3),
                             squeeze=False)
    for ax, name in zip(axes[0], shown):
        for config, color in colors.items():
            log = logs.get(f"{name}/{config}")
            if log:
                ax.plot([r["generation"] for r in log], [r["center_train_accuracy"] for r in log],
                        color=color, label=config.replace("x", "*"))
        ax.set(xlabel="generation", ylabel="train accuracy after the inner loop", xscale="log",
               title=TITLES[name])
        ax.legend(fontsize=7)
    return fig


def landscape_plane(ax, xs: torch.Tensor, ys: torch.Tensor, values: torch.Tensor,
                    paths: dict[str, tuple[torch.Tensor, str]], levels: int = 25):
    """Filled contours of ``values [len(ys), len(xs)]`` (log scale) with each projected path
    ``[T, 2]`` drawn over them, start marked."""
    filled = ax.contourf(xs, ys, torch.log10(values), levels=levels, cmap="viridis")
    ax.contour(xs, ys, torch.log10(values), levels=levels, colors="w", linewidths=0.3)
    for label, (path, color) in paths.items():
        ax.plot(path[:, 0], path[:, 1], color=color, lw=2, marker="o", ms=1.5, label=label)
    start = next(iter(paths.values()))[0][0]
    ax.plot(*start, "w^", ms=7, mec="k")
    ax.legend(loc="best", fontsize=7)
    return filled


# Fig S2's curves (sections.supervised.FIG_S2): label -> (colour, line style)
FIG_S2_STYLES = {"BP (Kaiming)": (BP_COLOR, "-"), "BP (zero)": (BP_COLOR, "--"),
                 "TDCA (top-down)": (TDCA_COLOR, "-"), "TDCA + diffusion": (DIFFUSION_COLOR, "-")}
# Its yardstick rules' curves (sections.supervised.fig_s2_rules), dotted, in their order
RULE_COLORS = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#D55E00")


def fig_s2(shown: list[str], curves: dict):
    """Fig S2: train (solid) and test (faded) accuracy per inner step, mean over seeds, one
    panel a data set of ``shown``; ``curves`` as :func:`tdca_lib.sections.supervised.fig_s2_curves`
    returns them (a curve that could not run is left out). Returns the figure."""
    from .data import TITLES

    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(4.5 * max(1, len(shown)), 3.2),
                             squeeze=False)
    rules = [label for label in dict.fromkeys(label for _, label in curves)
             if label not in FIG_S2_STYLES]
    styles = FIG_S2_STYLES | {label: (RULE_COLORS[k % len(RULE_COLORS)], ":")
                              for k, label in enumerate(rules)}
    for ax, dataset in zip(axes[0], shown):
        for label, (color, style) in styles.items():
            if isinstance(curves.get((dataset, label), "not drawn"), str):
                continue  # not drawn, or its network is missing: said where it was loaded
            run = curves[dataset, label]
            for split, alpha in (("train", 1.0), ("test", 0.5)):
                ax.plot(run["curve_steps"].tolist(), run[f"{split}_curve"].mean(1).tolist(),
                        color=color, ls=style, alpha=alpha, label=f"{label}, {split}")
        ax.set(title=TITLES[dataset], xlabel="inner step", ylabel="accuracy", ylim=(0, 1))
    if shown:
        axes[0][0].legend(fontsize=7)
    return fig


def fig_s3(planes: dict[str, dict]):
    """Fig S3: each plane of :func:`tdca_lib.experiments.supervised.fig_s3_planes` as filled
    contours of the training cross-entropy with the two projected trajectories. Returns the
    figure."""
    fig, axes = plt.subplots(1, max(1, len(planes)), figsize=(5.2 * max(1, len(planes)), 4),
                             squeeze=False)
    for ax, (title, plane) in zip(axes[0], planes.items()):
        filled = landscape_plane(ax, *plane["surface"], {
            label: (path, FIG_S2_STYLES[label][0]) for label, path in plane["projected"].items()})
        fig.colorbar(filled, ax=ax, label="log10 training cross-entropy")
        ax.set(title=f"{title}: cos {plane['cos']:+.2f}", xlabel="main direction of TD",
               ylabel="second direction (orthogonalised)")
    return fig


def probe_panel(ax, result: dict, extent: float):
    """Where BP (blue dots) and TDCA (red crosses) end from a probe's starts, on the probe
    landscape's contour; the star is its global minimum, the ring the evolved landscape's."""
    reach = max(extent, float(result["starts"].abs().max()))
    contour(ax, result["landscape"], reach, cmap="Greys_r")
    ax.scatter(*result["starts"].T, s=3, color="0.75", label="starts")
    ax.scatter(*result["bp_final"].T, s=10, color=BP_COLOR, label="BP ends")
    ax.scatter(*result["tdca_final"].T, s=30, marker="x", color=TDCA_COLOR, label="TDCA ends")
    ax.plot(*result["minimum"], marker="*", ms=14, color="gold", mec="k", ls="",
            label="global minimum")
    ax.plot(*result["evolved_minimum"], marker="o", ms=12, mfc="none", mec="k", ls="",
            label="evolved landscape's minimum")
