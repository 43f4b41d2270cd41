"""Meta-World, Table S6, notebook 06: one TDCA network trains the agents of three task types.

The evaluation of both splits (the shipped network and the untrained agents it starts from),
Table S6 beside the SAC baseline and the paper, and the section's claims. The environments live
in :mod:`tdca_lib.experiments.metaworld_envs`, the evolution in :mod:`tdca_lib.experiments.rl`.
"""

from __future__ import annotations

import torch

from . import rl

SPLIT_NAMES = ("train", "test")


def evaluate_splits(settings: rl.RLSettings, beta: torch.Tensor) -> dict[str, dict]:
    """Train ``settings.seeds`` fresh sets of agents with the TDCA network ``beta [1, D]`` on
    each split's variants, and score the same agents untrained on the same episodes.

    Returns, for ``"train"``, ``"test"``, ``"train (untrained)"`` and ``"test (untrained)"``,
    :func:`tdca_lib.experiments.rl.evaluate_tdca`'s result (``final``, ``success``: ``[R]``, R =
    seeds x variants, member-major; the untrained:
    :func:`tdca_lib.experiments.rl.evaluate_untrained`'s); the trained ones also carry
    ``task_ids [R]``, each row's index into
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
