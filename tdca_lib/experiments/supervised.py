"""Supervised learning (paper, "TDCA Framework Application in Supervised Learning").

A 3-layer bottom-up network (784-100-10, tanh; 3072-100-10 for CIFAR-10) is trained from
(almost) zero by a TDCA network 20-30-30-110: it reads the network's softmax output and the
one-hot label and emits 110 credits a sample (10 output neurons, 100 hidden), which the credit
rule turns into weight updates. PGPE evolves the TDCA network; fitness is minus the trained
network's cross-entropy on its training set (paper eqs. 4-5, cross-entropy variant).

Baselines use the same inner optimiser and budget: Kaiming BP and Zero BP. The same settings,
fitness and tables serve Table 2's deep bottom-up networks (``architecture``) and Table S3's
diffused credits (``sites``, :mod:`tdca_lib.experiments.diffusion`). One command evolves
(resumably) and ships any of them:

    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist
    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist \
        --architecture deep_cnn
    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist --credits 6x6-to-30x30
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..machinery import data
from ..machinery.commands import command
from ..machinery.profiles import Profiles, evolution_command, not_evolved
from ..method import bottom_up, credit
from ..method.bottom_up import CLASSES
from ..method.distributed import Share
from ..method.inner_loop import bp_direction, evaluate, tdca_direction, train
from ..method.outer_loop import Experiment, RunSettings, evolve_or_load, load_shipped
from ..method.population import PopulationMLP
from ..method.rules import RULES, feedback_credits, feedback_direction, random_feedback

CPU_MEMBERS_AT_ONCE = 32  # TDCA members a fitness call trains together on a CPU (cache-sized)
UNTRAINED = "untrained"  # Runs' name for a TDCA network before evolution
SOURCES = (*data.DATASETS, "all")  # what a TDCA network can be evolved on

# Where the hidden layer's credits come from (Table S3's configurations, named as the paper's, x
# for its *): the hidden width, the credit sites (None: one credit a neuron) and their layout.
CREDITS = {
    "100-to-100": dict(hidden=100, sites=None),
    "10-to-100": dict(hidden=100, sites=10, layout="line"),
    "100-to-1000": dict(hidden=1000, sites=100, layout="line"),
    "36-to-900": dict(hidden=900, sites=36, layout="line"),
    "6x6-to-30x30": dict(hidden=900, sites=36, layout="grid"),
}
DENSE = "100-to-100"
WARM_STARTS = (None, "dfa")  # where the search starts: a random TDCA network, or DFA's fitted

# The search the 3-layer network's shipped TDCA networks (MNIST, Fashion-MNIST, All) evolve with:
# from the TDCA network fitted to DFA's credits, with small steps, which led the search before it
# on meta-test accuracy at equal evaluations in notebook 07's ablation (its table has the lead
# and the seeds). The deep and diffused networks keep the dataclass's search (no DFA fit there).
DENSE_SEARCH = dict(warm_start="dfa", sigma=0.01, center_lr=0.003)


@dataclass(frozen=True)
class SupervisedSettings(RunSettings.with_defaults(sigma=0.05, center_lr=0.03)):  # our choice
    """Every knob of one supervised run: the 3-layer network of Table 1, the deep ones of
    Table 2 and the diffused credits of Table S3 alike; the run's (PGPE's, the seed's, how long)
    are :class:`~tdca_lib.method.outer_loop.RunSettings`'. Defaults are the ``quick`` profile on
    Table 1's cheapest setting, with the search from a random start (the deep and diffused
    networks'; :func:`settings_for` gives the 3-layer network's, :data:`DENSE_SEARCH`); all the
    paper leaves open is our choice, marked here."""

    dataset: str = "mnist"
    architecture: str = "mlp"  # the bottom-up network: "mlp", "deep_fc", "deep_cnn" (bottom_up)
    train_size: int = 1000  # paper: 1000 / 10000 / 60000
    test_size: int | None = None  # None: the whole test set available
    steps: int = 20  # inner-loop steps (paper: 20 / 50 / 150)
    hidden: int = 100  # the 3-layer network's hidden width (paper)
    sites: int | None = None  # hidden-layer credits when diffused (Table S3); None: one a neuron
    layout: str = "line"  # where diffused credits and neurons sit: "line" or "grid"
    diffusion_sigma: float = 5.0  # diffusion kernel width in neuron spacings (paper)
    inner_lr: float = 0.01  # Adam in the inner loop, for BP and TDCA alike (our choice)
    max_norm: float = 1.0  # per-network update-norm clip in the inner loop (our choice)
    tdca_hidden: tuple[int, ...] = (30, 30)  # TDCA network 20-30-30-110 (paper)
    warm_start: str | None = None  # "dfa": the search starts from a TDCA network fitted to
    # DFA's credits (fit_to_dfa; ours, notebook 07); None: from a random one
    # The run (RunSettings): seed is also the zero init's; generations: paper 5000.
    # Evaluation in notebook 02 (not evolution):
    seeds: int = not_evolved(5)  # bottom-up networks per method and cell, mean ± std
    # (steps, train size) of Table 1 (paper: 1000 / 10000 / 60000 samples); quick stops at
    # 4000, the offline MNIST's size, so both data sets train on as many (and in time)
    table1_settings: tuple[tuple[int, int], ...] = not_evolved(
        ((20, 1000), (50, 4000), (150, 4000)))
    fig_s2_rules: bool = not_evolved(False)  # FA's and DFA's curves in Fig S2 (ours, not the
    # paper's: 4 of its trainings; Table 1 has both rules at the evolved setting)

    def __post_init__(self):  # refuse a bad setting now, not an hour into a run
        super().__post_init__()
        if self.architecture not in bottom_up.ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; valid: "
                             f"{', '.join(bottom_up.ARCHITECTURES)}")
        if self.warm_start not in WARM_STARTS:
            raise ValueError(f"unknown warm_start {self.warm_start!r}; valid: None, "
                             f"{', '.join(w for w in WARM_STARTS if w)}")
        if self.warm_start and (self.architecture != "mlp" or self.sites is not None):
            raise ValueError("warm_start='dfa' is for the 3-layer network with a credit a "
                             "neuron, where DFA's credits and the TDCA network's match one for "
                             "one; set warm_start=None")
        if self.sites is not None:
            if self.architecture != "mlp":
                raise ValueError("diffused credits (sites) are for the 3-layer network only")
            credit.positions(self.layout, self.hidden, self.sites)  # refuse a bad layout now


# Notebook 02 never evolves: it loads the networks that
# `python -m tdca_lib.experiments.supervised --profile quick|paper` evolved and shipped (minutes
# to an hour each on a CPU for quick; paper needs a GPU). smoke uses quick's. Table 2's deep
# networks are evolved on 10000 samples at the paper's scale (PAPER_DEEP); quick keeps 1000, as
# the 3-layer network's, so that evolution fits a CPU (our choice, stated in the tables).
PROFILES = Profiles(
    SupervisedSettings,
    smoke=dict(load_evolved_from="quick", table1_settings=((20, 1000),)),
    quick=dict(load_evolved_from="quick"),
    paper=dict(load_evolved_from="paper", population=128, generations=5000,
               table1_settings=((20, 1000), (50, 10000), (150, 60000)), fig_s2_rules=True),
)
PAPER_DEEP = dict(train_size=10000)


def settings_for(profile: str, architecture: str = "mlp", credits: str = DENSE,
                 **overrides) -> SupervisedSettings:
    """The settings of ``profile`` for a bottom-up ``architecture`` and, for the 3-layer network,
    a hidden-credit configuration of :data:`CREDITS`; the 3-layer network with a credit a neuron
    evolves with :data:`DENSE_SEARCH`."""
    if credits not in CREDITS:
        raise ValueError(f"unknown credits {credits!r}; valid: {', '.join(CREDITS)}")
    fields = dict(architecture=architecture, **CREDITS[credits])
    if architecture == "mlp" and credits == DENSE:
        fields |= DENSE_SEARCH
    if profile == "paper" and architecture != "mlp":
        fields |= PAPER_DEEP
    return PROFILES.get(profile, **fields | overrides)


def credits_name(settings: SupervisedSettings) -> str:
    """``"100-to-100"``, ``"10-to-100"``, ``"6x6-to-30x30"``: the paper's name for where the
    hidden layer's credits come from."""
    if settings.sites is None:
        return f"{settings.hidden}-to-{settings.hidden}"
    if settings.layout == "grid":
        site_side, side = round(settings.sites**0.5), round(settings.hidden**0.5)
        return f"{site_side}x{site_side}-to-{side}x{side}"
    return f"{settings.sites}-to-{settings.hidden}"


def network_name(settings: SupervisedSettings) -> str:
    """The shipped TDCA network's name (without the profile)."""
    setting = f"{settings.dataset}-{settings.steps}steps-{settings.train_size}"
    if settings.architecture != "mlp":
        return f"{settings.architecture.replace('_', '-')}-{setting}"
    if settings.sites is not None:
        return f"diffusion-{credits_name(settings)}-{setting}"
    return f"supervised-{setting}"


def regenerate_command(settings: SupervisedSettings, profile: str = "quick") -> str:
    """The command that evolves and ships this network."""
    command = (f"python -m tdca_lib.experiments.supervised --profile {profile} "
               f"--dataset {settings.dataset}")
    if settings.architecture != "mlp":
        command += f" --architecture {settings.architecture}"
    if settings.sites is not None:
        command += f" --credits {credits_name(settings)}"
    return command


def bottom_up_network(settings: SupervisedSettings, features: int):
    """The bottom-up network of ``settings`` for inputs of ``features``."""
    return bottom_up.network(settings.architecture, features, settings.hidden)


def tdca_network(settings: SupervisedSettings, net) -> PopulationMLP:
    """Input: softmax output + one-hot label; output: the credits of the bottom-up network
    ``net``, one a neuron (a conv channel for the CNN) or, when diffused, one an output neuron
    and ``settings.sites`` for the hidden layer."""
    credits = net.credit_count if settings.sites is None else CLASSES + settings.sites
    return PopulationMLP([2 * CLASSES, *settings.tdca_hidden, credits])


def credit_kernel(settings: SupervisedSettings,
                  device: torch.device | str = "cpu") -> torch.Tensor | None:
    """``[sites, hidden]`` diffusion kernel, or None: each credit is its neuron's."""
    if settings.sites is None:
        return None
    neurons, sites = credit.positions(settings.layout, settings.hidden, settings.sites)
    return credit.diffusion_kernel(sites, neurons, settings.diffusion_sigma).to(device)


def fitness_function(settings: SupervisedSettings, datasets: list[data.Dataset],
                     members_at_once: int | None = None, held_out: bool = False,
                     init: tuple[str, int] | None = None):
    """Fitness of each TDCA member: minus the cross-entropy, on the training set, of a
    zero-initialised network after ``steps`` inner steps, averaged over ``datasets`` (one
    bottom-up network each, one TDCA network for all: the paper's "All"); the training accuracy
    rides along for the log. The same zero init for every member and generation, so fitness is
    deterministic (and resumes bit-identically). Two departures for the scale study's searches
    aimed at unseen data: ``held_out`` scores the cross-entropy (and accuracy) on each data
    set's *test* part, which the caller fills with samples the inner loop did not train on;
    ``init`` (scheme, seed) starts the bottom-up network elsewhere than the zero init.
    Each member's value is independent of the others' but for float rounding, which can differ
    with the block of ``members_at_once`` members trained together (default:
    :data:`CPU_MEMBERS_AT_ONCE` on a CPU, where a population of 512 trained at once runs about
    a third slower a member, its activity out of cache; all of them on a GPU;
    ``benchmarks/bench_members_at_once.py``). The function says so in ``fitness.rows_at_once``
    (None: all), so under torchrun a process's ``share`` is whole blocks and changes nothing."""

    def one(dataset: data.Dataset, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = bottom_up_network(settings, dataset.features)
        tdca = tdca_network(settings, net)
        x, y = dataset.x_train, dataset.y_train
        scheme, seed = init or ("zero", settings.seed)
        theta0 = bottom_up.initial(net, 1, scheme, seed).to(x.device)
        direction = tdca_direction(net, tdca, beta, x, y,
                                   credit_kernel=credit_kernel(settings, x.device))
        theta = train(theta0.expand(len(beta), -1), direction,
                      settings.steps, settings.inner_lr, settings.max_norm)
        if held_out:
            return evaluate(net, theta, dataset.x_test, dataset.y_test)
        return evaluate(net, theta, x, y)

    def together(beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(torch.stack(v).mean(0) for v in zip(*(one(d, beta) for d in datasets)))

    def fitness(beta: torch.Tensor, generation: int, share: Share | None = None):
        blocks = beta.split(fitness.rows_at_once or len(beta))
        accuracy, cross_entropy = (torch.cat(v) for v in zip(*map(together, blocks)))
        return -cross_entropy, {"train_accuracy": accuracy}

    on_cpu = datasets[0].x_train.device.type == "cpu"  # where the members are trained
    fitness.rows_at_once = members_at_once or (CPU_MEMBERS_AT_ONCE if on_cpu else None)
    return fitness


def fit_to_dfa(settings: SupervisedSettings, datasets: list[data.Dataset], start: torch.Tensor,
               seed: int, steps: int = 2000, lr: float = 3e-3) -> torch.Tensor:
    """A TDCA network ``[D]`` fitted, by least squares from ``start``, to emit the credits of DFA
    (feedback matrices seeded by ``seed``) on the states a zero-initialised network passes
    through while DFA trains it on each of ``datasets`` for ``settings.steps`` steps. DFA's
    credits are a function of what a TDCA network reads (the softmax output and the label), so
    the fit can be close; it is an initialisation by regression, outside the method's loops (no
    evolution), and costs seconds."""
    def states_and_credits(dataset: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
        net = bottom_up_network(settings, dataset.features)
        feedback = random_feedback(net, "dfa", seed=seed)
        x, y = dataset.x_train, dataset.y_train
        thetas = []
        train(bottom_up.initial(net, 1, "zero", seed).to(x.device),
              feedback_direction(net, x, y, "dfa", feedback), settings.steps, settings.inner_lr,
              settings.max_norm, on_step=lambda step, theta: thetas.append(theta.clone()))
        theta = torch.cat(thetas)  # [steps + 1, D]: each step's network a member
        activations = net.activations(theta, x)
        one_hot = F.one_hot(y, CLASSES).to(x.dtype).expand(len(theta), -1, -1)
        states = torch.cat([torch.softmax(activations[-1], -1), one_hot], -1)
        return states.flatten(0, 1), feedback_credits(net, activations, y, "dfa",
                                                      feedback).flatten(0, 1)

    states, targets = (torch.cat(v) for v in zip(*map(states_and_credits, datasets)))
    tdca = tdca_network(settings, bottom_up_network(settings, datasets[0].features))
    params = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([params], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        rows = torch.randint(len(states), (1024,), generator=generator).to(states.device)
        loss = F.mse_loss(tdca(params[None], states[rows][None])[0], targets[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return params.detach()


def search_start(settings: SupervisedSettings, datasets: list[data.Dataset]) -> torch.Tensor:
    """``[D]``: the TDCA network the search starts from: a random one (seeded by
    ``settings.seed``) or, with ``settings.warm_start``, that one fitted to DFA's credits."""
    tdca = tdca_network(settings, bottom_up_network(settings, datasets[0].features))
    start = tdca.init(torch.Generator().manual_seed(settings.seed)).to(datasets[0].x_train.device)
    if settings.warm_start == "dfa":
        start = fit_to_dfa(settings, datasets, start, seed=settings.seed)
    return start


def shipped_tdca(settings: SupervisedSettings, dataset: str, device: torch.device | str = "cpu"):
    """The TDCA network ``settings.load_evolved_from`` shipped for ``dataset`` (a data set's
    name or "all"): (centre ``[1, D]``, evolution log, manifest); CheckpointError if missing."""
    settings = dataclasses.replace(settings, dataset=dataset)
    center, log, manifest = load_shipped(
        network_name(settings), settings,
        regenerate_command(settings, settings.load_evolved_from or "quick"))
    return center.to(device)[None], log, manifest


def methods() -> dict[str, tuple[str, str]]:
    """The ways a bottom-up network is trained here, name -> (credit rule, init): the paper's
    (BP from a Kaiming and a zero init, the TDCA network from zero), then each yardstick rule of
    :data:`~tdca_lib.method.rules.RULES` from a zero and a Kaiming init (``"zero_fa"``,
    ``"kaiming_fa"``, ...), in the same inner loop."""
    yardsticks = {f"{init}_{rule}": (rule, init) for rule in RULES for init in ("zero", "kaiming")}
    return {"kaiming_bp": ("bp", "kaiming"), "zero_bp": ("bp", "zero"), "tdca": ("tdca", "zero"),
            **yardsticks}


def run_bottom_up(settings: SupervisedSettings, dataset: data.Dataset, method: str,
                  seeds: int, beta: torch.Tensor | None = None, curve: bool = False,
                  trajectory: bool = False, curve_every: int = 1):
    """Train ``seeds`` bottom-up networks at once with ``method`` (a key of :func:`methods`;
    ``"tdca"`` with the TDCA network ``beta [1, D]``). Returns a dict of ``[seeds]`` tensors:
    train/test accuracy and cross-entropy, the trained parameters ``theta [seeds, D]``; with
    ``curve``, also ``[K, seeds]`` accuracy curves at the steps ``curve_steps [K]`` (every
    ``curve_every`` steps and the last: each point costs an evaluation of every sample); with
    ``trajectory``, the parameters after every step, ``[steps + 1, seeds, D]``."""
    known = methods()
    if method not in known:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(known)}")
    rule, scheme = known[method]
    net = bottom_up_network(settings, dataset.features)
    x, y = dataset.x_train, dataset.y_train
    # Seeds 1000+ for the networks we report: never the init the TDCA network was evolved on.
    theta = bottom_up.initial(net, seeds, scheme, 1000 + settings.seed).to(x.device)
    if rule == "tdca":
        tdca = tdca_network(settings, net)
        direction = tdca_direction(net, tdca, beta.expand(seeds, -1), x, y,
                                   credit_kernel=credit_kernel(settings, x.device))
    elif rule == "bp":
        direction = bp_direction(net, x, y)
    else:
        direction = RULES[rule].direction(net, x, y, 1000 + settings.seed)
    history: dict[str, list[torch.Tensor]] = {"train": [], "test": [], "theta": []}
    curve_steps = [*range(0, settings.steps, curve_every), settings.steps]

    def record(step: int, theta: torch.Tensor) -> None:
        if curve and step in curve_steps:
            history["train"].append(evaluate(net, theta, x, y)[0])
            history["test"].append(evaluate(net, theta, dataset.x_test, dataset.y_test)[0])
        if trajectory:
            history["theta"].append(theta.clone())

    theta = train(theta, direction, settings.steps, settings.inner_lr, settings.max_norm,
                  on_step=record if curve or trajectory else None)
    train_acc, train_ce = evaluate(net, theta, x, y)
    test_acc, test_ce = evaluate(net, theta, dataset.x_test, dataset.y_test)
    result = {"train_acc": train_acc, "test_acc": test_acc, "train_ce": train_ce,
              "test_ce": test_ce, "theta": theta}
    result |= {f"{k}_curve": torch.stack(v) for k, v in history.items() if v}
    if curve:
        result["curve_steps"] = torch.tensor(curve_steps)
    return result


def load_datasets(settings: SupervisedSettings) -> list[data.Dataset]:
    """The data set of ``settings`` as a one-element list, or for ``"all"`` every data set
    (:func:`~tdca_lib.machinery.data.load_all`: the paper's "All" is MNIST, Fashion-MNIST and
    CIFAR-10)."""
    if settings.dataset == "all":
        return data.load_all(settings.train_size, settings.test_size)
    return [data.load(settings.dataset, settings.train_size, settings.test_size)]


def percent(values: torch.Tensor) -> str:
    """``[seeds]`` accuracies -> ``"96.00 ± 0.88%"`` (mean ± std over seeds)."""
    if len(values) == 1:
        return f"{100 * values.item():.2f}%"
    return f"{100 * values.mean().item():.2f} ± {100 * values.std().item():.2f}%"


def measure(settings: SupervisedSettings, datasets: list[data.Dataset],
            center: torch.Tensor) -> dict[str, dict[str, str]]:
    """How well the TDCA network ``center [D]`` trains ``settings.seeds`` fresh zero-initialised
    networks on each of ``datasets`` (the seeds the notebooks use too): per data set, the
    setting, the seeds, and the train and test accuracy (mean ± std)."""
    measured = {}
    for dataset in datasets:
        result = run_bottom_up(settings, dataset, "tdca", settings.seeds, beta=center[None])
        measured[dataset.name] = {
            "setting": f"{settings.steps} steps, zero init, {dataset.describe()}",
            "seeds": f"{1000 + settings.seed}..{1000 + settings.seed + settings.seeds - 1}",
            "train_accuracy": percent(result["train_acc"]),
            "test_accuracy": percent(result["test_acc"]),
        }
    return measured


def experiment(settings: SupervisedSettings, profile: str,
               datasets: list[data.Dataset]) -> Experiment:
    """The evolution of the TDCA network of ``settings`` on ``datasets`` under ``profile``, for
    :func:`~tdca_lib.method.outer_loop.evolve_or_load`."""
    return Experiment(
        network_name(settings), settings, profile,
        notebook="03_diffusion" if settings.sites is not None else "02_supervised",
        fitness=fitness_function(settings, datasets), start=search_start(settings, datasets),
        regenerate=regenerate_command(settings, profile),
        measure=functools.partial(measure, settings, datasets))


def evolve_and_ship(settings: SupervisedSettings, profile: str,
                    device: str = "auto") -> tuple[torch.Tensor, list[dict], dict]:
    """Evolve (resumably) the TDCA network of ``settings`` on its data set (every one here for
    ``"all"``), ship it to data/checkpoints/ and record in its manifest how well it trains fresh
    zero-initialised networks (:func:`measure`). Returns (centre ``[1, D]``, log, manifest); with
    ``settings.load_evolved_from``, the network that profile shipped instead."""
    from ..machinery.device import keep_freed_memory, resolve_device

    keep_freed_memory()  # thousands of inner steps: reuse freed memory (see its docstring)
    datasets = load_datasets(settings)
    for dataset in datasets:
        print(dataset.describe())
    datasets = [d.to(resolve_device(device)) for d in datasets]
    center, log, manifest = evolve_or_load(experiment(settings, profile, datasets))
    return center[None], log, manifest


def main(argv: list[str] | None = None) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", choices=SOURCES, default="mnist",
                            help="'all': one TDCA network for every data set available here")
        parser.add_argument("--architecture", choices=bottom_up.ARCHITECTURES, default="mlp",
                            help="the bottom-up network (Table 2: deep_fc, deep_cnn)")
        parser.add_argument("--credits", choices=list(CREDITS), default=DENSE,
                            help="the hidden layer's credits: one a neuron, or diffused from a "
                                 "few sites (Table S3)")
        parser.add_argument("--device", default="auto")

    # This command is where networks are evolved, whatever the profile's notebook loads.
    args, settings = evolution_command(
        "Evolve a TDCA network for a supervised bottom-up network and ship it to "
        "data/checkpoints/.", argv,
        lambda args, overrides: settings_for(args.profile, args.architecture, args.credits,
                                             dataset=args.dataset, load_evolved_from=None,
                                             **overrides), arguments)
    evolve_and_ship(settings, args.profile, args.device)


# --- Notebook 02's tables ----------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(command(main))
