"""Deeper bottom-up networks (paper Table 2): the Deep FC (four hidden layers of 100) and the
Deep CNN (one convolutional + three fully connected layers), trained from (almost) zero by a
TDCA network that emits one credit per neuron (per channel for the convolutional layer).

Everything else is the supervised experiment of :mod:`tdca_lib.supervised`: data, inner loop,
PGPE, fitness, baselines. Only the bottom-up network changes.

    python -m tdca_lib.deep --profile quick --architecture deep_cnn --dataset mnist
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import pandas as pd
import torch

from . import data, paper
from .checkpoints import CheckpointMissing
from .deep_networks import PopulationCNN, deep_fc
from .outer_loop import command
from .profiles import Profiles, evolution_command
from .supervised import (
    SOURCES,
    Runs,
    SupervisedSettings,
    evolve_and_ship,
    shipped_tdca,
)

ARCHITECTURES = ("deep_fc", "deep_cnn")
TITLES = {"deep_fc": "Deep FC", "deep_cnn": "Deep CNN"}
METHODS = {"Kaiming BP": "kaiming_bp", "Zero BP": "zero_bp", "TDCA-net": "tdca"}
IMAGE_SHAPES = {784: (1, 28, 28), 3072: (3, 32, 32)}  # MNIST / Fashion-MNIST, CIFAR-10


@dataclass(frozen=True)
class DeepSettings(SupervisedSettings):
    """The supervised settings with a deeper bottom-up network. Table 2 trains on 10000 samples
    (the Deep CNN; the Deep FC as Table S1, on the full sets); ``quick`` keeps 1000, as the
    3-layer network's, so that evolution fits a CPU (our choice, stated in the tables)."""

    architecture: str = "deep_fc"  # "deep_fc" or "deep_cnn"

    def __post_init__(self):
        super().__post_init__()
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; valid: "
                             f"{', '.join(ARCHITECTURES)}")

    def bottom_up(self, features: int):
        if self.architecture == "deep_fc":
            return deep_fc(features)
        if features not in IMAGE_SHAPES:
            raise ValueError(f"the Deep CNN needs images: no image shape for {features} features")
        return PopulationCNN(IMAGE_SHAPES[features])

    def network_name(self) -> str:
        return (f"{self.architecture.replace('_', '-')}-{self.dataset}-{self.steps}steps-"
                f"{self.train_size}")

    def regenerate_command(self, profile: str = "quick") -> str:
        return (f"python -m tdca_lib.deep --profile {profile} --architecture "
                f"{self.architecture} --dataset {self.dataset}")


PROFILES = Profiles(
    DeepSettings,
    smoke=dict(load_evolved_from="quick"),
    quick=dict(load_evolved_from="quick"),
    paper=dict(load_evolved_from="paper", population=128, generations=5000, train_size=10000),
)


def table2(profile: str, datasets: dict[str, data.Dataset | str],
           device: torch.device | str = "cpu") -> tuple[pd.DataFrame, dict]:
    """Table 2 beside the paper's: each architecture, data set and method, at the setting the
    TDCA networks were evolved at, on the evolution's samples and on the meta-test subsets;
    and, where TDCA and Zero BP both ran, TDCA's margin over Zero BP
    ``{(architecture, dataset): {"meta-train" | "meta-test": (train, test)}}``."""
    rows, margins = [], {}
    for architecture in ARCHITECTURES:
        settings = PROFILES.get(profile, architecture=architecture)
        tdca = {}
        for name in data.DATASETS:
            try:
                tdca[name] = shipped_tdca(settings, name, device)[0]
            except CheckpointMissing as err:
                tdca[name] = str(err).splitlines()[0]
        runs = Runs(settings, datasets, tdca)
        for name in data.DATASETS:
            results = {}
            for method, kind in METHODS.items():
                source = name if kind == "tdca" else None
                why = runs.missing(datasets=(name,), tdca=(source,) if source else ())
                results[method] = (why or runs.run(name, kind, tdca=source),
                                   why or runs.meta_test(name, kind, tdca=source))
                rows.append({"Model": TITLES[architecture], "Dataset": data.TITLES[name],
                             "Method": method, **runs.row_beside_paper(
                                 name, results[method][0],
                                 paper.TABLE2[architecture][method][name],
                                 meta=results[method][1])})
            if not any(isinstance(r, str) for pair in results.values() for r in pair):
                margins[architecture, name] = {
                    split: tuple(runs.mean(results["TDCA-net"][i], k)
                                 - runs.mean(results["Zero BP"][i], k)
                                 for k in ("train_acc", "test_acc"))
                    for i, split in enumerate(("meta-train", "meta-test"))}
    return pd.DataFrame(rows), margins


def main(argv: list[str] | None = None) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--architecture", choices=ARCHITECTURES, default="deep_fc")
        parser.add_argument("--dataset", choices=SOURCES, default="mnist")
        parser.add_argument("--device", default="auto")

    args, settings = evolution_command(
        "Evolve a TDCA network for a deep bottom-up network and ship it to data/checkpoints/.",
        argv, lambda args, overrides: PROFILES.get(
            args.profile, architecture=args.architecture, dataset=args.dataset,
            load_evolved_from=None, **overrides), arguments)
    evolve_and_ship(settings, args.profile, args.device, experiment="02_supervised")


if __name__ == "__main__":
    sys.exit(command(main))
