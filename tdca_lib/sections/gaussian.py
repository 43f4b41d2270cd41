"""Notebook 01's section (Fig 1, Fig 2): the rules compared, the probes' table and the claims."""

from __future__ import annotations

import pandas as pd
import torch

from ..experiments.gaussian import FAR, REACH_TOLERANCE, Landscape, reaches
from ..machinery.claims import Claims


def describe_rules(rules: dict[str, dict]) -> str:
    """One line per rule of :func:`compare_rules`' result."""
    return "\n".join(
        f"{name:4s}: {r['reach']:.1%} of {r['starts']} starts reach the global minimum; "
        f"{r['toward']:.1%} of updates point toward it inside the red circle "
        f"({r['basin_points']} points) {r['basin_toward_global']:.0%} point toward it, "
        f"{r['basin_toward_local']:.0%} toward the local minimum; median update size far from "
        f"the centre {r['far_size']:.2e}" for name, r in rules.items())


def probe_table(networks: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per network and probe (``networks`` maps a name to :func:`probe`'s results): the
    share of starts that reach the probe's global minimum (BP, TDCA) and the share of TDCA runs
    that end at the evolved landscape's minimum instead (where the two differ)."""
    rows = []
    for network, results in networks.items():
        for r in results:
            moved_minimum = (r["minimum"] - r["evolved_minimum"]).norm() > REACH_TOLERANCE
            share = lambda final, target: reaches(final, target).float().mean().item()  # noqa: E731
            rows.append({
                "network": network, "task": r["task"], "probe": r["probe"],
                "starts": len(r["starts"]),
                "BP reaches the global minimum": share(r["bp_final"], r["minimum"]),
                "TDCA reaches the global minimum": share(r["tdca_final"], r["minimum"]),
                "TDCA ends at the evolved minimum instead":
                    share(r["tdca_final"], r["evolved_minimum"]) if moved_minimum
                    else float("nan")})
    return pd.DataFrame(rows)


def judge_claims(claims: Claims, landscape: Landscape, bp_path: torch.Tensor,
                 tdca_path: torch.Tensor, rules: dict[str, dict], tasks: dict,
                 probes: pd.DataFrame) -> None:
    """Judge the Gaussian section's claims (Fig 2 and our probes) into ``claims``.

    ``bp_path``, ``tdca_path`` ``[steps + 1, 2]``: both rules from the same start on
    ``landscape``; ``rules``: :func:`compare_rules`' result; ``tasks``: :func:`compare_tasks`';
    ``probes``: :func:`probe_table`'s. The thresholds are ours and stated in the evidence."""
    global_min, local_min = landscape.minima()
    tol = REACH_TOLERANCE
    bp, tdca = rules["BP"], rules["TDCA"]
    bp_miss, tdca_miss = (bp_path[-1] - local_min).norm(), (tdca_path[-1] - global_min).norm()
    claims.judge("BP stops in the local minimum (Fig 2b)", bool(bp_miss < tol),
                 f"BP ends {bp_miss:.3f} from the local minimum (tolerance {tol})")
    claims.judge("TDCA reaches the global minimum from the same start (Fig 2c-d)",
                 bool(tdca_miss < tol),
                 f"TDCA ends {tdca_miss:.3f} from the global minimum (tolerance {tol})")
    claims.judge("From any start TDCA reaches the global minimum, BP not (Fig 2e-f)",
                 tdca["reach"] >= 0.95 and bp["reach"] < tdca["reach"],
                 f"grid starts reaching it: TDCA {tdca['reach']:.1%}, BP {bp['reach']:.1%} "
                 "(TDCA >= 95%)")
    claims.judge("TDCA's field points to the global minimum everywhere; BP's has a basin at the "
                 "local one (Fig 2e-f)",
                 min(tdca["toward"], tdca["basin_toward_global"]) >= 0.95
                 and bp["basin_toward_local"] >= 0.9,
                 f"TDCA's updates toward the global minimum: {tdca['toward']:.1%} of the grid, "
                 f"{tdca['basin_toward_global']:.0%} inside the circle (>= 95%); BP's inside "
                 f"the circle toward the local minimum: {bp['basin_toward_local']:.0%} (>= 90%)")
    claims.judge("BP's updates vanish far from the centre, TDCA's do not (Fig 2e-f)",
                 tdca["far_size"] >= 10 * bp["far_size"],
                 f"median update size >= {FAR} from the minimum: TDCA "
                 f"{tdca['far_size']:.2e}, BP {bp['far_size']:.2e} (TDCA >= 10x BP)")
    reach = tasks["reach"]
    claims.judge("One TDCA network, told the task id, drives each task to its own optimum "
                 "(Fig 2h-i)",
                 min(reach) >= 0.95 and tasks["fields_differ"] > 0.01,
                 f"starts reaching their task's global minimum: {reach[0]:.1%}, "
                 f"{reach[1]:.1%} (>= 95%); median field difference {tasks['fields_differ']:.3f}")
    wide = probes[probes.probe.str.startswith("evolved landscape")]
    elsewhere = probes[~probes.probe.str.startswith("evolved landscape")]  # moved, swapped
    claims.judge("(our probe) TDCA reaches the global minimum from starts outside its evolution's "
                 "box",
                 bool(wide["TDCA reaches the global minimum"].min() >= 0.95),
                 "starts in [-10, 10]^2 outside [-5, 5]^2 reaching it: " + ", ".join(
                     f"{network} task {task} {share:.1%}" for network, task, share in
                     zip(wide.network, wide.task, wide["TDCA reaches the global minimum"]))
                 + " (>= 95%)")
    tdca_reach, bp_reach = (elsewhere[f"{rule} reaches the global minimum"]
                            for rule in ("TDCA", "BP"))
    claims.judge("(our probe) TDCA's rule follows a moved landscape to its new global minimum",
                 bool(tdca_reach.min() >= 0.5),
                 f"moved or swapped landscapes, starts reaching the new minimum: TDCA "
                 f"{tdca_reach.min():.1%} to {tdca_reach.max():.1%}, BP {bp_reach.min():.1%} to "
                 f"{bp_reach.max():.1%} (TDCA >= 50%); TDCA ends at the evolved landscape's "
                 f"minimum from at least "
                 f"{elsewhere['TDCA ends at the evolved minimum instead'].min():.1%} of starts")
