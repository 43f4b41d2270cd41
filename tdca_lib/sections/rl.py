"""Table S5, its learning curves and its claims (notebook 05), from the shipped TDCA networks and
the stored baselines.

The paper judges CartPole in the range [0, 200] (gymnasium's CartPole-v0: episodes capped at 200
steps); gymnasium's current CartPole-v1 caps them at 500. Table S5 has a column for each range.
Its TDCA rows are the shipped networks: those evolved at the paper's 200 agent updates, and the
earlier ones evolved at fewer (still informative: the same method at a shorter horizon). A
CartPole network is judged in both ranges (the dynamics are the same; only the cap differs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
import torch

from ..experiments import rl, rl_baselines
from ..machinery import paper
from ..machinery.checkpoints import CheckpointMissing
from ..machinery.claims import Claims, difference
from ..machinery.output import BP_COLOR, TDCA_COLOR

# Table S5's columns: the task agents are judged on -> its reward range.
RANGES = {
    "CartPole-v0": "[0, 200]",
    "CartPole-v1": "[0, 500]",
    "Pendulum-v1": "[-3254.7, 0] (200 steps of -16.27 at worst)",
    "BipedalWalker-v3": "-100 on a fall; 300+ when solved",
}

# The TDCA rows: row -> column -> the shipped network judged there (task evolved on, updates).
PAPER_HORIZON = "TDCA-net, 200 updates"
TDCA_ROWS = {
    PAPER_HORIZON: {"CartPole-v0": ("CartPole-v0", 200), "CartPole-v1": ("CartPole-v0", 200),
                    "Pendulum-v1": ("Pendulum-v1", 200)},
    "TDCA-net, fewer updates": {
        "CartPole-v0": ("CartPole-v1", 50), "CartPole-v1": ("CartPole-v1", 50),
        "Pendulum-v1": ("Pendulum-v1", 50), "BipedalWalker-v3": ("BipedalWalker-v3", 10)},
}

# The baselines: (method, column) -> budget (REINFORCE: episodes, one update each, as many as
# the TDCA agents get at the paper's horizon where it is 200; TD3: environment steps, the
# Zoo's budget for Pendulum, and the same for BipedalWalker, whose Zoo budget of 1e6 steps is
# about two days of this CPU).
BASELINES = {("reinforce", "CartPole-v0"): 200, ("reinforce", "CartPole-v1"): 300,
             ("td3", "Pendulum-v1"): 20_000, ("td3", "BipedalWalker-v3"): 20_000}
BASELINE_ROWS = {"reinforce": "Policy Gradient", "td3": "TD3"}


@dataclass
class Network:
    """One shipped TDCA network: its settings, centre ``[1, D]`` and generations, or why it is
    missing (``missing``: the first line of the CheckpointMissing message)."""

    settings: rl.RLSettings
    beta: torch.Tensor | None = None
    generations: int = 0
    missing: str | None = None

    def on(self, task: str) -> rl.RLSettings:
        """Its settings, judged on ``task`` (a CartPole network on either cap)."""
        return dataclasses.replace(self.settings, task=task)

    def budget(self) -> str:
        s = self.settings
        return f"evolved on {s.task}, {s.updates} updates, {self.generations} generations"


def networks(profile: str) -> dict[tuple[str, int], Network]:
    """Every network Table S5 uses, by (task evolved on, updates); missing ones say why."""
    found = {}
    for cells in TDCA_ROWS.values():
        for task, updates in cells.values():
            if (task, updates) in found:
                continue
            settings = rl.settings_for(profile, task, updates)
            try:
                beta, log, _ = rl.shipped_tdca(settings)
                found[task, updates] = Network(settings, beta, len(log))
            except CheckpointMissing as err:
                found[task, updates] = Network(settings, missing=str(err).splitlines()[0])
    return found


def train_and_score(nets: dict[tuple[str, int], Network]) -> dict[tuple[str, str], dict]:
    """Every TDCA cell, by (row, column): fresh agents trained by its network on the column's
    task and scored on unseen episodes (:func:`rl.evaluate_tdca`), beside the same agents never
    updated (``untrained``); missing networks are left out."""
    cells = {}
    for row, columns in TDCA_ROWS.items():
        for column, key in columns.items():
            net = nets[key]
            if net.missing is None:
                settings = net.on(column)
                cells[row, column] = rl.evaluate_tdca(settings, net.beta, settings.seeds) | {
                    "untrained": rl.evaluate_untrained(settings, settings.seeds)["final"]}
    return cells


def baselines() -> dict[tuple[str, str], list[rl_baselines.BaselineRun] | str]:
    """The stored baseline runs, or the message that says how to make them."""
    runs = {}
    for (method, task), budget in BASELINES.items():
        try:
            runs[method, task] = rl_baselines.load_runs(method, task, budget)
        except FileNotFoundError as err:
            runs[method, task] = str(err)
    return runs


def _cell(finals: torch.Tensor | list[float], task: str, budget: str) -> str:
    finals = torch.as_tensor(finals, dtype=torch.float64)
    verdict = "success" if finals.mean() >= rl.TASKS[task]["solved"] else "not solved"
    return f"{finals.mean():.1f} ± {finals.std():.1f} ({verdict}; {budget})"


def table(nets: dict, cells: dict, runs: dict) -> pd.DataFrame:
    """Table S5: ours (mean ± std over agents or seeds, each with its budget) beside the
    paper's. The untrained agents are those of the paper-horizon network where it has one."""
    rows: dict[str, dict[str, str]] = {"Reward range": dict(RANGES), "Untrained agent": {}}
    rows |= {name: {} for name in BASELINE_ROWS.values()} | {row: {} for row in TDCA_ROWS}
    for row, columns in TDCA_ROWS.items():
        for column, key in columns.items():
            net = nets[key]
            if net.missing:
                rows[row][column] = net.missing
                continue
            rows[row][column] = _cell(cells[row, column]["final"], column,
                                      f"{net.budget()}, {net.settings.seeds} agents")
            rows["Untrained agent"].setdefault(column, _cell(
                cells[row, column]["untrained"], column, f"{net.settings.seeds} agents"))
    for (method, task), found in runs.items():
        unit = "episodes" if method == "reinforce" else "env steps"
        rows[BASELINE_ROWS[method]][task] = found if isinstance(found, str) else _cell(
            [r.final for r in found], task, f"{BASELINES[method, task]} {unit}, "
            f"{len(found)} seeds")
    lines = []
    for row, by_column in rows.items():
        line = {"": row}
        for column in RANGES:
            line[f"{column}: ours"] = by_column.get(column, "-")
            line[f"{column}: paper"] = paper.TABLE_S5.get(column, {}).get(
                "TDCA-net" if row == PAPER_HORIZON else row, "-")
        lines.append(line)
    return pd.DataFrame(lines)


def curves(cells: dict, runs: dict) -> plt.Figure:
    """Return per training episode against the environment steps an agent has consumed: the
    TDCA-trained agents (mean over agents, their range shaded) beside the baselines' seeds."""
    fig, axes = plt.subplots(1, len(RANGES), figsize=(15, 3.4))
    styles = {PAPER_HORIZON: "-", "TDCA-net, fewer updates": ":"}
    for ax, column in zip(axes, RANGES):
        for (method, task), found in runs.items():  # beneath the TDCA curves
            if task == column and not isinstance(found, str):
                for i, run in enumerate(found):
                    ax.plot(run.env_steps, run.returns, color=BP_COLOR, alpha=0.4, lw=0.7,
                            zorder=1, label=f"{BASELINE_ROWS[method]} ({len(found)} seeds)"
                            if i == 0 else None)
        for (row, col), result in cells.items():
            if col == column:
                curve, steps = result["curve"], result["env_steps"]
                ax.fill_between(steps, curve.min(1).values, curve.max(1).values,
                                color=TDCA_COLOR, alpha=0.15, zorder=2)
                ax.plot(steps, curve.mean(1), color=TDCA_COLOR, ls=styles[row], zorder=3,
                        label=f"{row} (mean of {curve.shape[1]} agents)")
        ax.set(title=_judged_on(column), xlabel="environment steps", ylabel="episode return")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def horizons(nets: dict) -> dict[tuple[str, int], dict]:
    """:func:`rl.horizon_returns` of every shipped network on its own task: its agents trained
    on past its updates, to each multiple of :func:`rl.probe_multiples` but the first."""
    return {key: rl.horizon_returns(net.settings, net.beta, net.settings.seeds,
                                    rl.probe_multiples(net.settings)[1:])
            for key, net in nets.items() if net.missing is None}


def _judged_on(column: str) -> str:
    """``CartPole-v0 [0, 200]``: the task, with its range where that is an interval."""
    span = RANGES[column].split(" (")[0]
    return f"{column} {span}" if span.startswith("[") else column


def judge_claims(claims: Claims, nets: dict, cells: dict, runs: dict, longer: dict) -> None:
    """The section's claims, each with its evidence and budget, by the project's one rule
    (:meth:`Claims.compare`): over the agents (each the mean of its evaluation episodes),
    paired where both sides are the same agents; TD3's seeds are not, and a fixed bar (a task's
    "solved" return) does not vary. ``nets``: :func:`networks`; ``cells``:
    :func:`train_and_score`; ``runs``: :func:`baselines`; ``longer``: :func:`horizons`."""
    for row, columns in TDCA_ROWS.items():
        for column, (task, updates) in columns.items():
            net, name = nets[task, updates], f"{_judged_on(column)} ({updates} updates"
            if (row, column) not in cells:
                claims.judge(f"TDCA solves {name}; Table S5)", None, net.missing)
                continue
            final, solved = cells[row, column]["final"], rl.TASKS[column]["solved"]
            untrained = cells[row, column]["untrained"]
            budget = f"{net.budget()}, {net.settings.seeds} agents"
            claims.compare(f"TDCA solves {name}; Table S5)", final, solved, scale=1,
                           unit="return", evidence=f"final return {final.mean():.1f} minus the "
                           f"threshold {solved:g}; {budget} (paper: 200 updates, 3000 "
                           "generations)")
            claims.compare(f"(ours) The TDCA network improves {column} agents over the "
                           f"untrained ones ({net.budget()})", final, untrained, scale=1,
                           unit="return", evidence=f"final return {final.mean():.1f}, the "
                           f"same agents untrained on the same episodes {untrained.mean():.1f}")
    for (method, task), found in runs.items():
        rows = [row for row in TDCA_ROWS if task in TDCA_ROWS[row]] if method == "td3" else []
        for row in rows:
            updates = TDCA_ROWS[row][task][1]
            claim = f"TDCA beats TD3 on {task} ({updates} updates; Table S5)"
            if (row, task) not in cells or isinstance(found, str):
                claims.judge(claim, None, found if isinstance(found, str)
                             else nets[TDCA_ROWS[row][task]].missing)
                continue
            result, td3 = cells[row, task], [r.final for r in found]
            steps = result["env_steps"][-1].item()
            # A lead the untrained agents hold too is TD3's budget, not TDCA's training.
            claims.compare_all(claim, {
                "lead over TD3": difference(result["final"], td3, paired=False),
                "gain over the untrained agents": difference(result["final"],
                                                             result["untrained"])},
                scale=1, unit="return",
                evidence=f"TDCA {result['final'].mean():.1f} ({steps:.0f} env steps, "
                f"{len(result['final'])} agents) vs TD3 {sum(td3) / len(td3):.1f} "
                f"({BASELINES[method, task]} env steps, {len(td3)} seeds); the same agents "
                f"untrained {result['untrained'].mean():.1f}")
    for (task, updates), by_horizon in longer.items():
        row = next(row for row, cols in TDCA_ROWS.items() if cols.get(task) == (task, updates))
        one, longest = cells[row, task]["final"], max(by_horizon)
        last = by_horizon[longest]["final"]
        claims.compare(f"(ours) The {task} network evolved at {updates} updates keeps its agents "
                       f"at least as good over {longest}x the updates", last, one, scale=1,
                       unit="return", evidence=f"final return after {updates} updates "
                       f"{one.mean():.1f}, after {longest * updates} {last.mean():.1f}, the "
                       "same agents")
