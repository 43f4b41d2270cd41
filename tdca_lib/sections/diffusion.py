"""Notebook 03's section (Fig 4, Table S3): the credit-diffusion networks' trainings, Table S3
and its claims."""

from __future__ import annotations

import pandas as pd
import torch

from ..experiments import supervised
from ..experiments.diffusion import CONFIGS
from ..experiments.supervised import (
    DENSE,
    SupervisedSettings,
    settings_for,
    shipped_tdca,
)
from ..machinery import paper
from ..machinery.checkpoints import CheckpointMissing
from ..machinery.claims import Claims
from ..machinery.data import DATASETS, TITLES, Dataset
from . import supervised as supervised_section
from .supervised import Runs

TOLERANCE = 0.01  # "about as good": reaches the other within 1 point of test accuracy (ours)


EARLY = 60  # the generation at which evolution's early speed is compared


def load_networks(profile: str, datasets: dict[str, Dataset | str],
                  device: torch.device | str = "cpu") -> tuple[Runs, dict[str, list], str]:
    """Table S3's shipped TDCA networks for ``profile``, the dense 100-to-100 (notebook 02's)
    and each of :data:`CONFIGS` on each data set, ready to train networks on ``datasets`` (a
    name to its data set or why it is missing). Returns the
    :class:`~tdca_lib.experiments.supervised.Runs`
    (``tdca`` maps ``"<dataset>/<config>"`` to its centre ``[1, D]`` or the first line of why
    it is missing; ``variants`` every diffused key to its settings), the evolution logs of the
    networks loaded (key -> a dict a generation), and what was loaded, a line a network."""
    tdca, logs, variants, lines = {}, {}, {}, []
    for name in DATASETS:
        for config in (DENSE, *CONFIGS):
            key, settings = f"{name}/{config}", settings_for(profile, credits=config)
            if config != DENSE:
                variants[key] = settings
            try:
                tdca[key], logs[key], manifest = shipped_tdca(settings, name, device)
                lines.append(f"{key}: {manifest['name']}, {manifest['generations']} generations "
                             f"on {manifest.get('device', 'cpu')}")
            except CheckpointMissing as err:
                tdca[key] = str(err).splitlines()[0]
                lines.append(f"{key}: {tdca[key]}")
    return Runs(settings_for(profile), datasets, tdca, variants), logs, "\n".join(lines)


def table_s3(runs: Runs, logs: dict[str, list]) -> tuple[pd.DataFrame, dict[str, dict], str]:
    """Table S3 beside the paper's, a row per data set and configuration (dense first, then
    :data:`CONFIGS`; ``runs`` and ``logs`` as :func:`load_networks` returns them): our train /
    test accuracy on the evolution's samples (meta-train, mean ± std over seeds), our test
    accuracy on the meta-test subsets, the paper's and our run's setting; a row that cannot run
    gives why in our columns. Returns the table, the results by split ``{"meta-train" |
    "meta-test": {"<dataset>/<config>": result}}`` that :func:`judge_claims` compares, and the
    measurements, a line a network that ran."""
    rows, lines = [], []
    results: dict[str, dict] = {"meta-train": {}, "meta-test": {}}
    for name in DATASETS:
        for config in (DENSE, *CONFIGS):
            key, label = f"{name}/{config}", config.replace("x", "*")
            why = runs.missing(datasets=(name,), tdca=(key,))
            if why:
                ours, held, setting = why, why, ""
            else:
                result = runs.run(name, "tdca", tdca=key)
                meta = runs.meta_test(name, "tdca", tdca=key)
                results["meta-train"][key] = result
                held = meta if isinstance(meta, str) else supervised.percent(meta["test_acc"])
                if not isinstance(meta, str):
                    results["meta-test"][key] = meta
                lines.append(f"{key:28s} {len(logs[key]):4d} generations: meta-train train "
                             f"{runs.mean(result, 'train_acc'):.2%}, test {runs.mean(result):.2%}; "
                             f"meta-test test {held}")
                ours = (f"{supervised.percent(result['train_acc'])} / "
                        f"{supervised.percent(result['test_acc'])}")
                setting = f"{len(logs[key])} generations, {runs.describe(name, result)}"
            rows.append({"Dataset": TITLES[name], "Configuration": label,
                         "Ours, meta-train (train / test)": ours, "Ours, meta-test (test)": held,
                         "Paper (train / test)": " / ".join(paper.TABLE_S3[name][label]),
                         "Our run": setting})
    return pd.DataFrame(rows), results, "\n".join(lines)


def evolution_speed(logs: dict[str, list], early: int = EARLY) -> str:
    """Each network's centre training accuracy (after the inner loop, from zero init) at
    generation ``early`` and at the last generation all ``logs`` reached (``logs`` maps a key
    to a dict a generation): a line a network."""
    common = min(len(log) for log in logs.values()) if logs else 0
    early = min(early, common)
    return "\n".join(f"{key:28s} train accuracy at generation {early}: "
                     f"{log[early - 1]['center_train_accuracy']:.2%}, at {common}: "
                     f"{log[common - 1]['center_train_accuracy']:.2%}" for key, log in logs.items())


def judge_claims(claims: Claims, results: dict[str, dict],
                 configs: dict[str, SupervisedSettings], dense: SupervisedSettings) -> None:
    """The section's claims into ``claims``, each judged by the one rule on the meta-test
    subsets x inits of every data set where both networks ran (``results``,
    :func:`table_s3`'s): 10 sparse credits reach 100 dense within :data:`TOLERANCE`, 2-D beats
    1-D diffusion, 6*6-to-30*30 beats 100-to-1000, and 100-to-1000 beats 100-to-100. Paired
    where both train the same bottom-up network (the same width and zero inits). ``configs``
    maps each of :data:`CONFIGS` to its settings, ``dense`` the 100-to-100's: each network's
    search (generations, start) is stated in the evidence."""
    search = {config: supervised_section.search_of(s) for config, s in configs.items()}
    search[DENSE] = supervised_section.search_of(dense)  # the dense network may start elsewhere
    hidden = {config: s.hidden for config, s in configs.items()} | {DENSE: dense.hidden}
    wide = search["36-to-900"]
    for claim, a, b, threshold, budget in [
            ("10 sparse credits train about as well as 100 dense (Table S3)", "10-to-100", DENSE,
             -TOLERANCE, f"10-to-100 evolved {search['10-to-100']}, 100-to-100 {search[DENSE]}"),
            ("2-D diffusion beats 1-D at equal sparsity: 6*6-to-30*30 > 36-to-900 (Table S3)",
             "6x6-to-30x30", "36-to-900", 0.0, f"both evolved {wide}"),
            ("6*6-to-30*30 beats 100-to-1000 (paper text)", "6x6-to-30x30", "100-to-1000", 0.0,
             f"both evolved {wide}"),
            ("A wider network under the same TDCA network trains better: 100-to-1000 > "
             "100-to-100 (paper text)", "100-to-1000", DENSE, 0.0,
             f"100-to-1000 evolved {search['100-to-1000']}, 100-to-100 {search[DENSE]}")]:
        parts = {split: {TITLES[name]: (supervised_section.values(by_key[f"{name}/{a}"]),
                                        supervised_section.values(by_key[f"{name}/{b}"]),
                                        hidden[a] == hidden[b])
                         for name in DATASETS if {f"{name}/{a}", f"{name}/{b}"} <= set(by_key)}
                 for split, by_key in results.items()}
        supervised_section.judge_parts(
            claims, claim, parts["meta-test"], threshold=threshold,
            meta_train=parts["meta-train"], nothing="no pair here",
            note=f"test accuracy, {a.replace('x', '*')} minus {b.replace('x', '*')}; {budget}")
