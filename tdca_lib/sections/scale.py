"""Notebook 07's section (the scale study): the stored curves, their trends, the search
variants' ablation, the searches aimed at unseen data, and the claims."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..experiments import supervised
from ..experiments.scale import FOLDER, LONG_STEPS, VARIANTS, ScaleRun, read_curve
from ..machinery import claims, data


def stored_curves(folder: Path | None = None) -> pd.DataFrame:
    """Every stored run's points, one row each: run, variant, population, seed, generation,
    evaluations, center_fitness (the search's own objective, minus the training cross-entropy;
    NaN at the start), meta_train, meta_test (mean over the subsets), meta_test_spread (their
    std), meta_test_50 (the mean at :data:`LONG_STEPS` inner steps) and validation (NaN where a
    point predates them), the run's budget and whether it reached it (``complete``)."""
    rows = []
    for path in sorted((folder or FOLDER).glob("*/curve.json")):
        curve = read_curve(path)
        run = curve["run"]
        for p in curve["points"]:
            test = torch.tensor(p["meta_test"])
            rows.append({"run": curve["name"], "variant": run["variant"],
                         "population": run["population"], "seed": run["seed"],
                         "generation": p["generation"], "evaluations": p["evaluations"],
                         "center_fitness": (float("nan") if p["center_fitness"] is None
                                            else p["center_fitness"]),
                         "meta_train": p["meta_train"], "meta_test": test.mean().item(),
                         "meta_test_spread": test.std().item(),
                         # judged since the searches aimed at unseen data (NaN before)
                         "meta_test_50": (torch.tensor(p["meta_test_50"]).mean().item()
                                          if "meta_test_50" in p else float("nan")),
                         "validation": p.get("validation", float("nan")),
                         "budget": run["evaluations"], "complete": at_budget(curve)})
    return pd.DataFrame(rows)


def at_budget(curve: dict) -> bool:
    """Whether a stored run reached its budget (whole generations: it may pass it)."""
    run, last = curve["run"], max(p["evaluations"] for p in curve["points"])
    return last >= run["population"] * math.ceil(run["evaluations"] / run["population"])


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


def yardsticks(pool: data.Dataset, run: ScaleRun, seeds: int = 5) -> pd.DataFrame:
    """Meta-test test accuracy of the rules the curve is read against, trained on the same
    subsets for the same steps: BP and DFA, each from a zero and a Kaiming init. One row a
    meta-test subset (in the order a curve's points list them), one column a rule, each the
    mean over ``seeds`` initialisations (a zero init leaves the seeds nothing to vary); its
    ``mean()`` is the yardstick a curve is read against."""
    labels = {"Zero BP": "zero_bp", "Kaiming BP": "kaiming_bp", "Zero DFA": "zero_dfa",
              "Kaiming DFA": "kaiming_dfa"}
    subsets = pool.meta_test(run.train_size)
    return pd.DataFrame({label: [supervised.run_bottom_up(run.settings, d, method, seeds)
                                 ["test_acc"].mean().item() for d in subsets]
                         for label, method in labels.items()})


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


def stored_runs(folder: Path | None = None) -> dict[tuple[str, int], list[dict]]:
    """The stored curves, by variant and population, seed after seed."""
    runs: dict[tuple[str, int], list[dict]] = {}
    for path in sorted((folder or FOLDER).glob("*/curve.json")):
        curve = read_curve(path)
        runs.setdefault((curve["run"]["variant"], curve["run"]["population"]), []).append(curve)
    return runs


def warm_runs(folder: Path | None = None, population: int = 32) -> dict[str, list[dict]]:
    """The stored curves of every search that starts from the DFA-fitted network
    (:attr:`SearchVariant.warm_start`) at ``population``, by variant."""
    return {variant: curves for (variant, size), curves in stored_runs(folder).items()
            if size == population and variant in VARIANTS and VARIANTS[variant].warm_start}


def values_at(curves: list[dict], at: int, key: str = "meta_test") -> dict[int, list[float]]:
    """Each seed's ``key`` values (one a meta-test subset) at ``at`` evaluations, by seed;
    seeds that did not get there, or judged it before ``key`` was recorded, left out."""
    found = {}
    for c in curves:
        point = next((p for p in c["points"] if p["evaluations"] == at), {})
        if key in point:
            found[c["run"]["seed"]] = point[key]
    return found


def reached(curves: list[dict]) -> int:
    """The largest member evaluations every one of ``curves`` reached."""
    return min(max(p["evaluations"] for p in c["points"]) for c in curves)


def start_and_end(curves: list[dict], at: int, key: str) -> tuple[list[float], list[float]]:
    """``key``'s values (``meta_test`` or ``meta_test_50``: one a subset) at the start and at
    ``at`` evaluations, seed after seed, paired subset by subset; empty where a seed's start or
    point there lacks ``key`` (judged before it was recorded)."""
    start, end = [], []
    for c in curves:
        points = {p["evaluations"]: p for p in c["points"]}
        if key not in points[0] or key not in points.get(at, {}):
            return [], []
        start += points[0][key]
        end += points[at][key]
    return start, end


def improvements(folder: Path | None = None, population: int = 32) -> pd.DataFrame:
    """One row a search from the DFA-fitted start (:func:`warm_runs`): at the largest
    evaluations every one of its seeds reached, its meta-test accuracy at 20 and
    :data:`LONG_STEPS` inner steps and the change from its start, paired subset by subset and
    seed by seed (:func:`~tdca_lib.machinery.claims.difference`), with the rule's verdict on "it
    improves on its start"; the gap between the test accuracy a network trained on the
    evolution's own samples reaches and the meta-test one, at the start and evolved (what the
    search did to it); and, picked per seed by ``validation`` (the evolution's own samples,
    never meta-test), the milestone it would ship and that centre's meta-test. Points judged
    before a horizon or validation was recorded leave those cells empty."""
    rows = []
    for variant, curves in warm_runs(folder, population).items():
        at = reached(curves)
        if at == 0:
            continue  # only its start so far
        row = {"variant": variant, "search": VARIANTS[variant].about, "seeds": len(curves),
               "evaluations": at}
        for key, steps in (("meta_test", 20), ("meta_test_50", LONG_STEPS)):
            start, end = start_and_end(curves, at, key)
            diff = claims.difference(end, start) if start else None
            row |= {f"start, {steps} steps (%)": 100 * np.mean(start) if start else np.nan,
                    f"evolved, {steps} steps (%)": 100 * np.mean(end) if start else np.nan,
                    f"change, {steps} steps": diff.describe() if diff else "",
                    f"verdict, {steps} steps": claims.verdict(diff) if diff else ""}
        # what the search did to the gap between its own samples and unseen ones
        for when, points in (("start", [c["points"][0] for c in curves]),
                             ("evolved", [next(p for p in c["points"] if p["evaluations"] == at)
                                          for c in curves])):
            row[f"own - unseen, {when} (points)"] = 100 * np.mean(
                [p.get("meta_train", np.nan) - np.mean(p["meta_test"]) for p in points])
        picked = [max((p for p in c["points"] if "validation" in p and p["evaluations"] <= at),
                      key=lambda p: p["validation"], default=None) for c in curves]
        row["picked by validation (evaluations)"] = ", ".join(
            str(p["evaluations"]) if p else "-" for p in picked)
        row["picked, 20 steps (%)"] = (100 * np.mean([v for p in picked for v in p["meta_test"]])
                                       if all(picked) else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def earns_its_place(table: pd.DataFrame, yardsticks: pd.DataFrame,
                    folder: Path | None = None, population: int = 32) -> str:
    """Which search the shipped 3-layer networks should use, by the issue's test: a search from
    the DFA-fitted start that improves on its start at 20 inner steps (*supported*), beats zero-
    init DFA there (the evolved centre's meta-test, mean over seeds, against DFA's, paired subset
    by subset: *supported*) and does not lose at 50 steps (not *not supported*). ``table``:
    :func:`improvements`; ``yardsticks``: :func:`yardsticks` (a row a subset). One line a
    search, then the decision."""
    lines, qualified, runs = [], [], warm_runs(folder, population)
    for row in table.to_dict("records"):
        curves = runs[row["variant"]]
        _, end = start_and_end(curves, row["evaluations"], "meta_test")
        by_subset = np.asarray(end).reshape(len(curves), -1).mean(0)
        against_dfa = claims.difference(by_subset, yardsticks["Zero DFA"].to_numpy())
        beats_dfa = claims.verdict(against_dfa) == claims.SUPPORTED
        passes = (row["verdict, 20 steps"] == claims.SUPPORTED and beats_dfa
                  and row["verdict, 50 steps"] != claims.NOT_SUPPORTED)
        qualified += [row["variant"]] * passes
        at_50 = (f"{row['change, 50 steps']} ({row['verdict, 50 steps']})"
                 if row["verdict, 50 steps"] else "not recorded")
        lines.append(
            f"- {row['variant']} ({row['seeds']} seeds, {row['evaluations']} evaluations): "
            f"{row['change, 20 steps']} at 20 steps ({row['verdict, 20 steps']}), {at_50} at "
            f"50; against zero-init DFA at 20 steps {against_dfa.describe()} "
            f"({claims.verdict(against_dfa)}); the gap between its own samples and unseen "
            f"ones {row['own - unseen, start (points)']:+.2f} -> "
            f"{row['own - unseen, evolved (points)']:+.2f} points")
    if qualified:
        best = max(qualified, key=lambda v: float(table.set_index("variant").loc[
            v, "evolved, 20 steps (%)"]))
        lines.append(f"{best} passes: it becomes the shipped 3-layer networks' search.")
    else:
        search = supervised.DENSE_SEARCH
        lines.append("No search passes: none improves on its start on meta-test by the rule. "
                     "The shipped 3-layer networks keep their search (the DFA-fitted start, "
                     f"sigma {search['sigma']}, Adam at {search['center_lr']}), and at this "
                     "budget evolution has not earned its place over the network it starts "
                     "from.")
    return "\n".join(lines)


def fitted_by_seed(folder: Path | None = None, population: int = 32) -> dict[int, list[float]]:
    """The DFA-fitted start's meta-test accuracy on each subset, by fit seed (the fit depends
    on the seed alone, whichever search then starts from it)."""
    starts: dict[int, list[float]] = {}
    for curves in warm_runs(folder, population).values():
        starts |= values_at(curves, 0)
    return starts


def fitted_starts(folder: Path | None = None, population: int = 32) -> pd.DataFrame:
    """One row a fit seed of the DFA-fitted start (the fit depends on the seed alone): its
    meta-test accuracy before any evolution (%, mean over the subsets) and, evolved on from it
    with the baseline's steps (``dfa-start``), where it stands at the largest evaluations all
    those seeds reached (0, and NaN there, without one) and the lowest it fell to along the
    way."""
    evolved = warm_runs(folder, population).get("dfa-start", [])
    at = reached(evolved) if evolved else 0
    rows = []
    for seed, start in sorted(fitted_by_seed(folder, population).items()):
        run = [c for c in evolved if c["run"]["seed"] == seed]
        means = [np.mean(p["meta_test"]) for c in run for p in c["points"]]
        there = values_at(run, at).get(seed)
        rows.append({"seed": seed, "fitted, no evolution (%)": 100 * np.mean(start),
                     "dfa-start evaluations": at,
                     "dfa-start there (%)": 100 * np.mean(there) if there else np.nan,
                     "dfa-start lowest (%)": 100 * min(means) if means else np.nan})
    return pd.DataFrame(rows)


def judge_claims(table: claims.Claims, yardsticks: pd.DataFrame, folder: Path | None = None,
                 population: int = 32) -> None:
    """Record the study's claims by the project's one rule
    (:meth:`~tdca_lib.machinery.claims.Claims.compare`), paired subset by subset and, where
    both sides have evolution seeds, seed by seed: each baseline population reaches Zero BP's
    meta-test accuracy (``yardsticks``: :func:`yardsticks`' table); each search variant at
    ``population`` leads the baseline at equal evaluations; the DFA-fitted start, unevolved,
    reaches Zero BP; and each search from it improves on it, at 20 steps and (where recorded)
    at :data:`LONG_STEPS`."""
    runs, zero_bp = stored_runs(folder), list(yardsticks["Zero BP"])
    against_bp = f"against Zero BP's {100 * np.mean(zero_bp):.2f}%, subset by subset"
    for size in sorted(size for variant, size in runs if variant == "baseline"):
        curves = runs["baseline", size]
        at = reached(curves)
        tdca = values_at(curves, at)
        table.compare(f"(ours) at population {size}, with the search run so far, the TDCA "
                      "network reaches Zero BP's meta-test accuracy (Table 1's claim, judged "
                      "on unseen data)", sum(tdca.values(), []), zero_bp * len(tdca),
                      evidence=f"{_over(tdca)} at {at} evaluations {against_bp}; "
                      f"{sum(map(at_budget, curves))} of {len(curves)} runs at their budget")
    baseline = runs.get(("baseline", population), [])
    for (variant, size), curves in sorted(runs.items()):
        at = min(reached(curves), reached(baseline)) if baseline else 0
        if size != population or variant == "baseline" or at == 0:
            continue
        ours, theirs = values_at(curves, at), values_at(baseline, at)
        both = {seed: ours[seed] for seed in sorted(ours.keys() & theirs.keys())}
        table.compare(f"(ours) the search variant {variant} leads the random-start baseline on "
                      "meta-test at equal evaluations", sum(both.values(), []),
                      sum((theirs[seed] for seed in both), []),
                      evidence=f"{_over(both)} at {at} evaluations, seed by seed")
    starts = fitted_by_seed(folder, population)
    if starts:
        table.compare("(ours) a TDCA network fitted by regression to DFA's credits, with no "
                      "evolution, reaches Zero BP's meta-test accuracy",
                      sum(starts.values(), []), zero_bp * len(starts),
                      evidence=f"{_over(starts, 'fit seed')} {against_bp}")
    for variant, curves in warm_runs(folder, population).items():
        at = reached(curves)
        if at == 0:
            continue
        for key, steps in (("meta_test", 20), ("meta_test_50", LONG_STEPS)):
            start, end = start_and_end(curves, at, key)
            if start:
                table.compare(f"(ours) evolution with {variant} improves on its start on "
                              f"meta-test, {steps} steps", end, start,
                              evidence=f"{len(curves)} seed{'s' * (len(curves) > 1)} x "
                              f"{data.META_TEST_SUBSETS} subsets at {at} evaluations")


def _over(values: dict[int, list[float]], what: str = "seed") -> str:
    """``"2 seeds x 3 subsets"``: what a comparison of ``values`` (by seed) is over."""
    subsets = len(next(iter(values.values()), []))
    return f"{len(values)} {what}{'s' * (len(values) != 1)} x {subsets} subsets"
