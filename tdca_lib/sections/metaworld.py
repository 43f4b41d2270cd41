"""Notebook 06's section (Table S6): the table beside the paper's, and its claims."""

from __future__ import annotations

import pandas as pd
import torch

from ..experiments import rl
from ..experiments.metaworld import SPLIT_NAMES
from ..experiments.metaworld_envs import SPLITS, TASK_TYPES
from ..experiments.rl_baselines import BaselineRun
from ..machinery import paper
from ..machinery.claims import Claims, difference

TOLERANCE = 0.8  # "barely drops": the test return is at least this share of the training one


def table_s6(results: dict[str, dict], sac_runs: list[BaselineRun] | str,
             beta: torch.Tensor | str) -> pd.DataFrame:
    """Table S6: one row per task type and split (train, then test), with the TDCA network's
    and the untrained agents' mean return and success rate, SAC's (training variants only: it
    never sees the test ones) and the paper's, all as formatted strings.

    ``results``: :func:`evaluate_splits`' (empty when the network is missing); ``sac_runs``: the
    stored SAC runs, or why they are missing; ``beta``: the network, or why it is missing (its
    text then fills the TDCA column)."""
    rows = []
    for k, task in enumerate(TASK_TYPES):
        name = task.removesuffix("-v3")
        for split in SPLIT_NAMES:
            row = {"Task": name, "Split": f"{split} ({len(SPLITS[split])} inits)"}
            if split in results:
                mask = results[split]["task_ids"] == k
                for label, key in (("TDCA", split), ("untrained", f"{split} (untrained)")):
                    ret = results[key]["final"][mask].mean().item()
                    success = results[key]["success"][mask].mean().item()
                    row[f"{label}: return"] = f"{ret:.1f}"
                    row[f"{label}: success"] = f"{success:.0%}"
            else:
                row["TDCA: return"] = beta
            row["SAC: return"] = row["SAC: success"] = "-"  # SAC never sees the test variants
            if split == "train" and isinstance(sac_runs, str):
                row["SAC: return"] = "not run (above: how)"
            elif split == "train":
                mine = [r for r in sac_runs if r.task.startswith(f"{task}/train")]
                row["SAC: return"] = f"{sum(r.final for r in mine) / len(mine):.1f}"
                row["SAC: success"] = f"{sum(r.success for r in mine) / len(mine):.0%}"
            row["Paper: return"], row["Paper: success"] = paper.TABLE_S6[split][name]
            rows.append(row)
    return pd.DataFrame(rows)


def judge_claims(claims: Claims, results: dict[str, dict], finals: dict[int, torch.Tensor],
                 settings: rl.RLSettings, beta: torch.Tensor | str) -> None:
    """Judge the section's claims into ``claims`` by the project's one rule
    (:meth:`Claims.compare`, over the rows: agent sets x variants): per task type, the test
    return barely drops from training (test minus :data:`TOLERANCE` x train, unpaired: other
    variants); the network improves every task type's agents over the same agents untrained
    (paired); and (ours) the test agents are at least as good after the longest multiple of
    the evolved updates probed (paired; ``finals``: multiple of the updates -> the final
    returns ``[R]``, from :func:`tdca_lib.experiments.rl.horizon_returns`; empty when not run).
    ``results`` as in :func:`table_s6`; with it empty, the claims are "not tested" and cite
    ``beta``, the reason the network is missing."""
    for k, task in enumerate(TASK_TYPES):
        claim = f"{task}: the test score barely drops from training (Table S6)"
        if not results:
            claims.judge(claim, None, beta)
            continue
        train, test = (results[s]["final"][results[s]["task_ids"] == k] for s in SPLIT_NAMES)
        claims.compare(claim, test, TOLERANCE * train, paired=False, scale=1, unit="return",
                       evidence=f"test minus {TOLERANCE:.2f} x train; mean return train "
                       f"{train.mean():.1f}, test {test.mean():.1f} (ratio "
                       f"{test.mean() / train.mean():.2f})")
    if results:
        ids = results["train"]["task_ids"]
        claims.compare_all(
            "One TDCA network serves all three task types: it improves each task's agents over "
            "the untrained ones (Table S6)",
            {task.removesuffix("-v3"): difference(results["train"]["final"][ids == k],
                                                  results["train (untrained)"]["final"][ids == k])
             for k, task in enumerate(TASK_TYPES)},
            scale=1, unit="return", evidence="training-variant return gain over the same "
            "agents untrained, each task type's")
    else:
        claims.judge("One TDCA network serves all three task types (Table S6)", None, beta)
    if finals:
        longest = max(finals)
        claims.compare(f"(ours) The network keeps test agents at least as good over {longest}x "
                       "the updates it was evolved for", finals[longest], finals[1], scale=1,
                       unit="return", evidence=f"test return after {settings.updates} updates "
                       f"{finals[1].mean():.1f}, after {longest * settings.updates} "
                       f"{finals[longest].mean():.1f}, the same agents")
