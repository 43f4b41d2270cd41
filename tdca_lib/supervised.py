"""Supervised learning (paper, "TDCA Framework Application in Supervised Learning").

A 3-layer bottom-up network (784-100-10, tanh; 3072-100-10 for CIFAR-10) is trained from
(almost) zero by a TDCA network 20-30-30-110: it reads the network's softmax output and the
one-hot label and emits 110 credits a sample (10 output neurons, 100 hidden), which the credit
rule turns into weight updates. PGPE evolves the TDCA network; fitness is minus the trained
network's cross-entropy on its training set (paper eqs. 4-5, cross-entropy variant).

Baselines use the same inner optimiser and budget: Kaiming BP and Zero BP.

    python -m tdca_lib.supervised --profile quick --dataset mnist   # evolve (resumable), ship
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

import torch

from . import data
from .inner_loop import bp_direction, evaluate, population_cross_entropy, tdca_direction, train
from .outer_loop import evolve_or_load
from .pgpe import PGPE
from .profiles import PROFILE_NAMES, Profiles
from .tdca_network import PopulationMLP

CLASSES = 10
INITS = ("kaiming", "zero")
ZERO_SCALE = 1e-16  # "Zero" init: uniform within 1e-16 of the origin (paper)


@dataclass(frozen=True)
class SupervisedSettings:
    """Every knob of one supervised run. Defaults are the ``quick`` profile on Table 1's
    cheapest setting; all the paper leaves open is our choice, marked here."""

    dataset: str = "mnist"
    train_size: int = 1000  # paper: 1000 / 10000 / 60000
    test_size: int | None = None  # None: the whole test set available
    steps: int = 20  # inner-loop steps (paper: 20 / 50 / 150)
    hidden: int = 100  # bottom-up hidden width (paper)
    inner_lr: float = 0.01  # Adam in the inner loop, for BP and TDCA alike (our choice)
    max_norm: float = 1.0  # per-network update-norm clip in the inner loop (our choice)
    tdca_hidden: tuple[int, ...] = (30, 30)  # TDCA network 20-30-30-110 (paper)
    seed: int = 0  # PGPE's sampler, the TDCA network's initial centre, the zero init
    population: int = 32  # PGPE members a generation (our choice)
    sigma: float = 0.05  # PGPE exploration std (our choice)
    center_lr: float = 0.03  # Adam on PGPE's centre (our choice)
    generations: int = 300  # paper: 5000
    checkpoint_every: int = 10
    load_evolved_from: str | None = None


PROFILES = Profiles(
    SupervisedSettings,
    smoke=dict(load_evolved_from="quick"),
    quick=dict(),
    paper=dict(population=128, generations=5000),
)


def regenerate_command(dataset: str, profile: str = "quick") -> str:
    return f"python -m tdca_lib.supervised --profile {profile} --dataset {dataset}"


def bottom_up_network(features: int, hidden: int) -> PopulationMLP:
    return PopulationMLP([features, hidden, CLASSES])


def tdca_network(settings: SupervisedSettings, bottom_up: PopulationMLP) -> PopulationMLP:
    """Input: softmax output + one-hot label; output: one credit per non-input neuron."""
    return PopulationMLP([2 * CLASSES, *settings.tdca_hidden, sum(bottom_up.sizes[1:])])


def init_bottom_up(net: PopulationMLP, population: int, scheme: str, seed: int) -> torch.Tensor:
    """``[P, D]`` initial parameters: ``"kaiming"`` (normal, std sqrt(2 / fan_in), zero bias)
    or ``"zero"`` (uniform within 1e-16 of the origin); member p is seeded by ``seed + p``."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; valid: {', '.join(INITS)}")
    rows = []
    for p in range(population):
        gen = torch.Generator().manual_seed(seed + p)
        if scheme == "zero":
            rows.append((torch.rand(net.num_params, generator=gen) * 2 - 1) * ZERO_SCALE)
            continue
        parts = []
        for fan_in, fan_out in net.layer_shapes:
            parts += [torch.randn(fan_in * fan_out, generator=gen) * math.sqrt(2 / fan_in),
                      torch.zeros(fan_out)]
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def fitness_function(settings: SupervisedSettings, dataset: data.Dataset):
    """Fitness of each TDCA member: minus the cross-entropy, on the training set, of a
    zero-initialised network after ``steps`` inner steps. The same zero init for every member
    and generation, so fitness is deterministic (and resumes bit-identically)."""
    net = bottom_up_network(dataset.features, settings.hidden)
    tdca = tdca_network(settings, net)
    x, y = dataset.x_train, dataset.y_train
    theta0 = init_bottom_up(net, 1, "zero", settings.seed).to(x.device)

    def fitness(beta: torch.Tensor, generation: int) -> torch.Tensor:
        theta = train(theta0.expand(len(beta), -1), tdca_direction(net, tdca, beta, x, y),
                      settings.steps, settings.inner_lr, settings.max_norm)
        with torch.no_grad():
            return -population_cross_entropy(net(theta, x), y)

    return fitness


def evolved_tdca(settings: SupervisedSettings, profile: str, dataset: data.Dataset):
    """Evolve (or load) the TDCA network for ``settings``; returns (centre ``[1, D]`` on the
    data's device, evolution log, manifest)."""
    net = bottom_up_network(dataset.features, settings.hidden)
    tdca = tdca_network(settings, net)
    device = dataset.x_train.device

    def make_pgpe() -> PGPE:
        start = tdca.init(torch.Generator().manual_seed(settings.seed)).to(device)
        return PGPE(start, population=settings.population, sigma=settings.sigma,
                    center_lr=settings.center_lr, seed=settings.seed)

    center, log, manifest = evolve_or_load(
        f"supervised-{settings.dataset}-{settings.steps}steps-{settings.train_size}",
        settings, profile=profile, experiment="02_supervised",
        fitness=fitness_function(settings, dataset), make_pgpe=make_pgpe,
        regenerate=regenerate_command(settings.dataset, profile),
    )
    return center.to(device)[None], log, manifest


def run_bottom_up(settings: SupervisedSettings, dataset: data.Dataset, method: str,
                  seeds: int, beta: torch.Tensor | None = None, curve: bool = False):
    """Train ``seeds`` bottom-up networks at once with ``method`` (``"kaiming_bp"``,
    ``"zero_bp"`` or ``"tdca"`` with ``beta [1, D]``). Returns a dict of ``[seeds]`` tensors:
    train/test accuracy and cross-entropy; with ``curve``, also ``[steps + 1, seeds]`` accuracy
    curves."""
    net = bottom_up_network(dataset.features, settings.hidden)
    x, y = dataset.x_train, dataset.y_train
    scheme = "kaiming" if method == "kaiming_bp" else "zero"
    # Seeds 1000+ for the networks we report: never the init the TDCA network was evolved on.
    theta = init_bottom_up(net, seeds, scheme, 1000 + settings.seed).to(x.device)
    if method == "tdca":
        tdca = tdca_network(settings, net)
        direction = tdca_direction(net, tdca, beta.expand(seeds, -1), x, y)
    elif method in ("kaiming_bp", "zero_bp"):
        direction = bp_direction(net, x, y)
    else:
        raise ValueError(f"unknown method {method!r}; valid: kaiming_bp, zero_bp, tdca")
    history: dict[str, list[torch.Tensor]] = {"train": [], "test": []}

    def record(step: int, theta: torch.Tensor) -> None:
        history["train"].append(evaluate(net, theta, x, y)[0])
        history["test"].append(evaluate(net, theta, dataset.x_test, dataset.y_test)[0])

    theta = train(theta, direction, settings.steps, settings.inner_lr, settings.max_norm,
                  on_step=record if curve else None)
    train_acc, train_ce = evaluate(net, theta, x, y)
    test_acc, test_ce = evaluate(net, theta, dataset.x_test, dataset.y_test)
    result = {"train_acc": train_acc, "test_acc": test_acc, "train_ce": train_ce,
              "test_ce": test_ce}
    if curve:
        result |= {f"{k}_curve": torch.stack(v) for k, v in history.items()}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evolve a TDCA network for the 3-layer "
                                     "bottom-up network and ship it to data/checkpoints/.")
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
    parser.add_argument("--dataset", choices=data.DATASETS, default="mnist")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="override settings, e.g. --set generations=50 steps=50")
    args = parser.parse_args(argv)
    from .device import resolve_device

    fields = {f.name: f.type for f in dataclasses.fields(SupervisedSettings)}
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in fields:
            parser.error(f"unknown setting {name!r}; valid: {', '.join(fields)}")
        overrides[name] = type(getattr(SupervisedSettings(), name))(value)
    settings = PROFILES.get(args.profile, dataset=args.dataset, **overrides)
    dataset = data.load(settings.dataset, settings.train_size, settings.test_size)
    print(dataset.describe())
    _, log, manifest = evolved_tdca(settings, args.profile, dataset.to(resolve_device(args.device)))
    print(f"shipped {manifest['name']}: {len(log)} generations, "
          f"final centre fitness {manifest['final_center_fitness']:.4f}")


if __name__ == "__main__":
    main()
