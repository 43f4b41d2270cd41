"""Schematics drawn by code (boxes and arrows), so they ship with the notebooks: Fig 1, Fig 2g."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .output import BP_COLOR, TDCA_COLOR

INNER, OUTER = BP_COLOR, TDCA_COLOR  # the paper draws the inner loop blue, the outer orange


def _box(ax, center, text, color, width=0.26, height=0.13):
    x, y = center
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.01,rounding_size=0.02",
                                facecolor=color, alpha=0.15, edgecolor=color, linewidth=1.5))
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _arrow(ax, start, end, color, text="", rad=0.0, offset=(0.0, 0.02)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color,
                                 linewidth=1.4, connectionstyle=f"arc3,rad={rad}"))
    if text:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, text, ha="center", va="bottom", fontsize=8, color=color)


def _blank(ax) -> None:
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")


def framework_figure() -> plt.Figure:
    """Fig 1: the bottom-up network, the TDCA network, the inner loop and the outer loop."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    _blank(ax)
    env, bottom_up = (0.14, 0.30), (0.45, 0.30)
    tdca, pgpe = (0.80, 0.30), (0.80, 0.80)
    _box(ax, env, "Environment\n(input, signal)", "0.4")
    _box(ax, bottom_up, r"Bottom-up network" "\n" r"$f(\mathrm{Input};\theta)$", INNER)
    _box(ax, tdca, r"TDCA network" "\n" r"$T(S(f), \mathrm{Signal};\beta)$", TDCA_COLOR)
    _box(ax, pgpe, "Hyper-optimiser\n(PGPE)", OUTER)
    _arrow(ax, (0.27, 0.32), (0.32, 0.32), INNER, "Input")
    _arrow(ax, (0.58, 0.32), (0.67, 0.32), INNER, r"$S(f)$")
    _arrow(ax, (0.14, 0.23), (0.70, 0.23), "0.4", "Signal", rad=0.25, offset=(0.0, -0.21))
    _arrow(ax, (0.70, 0.37), (0.52, 0.37), INNER, r"credits $\to\Delta\theta$", rad=0.5,
           offset=(0.0, 0.09))
    _arrow(ax, (0.86, 0.37), (0.86, 0.73), OUTER, "fitness", offset=(0.06, 0.0))
    _arrow(ax, (0.74, 0.73), (0.74, 0.37), OUTER, r"$\beta$", offset=(-0.03, 0.0))
    ax.text(0.40, 0.60, "inner loop: TDCA updates θ, no loss, no backprop", color=INNER,
            ha="center", fontsize=9)
    ax.text(0.36, 0.95, "outer loop: PGPE evolves β from the fitness of the trained network",
            color=OUTER, ha="center", fontsize=9)
    return fig


def draw_multitask(ax) -> None:
    """Fig 2g, into ``ax``: one TDCA network, two Gaussian tasks told apart by a task id."""
    _blank(ax)
    _box(ax, (0.25, 0.85), "Gaussian 1\ntask id [1, 0]", INNER, width=0.42, height=0.16)
    _box(ax, (0.75, 0.85), "Gaussian 2\ntask id [0, 1]", INNER, width=0.42, height=0.16)
    _box(ax, (0.5, 0.45), "TDCA network\n[x, y, id] → [Δx, Δy]", TDCA_COLOR, width=0.6,
         height=0.16)
    _box(ax, (0.5, 0.1), "PGPE: fitness = mean of\nboth tasks' final values", OUTER,
         width=0.6, height=0.16)
    for x in (0.25, 0.75):
        _arrow(ax, (x - 0.05, 0.77), (x + (0.5 - x) * 0.4 - 0.05, 0.53), INNER, "[x, y]")
        _arrow(ax, (x + (0.5 - x) * 0.4 + 0.05, 0.53), (x + 0.05, 0.77), TDCA_COLOR)
    _arrow(ax, (0.5, 0.18), (0.5, 0.37), OUTER, r"$\beta$", offset=(0.04, -0.02))
