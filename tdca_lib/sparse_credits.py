"""Sparse, diffused credits for the 3-layer network (paper Table S3, notebook 03).

The hidden layer's neurons sit on a line or a grid; the TDCA network emits one credit per *site*
(10 for 100 neurons, 6x6 for 30x30, ...) and each site's credit reaches the neurons around it
through the Gaussian kernel of :mod:`tdca_lib.diffusion` (sigma = 5, paper). Everything else is
the supervised experiment of :mod:`tdca_lib.supervised`: same data, inner loop, PGPE, fitness.

    python -m tdca_lib.sparse_credits --profile quick --config 10-to-100 --dataset mnist
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import diffusion
from .data import DATASETS, TITLES
from .outer_loop import command
from .profiles import Profiles, evolution_command
from .supervised import SOURCES, SupervisedSettings, evolve_and_ship

# Table S3's configurations besides the dense 100-to-100 (the supervised experiment's own
# network): hidden width, credit sites, layout. Names as the paper's, with x for its *.
CONFIGS = {
    "10-to-100": dict(hidden=100, sites=10, layout="line"),
    "100-to-1000": dict(hidden=1000, sites=100, layout="line"),
    "36-to-900": dict(hidden=900, sites=36, layout="line"),
    "6x6-to-30x30": dict(hidden=900, sites=36, layout="grid"),
}
DENSE = "100-to-100"

@dataclass(frozen=True)
class DiffusionSettings(SupervisedSettings):
    """The supervised settings plus where the hidden credits sit and how far they reach."""

    sites: int = 10  # credits for the hidden layer
    layout: str = "line"  # "line" or "grid" (sites and neurons both square numbers)
    diffusion_sigma: float = 5.0  # kernel width in neuron spacings (paper)

    def __post_init__(self):
        super().__post_init__()
        diffusion.layout(self.layout, self.hidden, self.sites)  # refuse a bad layout now

    def credit_count(self, bottom_up) -> int:
        return bottom_up.sizes[-1] + self.sites  # dense output layer, sparse hidden layer

    def credit_kernel(self, device: torch.device | str = "cpu") -> torch.Tensor:
        neurons, sites = diffusion.layout(self.layout, self.hidden, self.sites)
        return diffusion.kernel(sites, neurons, self.diffusion_sigma).to(device)

    def config(self) -> str:
        """``"10-to-100"``, ``"6x6-to-30x30"``: the paper's name for this configuration."""
        if self.layout == "grid":
            site_side, side = round(self.sites**0.5), round(self.hidden**0.5)
            return f"{site_side}x{site_side}-to-{side}x{side}"
        return f"{self.sites}-to-{self.hidden}"

    def network_name(self) -> str:
        return f"diffusion-{self.config()}-{self.dataset}-{self.steps}steps-{self.train_size}"

    def regenerate_command(self, profile: str = "quick") -> str:
        return (f"python -m tdca_lib.sparse_credits --profile {profile} "
                f"--config {self.config()} --dataset {self.dataset}")


PROFILES = Profiles(
    DiffusionSettings,
    smoke=dict(load_evolved_from="quick"),
    quick=dict(load_evolved_from="quick"),
    paper=dict(load_evolved_from="paper", population=128, generations=5000),
)


def settings_for(profile: str, config: str, **overrides) -> DiffusionSettings:
    """The settings of one Table S3 configuration under ``profile``."""
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; valid: {', '.join(CONFIGS)} "
                         f"({DENSE} is the supervised experiment's network)")
    return PROFILES.get(profile, **{**CONFIGS[config], **overrides})


def judge_gap(test_accuracy: dict[str, dict[str, float]], a: str, b: str,
              holds: Callable[[float], bool], what: str) -> tuple[bool | None, str]:
    """A Table S3 comparison judged on the meta-test subsets: ``test_accuracy`` maps a split
    ("meta-test", "meta-train") to ``{"<dataset>/<config>": test accuracy}``; the gap is
    ``a - b`` per data set where both ran, the verdict whether ``holds`` for every gap. The
    evidence gives the meta-test gaps and says where meta-train's verdict differs."""
    def gaps(accuracy):
        return {name: accuracy[f"{name}/{a}"] - accuracy[f"{name}/{b}"] for name in DATASETS
                if f"{name}/{a}" in accuracy and f"{name}/{b}" in accuracy}

    def text(g):
        return ", ".join(f"{TITLES[n]} {v:+.2%}" for n, v in g.items()) or "no pair here"

    test, train = gaps(test_accuracy["meta-test"]), gaps(test_accuracy["meta-train"])
    verdict = all(holds(g) for g in test.values()) if test else None
    evidence = f"test accuracy {what}, meta-test: {text(test)}"
    if (all(holds(g) for g in train.values()) if train else None) != verdict:
        evidence += f"; on meta-train the verdict differs ({text(train)})"
    return verdict, evidence


def main(argv: list[str] | None = None) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", choices=list(CONFIGS), default="10-to-100")
        parser.add_argument("--dataset", choices=SOURCES, default="mnist")
        parser.add_argument("--device", default="auto")

    args, settings = evolution_command(
        "Evolve a TDCA network with sparse, diffused hidden credits and ship it to "
        "data/checkpoints/.", argv,
        lambda args, overrides: settings_for(args.profile, args.config, dataset=args.dataset,
                                             load_evolved_from=None, **overrides), arguments)
    evolve_and_ship(settings, args.profile, args.device, experiment="03_diffusion")


if __name__ == "__main__":
    sys.exit(command(main))

