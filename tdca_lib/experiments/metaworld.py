"""Meta-World, Table S6, notebook 06: one TDCA network trains the agents of three task types.

The evaluation of both splits (the shipped network and the untrained agents it starts from),
Table S6 beside the SAC baseline and the paper, and the section's claims. The environments live
in :mod:`tdca_lib.experiments.metaworld_envs`, the evolution in :mod:`tdca_lib.experiments.rl`.
"""

from __future__ import annotations

import pandas as pd
import torch

from ..machinery import paper
from ..machinery.claims import Claims
from . import rl
from .metaworld_envs import SPLITS, TASK_TYPES
from .rl_baselines import BaselineRun

SPLIT_NAMES = ("train", "test")
TOLERANCE = 0.8  # "barely drops": the test return is at least this share of the training one


def evaluate_splits(settings: rl.RLSettings, beta: torch.Tensor) -> dict[str, dict]:
    """Train ``settings.seeds`` fresh sets of agents with the TDCA network ``beta [1, D]`` on
    each split's variants, and score the same agents untrained on the same episodes.

    Returns, for ``"train"``, ``"test"``, ``"train (untrained)"`` and ``"test (untrained)"``,
    :func:`tdca_lib.experiments.rl.evaluate_tdca`'s result (``final``, ``success``: ``[R]``, R =
    seeds x
    variants, member-major; the untrained: :func:`tdca_lib.experiments.rl.evaluate_untrained`'s);
    the
    trained ones also carry ``task_ids [R]``, each row's index into
    :data:`~tdca_lib.experiments.metaworld_envs.TASK_TYPES`."""
    results = {}
    for split in SPLIT_NAMES:
        env = rl.make_env(settings, settings.seeds, split=split)  # a MuJoCo model a row: reused
        results[split] = rl.evaluate_tdca(settings, beta, settings.seeds, split=split, env=env)
        results[split]["task_ids"] = env.task_ids
        results[f"{split} (untrained)"] = rl.evaluate_untrained(settings, settings.seeds,
                                                                split=split, env=env)
        env.close()
    return results


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
    """Judge the section's claims into ``claims``: per task type, the test return barely drops
    from training; the network improves every task type's agents over the untrained ones (by
    more than one standard error of the untrained mean); and (ours) the test agents are at least
    as good after the longest multiple of the evolved updates probed (``finals``: multiple of
    the updates -> the final returns ``[R]``, from :func:`tdca_lib.experiments.rl.horizon_returns`;
    empty
    when not run).
    ``results`` as in :func:`table_s6`; with it empty, the claims are "not tested" and cite
    ``beta``, the reason the network is missing."""
    for k, task in enumerate(TASK_TYPES):
        claim = f"{task}: the test score barely drops from training (Table S6)"
        if not results:
            claims.judge(claim, None, beta)
            continue
        train, test = (results[s]["final"][results[s]["task_ids"] == k].mean().item()
                       for s in SPLIT_NAMES)
        claims.judge(claim, test >= TOLERANCE * train, f"mean return train {train:.1f}, test "
                     f"{test:.1f} (ratio {test / train:.2f}; >= {TOLERANCE:.2f} counts)")
    if results:
        gains, noises = [], []
        for k in range(len(TASK_TYPES)):
            trained, untrained = (results[s]["final"][results["train"]["task_ids"] == k]
                                  for s in ("train", "train (untrained)"))
            gains.append((trained.mean() - untrained.mean()).item())
            noises.append((untrained.std() / len(untrained) ** 0.5).item())  # one standard error
        claims.judge("One TDCA network serves all three task types: it improves each task's "
                     "agents over the untrained ones (Table S6)",
                     all(g > n for g, n in zip(gains, noises)),
                     "training-variant return gain over the untrained agents (one standard "
                     "error of their mean): " + ", ".join(
                         f"{t.removesuffix('-v3')} {g:+.1f} ({n:.1f})"
                         for t, g, n in zip(TASK_TYPES, gains, noises))
                     + "; a gain above it counts")
    else:
        claims.judge("One TDCA network serves all three task types (Table S6)", None, beta)
    if finals:
        noise = (finals[1].std() / len(finals[1]) ** 0.5).item()  # one standard error
        longest = max(finals)
        claims.judge(f"(ours) The network keeps test agents at least as good over {longest}x the "
                     "updates it was evolved for",
                     bool(finals[longest].mean() >= finals[1].mean() - noise),
                     f"test return after {settings.updates} updates {finals[1].mean():.1f}, "
                     f"after {longest * settings.updates} {finals[longest].mean():.1f} (one "
                     f"standard error {noise:.1f} allowed)")
