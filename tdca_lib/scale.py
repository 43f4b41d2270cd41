"""The scale study (appendix, notebook 07): does more search close Table 1's gap?

One run evolves Table 1's cheapest supervised setting (MNIST, 20 inner steps, 1000 samples) with
one population size, evolution seed and search variant, for a budget of *member evaluations*
(one evaluation: one member's 20 inner steps and its fitness; the centre, evaluated alongside
for the log, is not counted). At milestones spaced for a log axis the run stops, judges its
centre on what the evolution never saw, and appends a point to its curve:

- ``meta_train``: test accuracy of a zero-initialised network trained by the centre on the
  evolution's own 1000 samples;
- ``meta_test``: the same on each of the disjoint 1000-sample subsets of
  :meth:`~tdca_lib.data.Dataset.meta_test` (the spread over data; a zero init leaves nothing to
  vary over seeds).

A run lives in ``data/scale/<name>/``: ``state.pt`` (resume state, small) and ``curve.json``
(the points, the settings, the command that makes it). Both are committed, so a run can be
continued in a later session and the curve is read back without running anything::

    python -m tdca_lib.scale --population 32 --seed 0 [--variant baseline] [--evaluations 51200]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from . import data, supervised
from .checkpoints import current_commit, versions
from .device import describe_device, keep_freed_memory
from .files import ROOT, atomic_write_text, locked
from .outer_loop import command, evolve, pgpe_for
from .profiles import evolved_settings

FOLDER = ROOT / "data" / "scale"
BUDGET = 51200  # member evaluations a run: the issue asks for at least 5 x 10^4

@dataclass(frozen=True)
class Variant:
    """A way to search, compared with the others at equal member evaluations: PGPE's keyword
    arguments over the baseline's (Adam at 0.03 on the centre, sigma 0.05 fixed), whether each
    generation's fitness uses a fresh random ``minibatch`` of the training samples (None: all
    of them, every generation), and whether the search starts from a TDCA network fitted by
    regression to emit DFA's credits (``warm_start``) instead of a random one."""

    about: str
    pgpe: dict[str, Any] = dataclasses.field(default_factory=dict)
    minibatch: int | None = None
    warm_start: bool = False


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("the paper's random start, sigma 0.05, Adam at 0.03 (notebook 02's "
                        "search until this ablation)"),
    "authors": Variant("the authors' later public code: sigma 0.1, SGD with momentum 0.9 at 0.1",
                       dict(sigma=0.1, optimizer="sgd", momentum=0.9, center_lr=0.1)),
    "sigma-adapt": Variant("sigma adapted (Sehnke et al.) at 0.1, at most 20% a generation",
                           dict(sigma_lr=0.1, sigma_max_change=0.2)),
    "clipup": Variant("ClipUp on the centre: step 0.15, max speed 0.3, momentum 0.9",
                      dict(optimizer="clipup", center_lr=0.15)),
    "minibatch": Variant("fitness on a fresh random 500 of the 1000 samples each generation",
                         minibatch=500),
    "dfa-start": Variant("starts from a TDCA network fitted by regression to DFA's credits",
                         warm_start=True),
    # the baseline's steps wreck the warm start (its centre's fitness falls from the first
    # generation): the same start with noise and steps a fifth and a tenth as large; it won this
    # ablation and is the 3-layer network's search in notebook 02 (supervised.DENSE_SEARCH)
    "dfa-start-small-steps": Variant("the DFA-fitted start, sigma 0.01 and Adam at 0.003",
                                     dict(sigma=0.01, center_lr=0.003), warm_start=True),
}


@dataclass(frozen=True)
class ScaleRun:
    """One run of the study: what it evolves (``population``, ``seed``, ``variant``) and for how
    many member evaluations. ``steps`` and ``train_size`` are Table 1's cheapest setting; tests
    shrink them."""

    population: int
    seed: int = 0
    variant: str = "baseline"
    evaluations: int = BUDGET
    dataset: str = "mnist"
    steps: int = 20
    train_size: int = 1000

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; valid: {', '.join(VARIANTS)}")
        if self.population < 2 or self.population % 2:
            raise ValueError(f"population must be even and >= 2 (antithetic pairs), got "
                             f"{self.population}")
        if self.evaluations < self.population:
            raise ValueError(f"evaluations ({self.evaluations}) must cover one generation of "
                             f"{self.population} members")

    @property
    def name(self) -> str:
        return (f"{self.dataset}-{self.steps}steps-{self.train_size}-{self.variant}"
                f"-pop{self.population}-seed{self.seed}")

    @property
    def settings(self) -> supervised.SupervisedSettings:
        """The supervised settings this run evolves with (its variant's PGPE aside)."""
        return supervised.SupervisedSettings(
            dataset=self.dataset, steps=self.steps, train_size=self.train_size,
            population=self.population, seed=self.seed, generations=self.generations)

    @property
    def generations(self) -> int:
        return math.ceil(self.evaluations / self.population)

    def milestones(self) -> list[int]:
        """Generations at which the centre is judged: 0, then about every doubling of
        evaluations from 100 to 6400, then every 6400 evaluations, and the last generation."""
        evaluations = [100 * 2**k for k in range(7)] + list(range(6400, self.evaluations, 6400))
        points = {0, self.generations}
        points |= {max(1, round(e / self.population)) for e in evaluations}
        return sorted(g for g in points if g <= self.generations)

    def command(self) -> str:
        return (f"python -m tdca_lib.scale --population {self.population} --seed {self.seed} "
                f"--variant {self.variant} --evaluations {self.evaluations}"
                + ("" if self.dataset == "mnist" else f" --dataset {self.dataset}"))


def pgpe_options(run: ScaleRun) -> dict[str, Any]:
    """PGPE's keyword arguments for ``run``: the baseline's, with its variant's over them."""
    s = run.settings
    return dict(sigma=s.sigma, center_lr=s.center_lr) | VARIANTS[run.variant].pgpe


def fitness_for(run: ScaleRun, train: data.Dataset):
    """The outer loop's fitness for ``run`` on its ``train`` subset: supervised's, on all of it
    or, for a minibatch variant, on a fresh random minibatch each generation (seeded by the run's
    seed and the generation, so a resumed run draws the same ones)."""
    settings, size = run.settings, VARIANTS[run.variant].minibatch
    if size is None:
        return supervised.fitness_function(settings, [train])

    def fitness(beta: torch.Tensor, generation: int, share=None):
        generator = torch.Generator().manual_seed(1_000_003 * run.seed + generation)
        rows = torch.randperm(len(train.y_train), generator=generator)[:size].to(
            train.y_train.device)
        batch = data.Dataset(train.name, train.x_train[rows], train.y_train[rows], train.x_test,
                             train.y_test, f"{train.source}, minibatch of {size}")
        return supervised.fitness_function(settings, [batch])(beta, generation, share)

    return fitness


def start_for(run: ScaleRun, train: data.Dataset) -> torch.Tensor:
    """``[D]``: the TDCA network the search starts from: a random one (seeded by the run's
    seed) or, for a warm-start variant, that one fitted to DFA's credits
    (:func:`~tdca_lib.supervised.fit_to_dfa`)."""
    warm = "dfa" if VARIANTS[run.variant].warm_start else None
    return supervised.search_start(dataclasses.replace(run.settings, warm_start=warm), [train])


def judge(run: ScaleRun, pool: data.Dataset, center: torch.Tensor) -> dict[str, Any]:
    """Test accuracy of zero-initialised networks the TDCA network ``center [D]`` trains on the
    evolution's subset (``meta_train``) and on each meta-test subset (``meta_test``, a list)."""
    settings = run.settings

    def accuracy(dataset: data.Dataset) -> float:
        result = supervised.run_bottom_up(settings, dataset, "tdca", 1, beta=center[None])
        return result["test_acc"].item()

    return {"meta_train": accuracy(pool.subset(run.train_size)),
            "meta_test": [accuracy(d) for d in pool.meta_test(run.train_size)]}


def curve_path(run: ScaleRun, folder: Path | None = None) -> Path:
    return (folder or FOLDER) / run.name / "curve.json"


def read_curve(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def evolve_run(run: ScaleRun, folder: Path | None = None, progress: bool = True) -> dict:
    """Evolve ``run`` to its budget, resuming from its folder, judging the centre at each
    milestone; returns its curve (also written to ``curve.json`` after every point)."""
    run_dir = (folder or FOLDER) / run.name
    path = curve_path(run, folder)
    pool = data.load(run.dataset)
    train = pool.subset(run.train_size)
    settings = run.settings
    fitness = fitness_for(run, train)
    start = start_for(run, train)
    pgpe = pgpe_for(settings, start, **VARIANTS[run.variant].pgpe)
    meta = evolved_settings(settings) | {"variant": run.variant}
    commit = current_commit(("tdca_lib",))  # the code this process loaded: a run spans commits,
    # so each point names the one that made it (its outputs under data/ are not code changes)
    with locked(run_dir):
        curve = read_curve(path) if path.exists() else {
            "name": run.name, "run": dataclasses.asdict(run), "command": run.command(),
            "settings": meta, "pgpe": pgpe_options(run), "points": []}
        if curve["run"] != dataclasses.asdict(run) | {"evaluations": curve["run"]["evaluations"]}:
            raise ValueError(f"{path} holds another run: {curve['run']}")
        curve["run"]["evaluations"] = run.evaluations  # a finished run can be extended
        curve["command"] = run.command()
        done = {p["generation"] for p in curve["points"]}
        for generation in run.milestones():
            if generation in done:
                continue
            began = time.perf_counter()
            log = evolve(fitness, pgpe, generation, run_dir=run_dir, meta=meta,
                         checkpoint_every=25, progress=progress,
                         desc=f"{run.name} (to {run.generations})")
            seconds = time.perf_counter() - began
            if generation and pgpe.generation != generation:
                raise RuntimeError(f"evolved to {pgpe.generation}, expected {generation}")
            point = {"generation": generation, "evaluations": generation * run.population,
                     "center_fitness": log[-1]["center"] if log else None,
                     **judge(run, pool, pgpe.center.detach()),
                     "evolution_seconds": round(seconds, 1),
                     "commit": commit}
            curve["points"].append(point)
            curve["points"].sort(key=lambda p: p["generation"])
            curve |= {"search": dataclasses.asdict(VARIANTS[run.variant]),
                      "threads": torch.get_num_threads(),
                      "device": describe_device(pgpe.center.device),
                      "versions": versions(), "commit": commit}
            atomic_write_text(path, json.dumps(curve, indent=1) + "\n")
            if progress:
                test = point["meta_test"]
                print(f"{run.name}: {point['evaluations']} evaluations, meta-test "
                      f"{100 * sum(test) / len(test):.2f}% (meta-train "
                      f"{100 * point['meta_train']:.2f}%)", flush=True)
    return curve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", choices=VARIANTS, default="baseline")
    parser.add_argument("--evaluations", type=int, default=BUDGET)
    parser.add_argument("--dataset", choices=data.DATASETS, default="mnist")
    parser.add_argument("--folder", type=Path, default=FOLDER,
                        help="where runs live (default: data/scale, committed)")
    args = parser.parse_args(argv)
    try:
        run = ScaleRun(args.population, args.seed, args.variant, args.evaluations, args.dataset)
    except ValueError as err:
        parser.error(str(err))
    keep_freed_memory()
    curve = evolve_run(run, args.folder)
    last = curve["points"][-1]
    print(f"{run.name}: {last['evaluations']} evaluations; meta-test "
          f"{100 * sum(last['meta_test']) / len(last['meta_test']):.2f}%; curve in "
          f"{curve_path(run, args.folder)}")


if __name__ == "__main__":
    raise SystemExit(command(main))


# --- Reading the runs back: notebook 07 ----------------------------------------------------------


def stored_curves(folder: Path | None = None) -> pd.DataFrame:
    """Every stored run's points, one row each: run, variant, population, seed, generation,
    evaluations, center_fitness (the search's own objective, minus the training cross-entropy;
    NaN at the start), meta_train, meta_test (mean over the subsets), meta_test_spread (their
    std), the run's budget and whether it reached it (``complete``)."""
    rows = []
    for path in sorted((folder or FOLDER).glob("*/curve.json")):
        curve = read_curve(path)
        run = curve["run"]
        last = max(p["evaluations"] for p in curve["points"])
        for p in curve["points"]:
            test = torch.tensor(p["meta_test"])
            rows.append({"run": curve["name"], "variant": run["variant"],
                         "population": run["population"], "seed": run["seed"],
                         "generation": p["generation"], "evaluations": p["evaluations"],
                         "center_fitness": (float("nan") if p["center_fitness"] is None
                                            else p["center_fitness"]),
                         "meta_train": p["meta_train"], "meta_test": test.mean().item(),
                         "meta_test_spread": test.std().item(), "budget": run["evaluations"],
                         "complete": last >= run["population"] * math.ceil(
                             run["evaluations"] / run["population"])})
    return pd.DataFrame(rows)


def trend(evaluations: Sequence[float], accuracy: Sequence[float],
          doublings: float = 1.0) -> dict[str, float]:
    """The accuracy gained per doubling of evaluations over the last ``doublings`` doublings:
    the slope of a least-squares line of ``accuracy`` against log2(``evaluations``) through
    the points with at least ``1 / 2**doublings`` of the largest evaluations. Returns
    ``per_doubling``, the evaluations ``span`` it used (first, last), the ``points`` it used
    and the accuracy at the ``end`` of the span, where an extrapolation starts from."""
    e = torch.tensor(evaluations, dtype=torch.float64)
    a = torch.tensor(accuracy, dtype=torch.float64)
    keep = (e >= e.max() / 2**doublings) & (e > 0)
    if keep.sum() < 2:
        raise ValueError("a trend needs at least two points with evaluations in its span")
    x, y = torch.log2(e[keep]), a[keep]
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return {"per_doubling": slope.item(), "span": (e[keep].min().item(), e[keep].max().item()),
            "points": int(keep.sum()), "end": y[x.argmax()].item()}


def evaluations_to_reach(line: dict[str, float], target: float) -> float | None:
    """The evaluations at which accuracy would reach ``target`` going on from the end of
    :func:`trend`'s span at its gain per doubling: an extrapolation, None when it does not
    rise. It starts from the measured end, not the fitted line, so it never lands inside the
    span it was fitted to (a line through a steep rise that is levelling off would)."""
    if line["per_doubling"] <= 0:
        return None
    return line["span"][1] * 2 ** ((target - line["end"]) / line["per_doubling"])


def yardsticks(pool: data.Dataset, run: ScaleRun, seeds: int = 5) -> dict[str, float]:
    """Meta-test test accuracy of the rules the curve is read against, trained on the same
    subsets for the same steps: BP and DFA, each from a zero and a Kaiming init (mean over the
    subsets x ``seeds`` initialisations; a zero init leaves the seeds nothing to vary)."""
    labels = {"Zero BP": "zero_bp", "Kaiming BP": "kaiming_bp", "Zero DFA": "zero_dfa",
              "Kaiming DFA": "kaiming_dfa"}
    subsets = pool.meta_test(run.train_size)
    return {label: torch.cat([supervised.run_bottom_up(run.settings, d, method, seeds)["test_acc"]
                              for d in subsets]).mean().item()
            for label, method in labels.items()}


def mean_over_seeds(curves: pd.DataFrame) -> pd.DataFrame:
    """Per variant, population and evaluations: meta-test (and meta-train) accuracy and the
    centre's fitness averaged over the evolution seeds that reached it, with their count and
    spread (std over seeds)."""
    grouped = curves.groupby(["variant", "population", "evaluations"])
    return grouped.agg(meta_test=("meta_test", "mean"), seed_spread=("meta_test", "std"),
                       meta_train=("meta_train", "mean"), center_fitness=("center_fitness", "mean"),
                       seeds=("seed", "nunique")).reset_index()


def trends(curves: pd.DataFrame, targets: dict[str, float],
           variant: str = "baseline") -> pd.DataFrame:
    """One row a population of ``variant``: how far its runs got, meta-test accuracy (%) at the
    largest evaluations all its seeds reached, the gain in points per doubling over the last
    doubling (:func:`trend`: the rate now, not that of a rise that is levelling off), the
    centre's fitness gained per doubling over the same span (does the search still improve its
    own objective?), where accuracy still rises, the evaluations at which going on at that gain
    would reach each of ``targets`` (label -> accuracy): an extrapolation, and the seed that
    went furthest, with its evaluations and meta-test accuracy there (the data an
    extrapolation from fewer evaluations must answer to)."""
    rows = []
    runs = curves[curves["variant"] == variant]
    means = mean_over_seeds(runs)
    for population, group in means.groupby("population"):
        seeds = group["seeds"].max()
        group = group[group["seeds"] == seeds]  # points every seed reached
        row = {"population": population, "seeds": seeds,
               "evaluations": int(group["evaluations"].max()),
               "meta-test accuracy (%)": 100 * group["meta_test"].iloc[-1]}
        furthest = runs[runs["population"] == population]
        furthest = furthest.loc[furthest["evaluations"].idxmax()]
        try:
            line = trend(group["evaluations"].tolist(), group["meta_test"].tolist())
        except ValueError:
            line = None
        row["points per doubling (last doubling)"] = (100 * line["per_doubling"] if line
                                                       else float("nan"))
        row["fitness per doubling (last doubling)"] = (trend(
            group["evaluations"].tolist(), group["center_fitness"].tolist())["per_doubling"]
            if line else float("nan"))
        for label, target in targets.items():
            reach = evaluations_to_reach(line, target) if line else None
            row[f"to reach {label} (extrapolated)"] = (
                "reached" if group["meta_test"].iloc[-1] >= target else
                round(reach) if reach is not None else "not rising")
        row |= {"furthest seed": int(furthest["seed"]),
                "its evaluations": int(furthest["evaluations"]),
                "its meta-test (%)": 100 * furthest["meta_test"]}
        rows.append(row)
    return pd.DataFrame(rows)


def describe_trends(table: pd.DataFrame) -> str:
    """:func:`trends`' table in sentences, one a population; extrapolations labelled."""
    lines = []
    for row in table.to_dict("records"):
        gain = row["points per doubling (last doubling)"]
        words = [f"population {row['population']} ({row['seeds']} seed"
                 f"{'s' * (row['seeds'] > 1)}, {row['evaluations']} evaluations): meta-test "
                 f"{row['meta-test accuracy (%)']:.2f}%",
                 "no trend yet (too few points)" if math.isnan(gain) else
                 f"{gain:+.2f} points per doubling over the last doubling, while the "
                 f"centre's fitness (minus the training cross-entropy) moved "
                 f"{row['fitness per doubling (last doubling)']:+.3f} per doubling"]
        for column, value in row.items():
            if not column.startswith("to reach "):
                continue
            target = column.removeprefix("to reach ").removesuffix(" (extrapolated)")
            if value == "reached":
                words.append(f"{target} reached")
            elif value == "not rising":
                words.append(f"{target} not reached, and accuracy does not rise over the "
                             "last doubling")
            else:
                words.append(f"{target} at about {value:.3g} evaluations going on at that "
                             f"gain (an extrapolation, {value / row['evaluations']:.3g}x the "
                             f"evaluations run)")
        if row["its evaluations"] > row["evaluations"]:
            words.append(f"seed {row['furthest seed']} went on to {row['its evaluations']} "
                         f"evaluations: {row['its meta-test (%)']:.2f}%")
        lines.append("; ".join(words) + ".")
    return "\n".join(lines)


def ablation(curves: pd.DataFrame, population: int = 32) -> pd.DataFrame:
    """The search variants of ``population`` side by side, each at equal member evaluations
    with ``baseline``: the largest evaluations every run of the variant and of the baseline has
    reached (the baseline's row: every baseline run's), so a run just begun holds back only its
    own row. One row a variant: its description, seeds, those ``evaluations``, its meta-test
    accuracy at the start (before any evaluation: a warm start shows here), meta-test and
    meta-train accuracy there (%, mean over seeds; meta-test also seed by seed) and its lead
    over ``baseline`` there, in points. Empty when no run has reached a milestone past the start."""
    runs = curves[curves["population"] == population]
    reached = runs[runs["evaluations"] > 0].groupby("run").agg(
        variant=("variant", "first"), last=("evaluations", "max"))
    base_reached = reached.loc[reached["variant"] == "baseline", "last"].min()  # NaN if none
    rows = []
    for name, group in runs.groupby("variant"):
        last = reached.loc[reached["variant"] == name, "last"].min()
        if math.isnan(last):
            continue  # only its start so far
        at = int(last if math.isnan(base_reached) else min(last, base_reached))
        there = group[group["evaluations"] == at]
        base = runs.loc[(runs["variant"] == "baseline") & (runs["evaluations"] == at),
                        "meta_test"].mean()
        rows.append({"variant": name, "search": VARIANTS[name].about,
                     "seeds": there["seed"].nunique(), "evaluations": at,
                     "meta-test at the start (%)":
                         100 * group.loc[group["evaluations"] == 0, "meta_test"].mean(),
                     "meta-test accuracy (%)": 100 * there["meta_test"].mean(),
                     "meta-test by seed (%)": ", ".join(  # the spread over evolutions
                         f"{100 * v:.2f}" for v in there.sort_values("seed")["meta_test"]),
                     "meta-train accuracy (%)": 100 * there["meta_train"].mean(),
                     "lead over baseline (points)": 100 * (there["meta_test"].mean() - base)})
    return pd.DataFrame(rows)
