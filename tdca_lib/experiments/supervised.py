"""Supervised learning (paper, "TDCA Framework Application in Supervised Learning").

A 3-layer bottom-up network (784-100-10, tanh; 3072-100-10 for CIFAR-10) is trained from
(almost) zero by a TDCA network 20-30-30-110: it reads the network's softmax output and the
one-hot label and emits 110 credits a sample (10 output neurons, 100 hidden), which the credit
rule turns into weight updates. PGPE evolves the TDCA network; fitness is minus the trained
network's cross-entropy on its training set (paper eqs. 4-5, cross-entropy variant).

Baselines use the same inner optimiser and budget: Kaiming BP and Zero BP. The same settings,
fitness and tables serve Table 2's deep bottom-up networks (``architecture``) and Table S3's
diffused credits (``sites``, :mod:`tdca_lib.experiments.diffusion`). One command evolves
(resumably) and
ships any of them:

    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist
    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist \
        --architecture deep_cnn
    python -m tdca_lib.experiments.supervised --profile quick --dataset mnist --credits 6x6-to-30x30
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from ..machinery import data, paper
from ..machinery.checkpoints import CheckpointMissing
from ..machinery.claims import Claims
from ..machinery.profiles import Profiles, check_settings, evolution_command, not_evolved
from ..method import bottom_up, credit
from ..method.bottom_up import CLASSES
from ..method.distributed import Share
from ..method.inner_loop import bp_direction, evaluate, tdca_direction, train
from ..method.outer_loop import command, evolve_or_load, load_shipped
from ..method.population import PopulationMLP
from ..method.rules import feedback_credits, feedback_direction, random_feedback
from . import loss_planes

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
class SupervisedSettings:
    """Every knob of one supervised run: the 3-layer network of Table 1, the deep ones of
    Table 2 and the diffused credits of Table S3 alike. Defaults are the ``quick`` profile on
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
    seed: int = 0  # PGPE's sampler, the TDCA network's initial centre, the zero init
    population: int = 32  # PGPE members a generation (our choice)
    sigma: float = 0.05  # PGPE exploration std (our choice)
    center_lr: float = 0.03  # Adam on PGPE's centre (our choice)
    warm_start: str | None = None  # "dfa": the search starts from a TDCA network fitted to
    # DFA's credits (fit_to_dfa; ours, notebook 07); None: from a random one
    generations: int = 600  # paper: 5000
    checkpoint_every: int = not_evolved(10)  # generations between resume checkpoints
    load_evolved_from: str | None = not_evolved(None)  # a profile whose shipped network to load
    replace_shipped: bool = not_evolved(False)  # ship over one evolved longer or otherwise
    # Evaluation in notebook 02 (not evolution):
    seeds: int = not_evolved(5)  # bottom-up networks per method and cell, mean ± std
    # (steps, train size) of Table 1 (paper: 1000 / 10000 / 60000 samples); quick stops at
    # 4000, the offline MNIST's size, so both data sets train on as many (and in time)
    table1_settings: tuple[tuple[int, int], ...] = not_evolved(
        ((20, 1000), (50, 4000), (150, 4000)))
    fig_s2_rules: bool = not_evolved(False)  # FA's and DFA's curves in Fig S2 (ours, not the
    # paper's: 4 of its trainings; Table 1 has both rules at the evolved setting)

    def __post_init__(self):  # refuse a bad setting now, not an hour into a run
        check_settings(self)
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
# `python -m tdca_lib.experiments.supervised --profile quick|paper` evolved and shipped (minutes to
# an hour
# each on a CPU for quick; paper needs a GPU). smoke uses quick's. Table 2's deep networks are
# evolved on 10000 samples at the paper's scale (PAPER_DEEP); quick keeps 1000, as the 3-layer
# network's, so that evolution fits a CPU (our choice, stated in the tables).
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


# The ways a bottom-up network is trained here: (credit rule, init). FA and DFA are known rules
# beside the paper's (tdca_lib.method.rules), in the same inner loop.
METHODS = {"kaiming_bp": ("bp", "kaiming"), "zero_bp": ("bp", "zero"), "tdca": ("tdca", "zero"),
           "zero_fa": ("fa", "zero"), "kaiming_fa": ("fa", "kaiming"),
           "zero_dfa": ("dfa", "zero"), "kaiming_dfa": ("dfa", "kaiming")}


def run_bottom_up(settings: SupervisedSettings, dataset: data.Dataset, method: str,
                  seeds: int, beta: torch.Tensor | None = None, curve: bool = False,
                  trajectory: bool = False, curve_every: int = 1):
    """Train ``seeds`` bottom-up networks at once with ``method`` (a key of :data:`METHODS`;
    ``"tdca"`` with the TDCA network ``beta [1, D]``). Returns a dict of ``[seeds]`` tensors:
    train/test accuracy and cross-entropy, the trained parameters ``theta [seeds, D]``; with
    ``curve``, also ``[K, seeds]`` accuracy curves at the steps ``curve_steps [K]`` (every
    ``curve_every`` steps and the last: each point costs an evaluation of every sample); with
    ``trajectory``, the parameters after every step, ``[steps + 1, seeds, D]``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    rule, scheme = METHODS[method]
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
        feedback = random_feedback(net, rule, seed=1000 + settings.seed)
        direction = feedback_direction(net, x, y, rule, feedback)
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


def evolve_and_ship(settings: SupervisedSettings, profile: str,
                    device: str = "auto") -> tuple[torch.Tensor, list[dict], dict]:
    """Evolve (resumably) the TDCA network of ``settings`` on its data set (every one here for
    ``"all"``), ship it to data/checkpoints/ and record in its manifest how well it trains fresh
    zero-initialised networks (the seeds the notebooks use too). Returns (centre ``[1, D]``, log,
    manifest); with ``settings.load_evolved_from``, the network that profile shipped instead."""
    from ..machinery.device import keep_freed_memory, resolve_device

    keep_freed_memory()  # thousands of inner steps: reuse freed memory (see its docstring)
    datasets = load_datasets(settings)
    for dataset in datasets:
        print(dataset.describe())
    datasets = [d.to(resolve_device(device)) for d in datasets]

    def judge(center: torch.Tensor) -> dict[str, dict[str, str]]:
        evaluation = {}
        for dataset in datasets:
            result = run_bottom_up(settings, dataset, "tdca", settings.seeds, beta=center[None])
            evaluation[dataset.name] = {
                "setting": f"{settings.steps} steps, zero init, {dataset.describe()}",
                "seeds": f"{1000 + settings.seed}..{1000 + settings.seed + settings.seeds - 1}",
                "train_accuracy": percent(result["train_acc"]),
                "test_accuracy": percent(result["test_acc"]),
            }
        return evaluation

    center, log, manifest = evolve_or_load(
        network_name(settings), settings, profile=profile,
        experiment="03_diffusion" if settings.sites is not None else "02_supervised",
        fitness=fitness_function(settings, datasets),
        start=search_start(settings, datasets),
        regenerate=regenerate_command(settings, profile), judge=judge)
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


def percent(values: torch.Tensor) -> str:
    """``[seeds]`` accuracies -> ``"96.00 ± 0.88%"`` (mean ± std over seeds)."""
    if len(values) == 1:
        return f"{100 * values.item():.2f}%"
    return f"{100 * values.mean().item():.2f} ± {100 * values.std().item():.2f}%"


CURVE_POINTS = 30  # about this many points a learning curve (Fig S2), each an evaluation


class Runs:
    """The bottom-up trainings behind notebook 02's tables, run once each and cached.

    ``datasets`` maps a data set's name to its full :class:`~tdca_lib.machinery.data.Dataset` or,
    when it
    is not available here, to the reason; ``tdca`` maps a source ("mnist", "all", ...) to its
    evolved TDCA network ``[1, D]`` or, when missing, to the reason. ``variants`` maps a key of
    ``tdca`` to the settings its network needs when they are not ``settings`` (credit diffusion:
    other widths and credit sites).
    """

    def __init__(self, settings: SupervisedSettings, datasets: dict[str, data.Dataset | str],
                 tdca: dict[str, torch.Tensor | str],
                 variants: dict[str, SupervisedSettings] | None = None):
        self.settings, self.datasets, self.tdca = settings, datasets, tdca
        self.variants = variants or {}
        self.cache: dict[tuple, dict[str, torch.Tensor]] = {}

    def missing(self, *, datasets: tuple[str, ...] = (), tdca: tuple[str, ...] = ()) -> str:
        """Why a run needing these data sets and TDCA networks cannot happen ("" if it can)."""
        for name in datasets:
            if isinstance(self.datasets[name], str):
                return self.datasets[name]
        for name in tdca:
            if name != UNTRAINED and isinstance(self.tdca.get(name, "not loaded"), str):
                return f"needs the TDCA network evolved on {name}: {self.tdca.get(name)}"
        return ""

    def run(self, dataset: str, method: str, steps: int | None = None,
            train_size: int | None = None, tdca: str | None = None,
            curve: bool = False, subset: int | None = None) -> dict[str, torch.Tensor]:
        """Train ``settings.seeds`` networks on ``dataset`` (see :func:`run_bottom_up`); steps
        and train size default to the setting the TDCA networks were evolved at. The training
        samples are the evolution's own (meta-train, ``subset=None``) or meta-test subset
        ``subset`` (:meth:`~tdca_lib.machinery.data.Dataset.meta_test`). Runs at Fig S2's setting
        (Table
        1's last) on the evolution's samples record their accuracy curves whether asked or
        not, so Table 1 and Fig S2 share those trainings."""
        steps = steps or self.settings.steps
        train_size = train_size or self.settings.train_size
        at_fig_s2 = (steps, train_size) == self.settings.table1_settings[-1]
        curve = curve or (subset is None and at_fig_s2)
        key = (dataset, method, steps, train_size, tdca, curve, subset)
        if key not in self.cache:
            settings = dataclasses.replace(self.variants.get(tdca, self.settings), steps=steps,
                                           train_size=train_size)
            pool = self.datasets[dataset]
            samples = (pool.subset(train_size) if subset is None
                       else pool.meta_test(train_size)[subset])
            self.cache[key] = run_bottom_up(settings, samples, method, self.settings.seeds,
                                            beta=self.beta(tdca, pool), curve=curve,
                                            curve_every=max(1, steps // CURVE_POINTS))
            self.cache[key]["train_size"] = torch.tensor(len(samples.y_train))
            self.cache[key]["steps"] = torch.tensor(steps)
        return self.cache[key]

    def beta(self, tdca: str | None, dataset: data.Dataset) -> torch.Tensor | None:
        """The TDCA network ``[1, D]`` named ``tdca``; ``UNTRAINED``: the one evolution started
        from (generation 0) on ``dataset``'s evolution samples, a yardstick of what evolution
        added."""
        if tdca != UNTRAINED:
            return self.tdca[tdca] if tdca else None
        key = ("start", dataset.name)  # a warm start is a fit: once a data set
        if key not in self.cache:
            samples = dataset.subset(self.settings.train_size)
            self.cache[key] = search_start(self.settings, [samples])[None]
        return self.cache[key]

    def meta_test(self, dataset: str, method: str, steps: int | None = None,
                  train_size: int | None = None, tdca: str | None = None) -> dict | str:
        """:meth:`run` on every meta-test subset, the ``[subsets x seeds]`` results side by
        side (mean ± std over them is the spread over data), or why it cannot run."""
        train_size = train_size or self.settings.train_size
        try:
            count = len(self.datasets[dataset].meta_test(train_size))
        except data.DatasetUnavailable as err:
            return str(err)
        results = [self.run(dataset, method, steps, train_size, tdca, subset=k)
                   for k in range(count)]
        merged = {k: torch.cat([r[k] for r in results])
                  for k in ("train_acc", "test_acc", "train_ce", "test_ce", "theta")}
        return merged | {"train_size": results[0]["train_size"], "steps": results[0]["steps"],
                         "subsets": torch.tensor(count)}

    def mean(self, result: dict[str, torch.Tensor], key: str = "test_acc") -> float:
        return result[key].mean().item()

    def transferred(self, source: dict[str, torch.Tensor], dataset: str, train_size: int):
        """TrFC: networks trained on another data set, applied as they are to ``dataset``."""
        subset = self.datasets[dataset].subset(train_size)
        net = bottom_up_network(self.settings, subset.features)
        train_acc, _ = evaluate(net, source["theta"], subset.x_train, subset.y_train)
        test_acc, _ = evaluate(net, source["theta"], subset.x_test, subset.y_test)
        return {"train_acc": train_acc, "test_acc": test_acc,
                "train_size": torch.tensor(len(subset.y_train)), "steps": source["steps"]}

    def describe(self, dataset: str, result: dict, note: str = "") -> str:
        """Our setting, as the tables print it beside the paper's."""
        test = len(self.datasets[dataset].y_test)
        text = (f"{int(result['steps'])} steps, {int(result['train_size'])} train / {test} test, "
                f"{self.settings.seeds} seeds")
        return text + (f"; {note}" if note else "")

    def table1_cell(self, dataset: str, method: str, steps: int, train_size: int,
                    meta_test: bool = False):
        """One cell of Table 1 (rows as the paper names them, or a yardstick of
        :data:`YARDSTICKS`), on the evolution's samples or, with ``meta_test``, on the
        meta-test subsets; or why it cannot run. The TDCA network is the one evolved on MNIST;
        TrFC: the MNIST TDCA-net's networks applied to Fashion-MNIST as they are."""
        train = self.meta_test if meta_test else self.run
        if method in ("Kaiming BP", "Zero BP") or method in YARDSTICKS:
            kind, source = YARDSTICKS.get(method, ("kaiming_bp" if method == "Kaiming BP"
                                                   else "zero_bp", None))
            return (self.missing(datasets=(dataset,))
                    or train(dataset, kind, steps, train_size, tdca=source))
        why = self.missing(datasets=("mnist", dataset), tdca=("mnist",))
        if why:
            return why
        mnist_tdca = train("mnist", "tdca", steps, train_size, tdca="mnist")
        if method == "TDCA-net":
            return mnist_tdca
        if method == "TrTDCA-net":
            return train(dataset, "tdca", steps, train_size, tdca="mnist")
        if method == "TrFC":
            return mnist_tdca if isinstance(mnist_tdca, str) else self.transferred(
                mnist_tdca, dataset, train_size)
        raise ValueError(f"unknown Table 1 method {method!r}")

    def row_beside_paper(self, dataset: str, result: dict | str,
                         paper_cells: tuple[str, str], note: str = "",
                         meta: dict | str = "") -> dict[str, str]:
        """A table row: our train / test accuracy on the evolution's samples (or why it could
        not run) beside the paper's, our test accuracy on the meta-test subsets ``meta``, and
        our setting."""
        def cell(result, key):
            return result if isinstance(result, str) else percent(result[key])

        return {"Train: ours, meta-train": cell(result, "train_acc"),
                "Train: paper": paper_cells[0],
                "Test: ours, meta-train": cell(result, "test_acc"),
                "Test: paper": paper_cells[1],
                "Test: ours, meta-test": cell(meta, "test_acc"),
                "Our run": result if isinstance(result, str)
                else self.describe(dataset, result, note)}

    def table1(self) -> pd.DataFrame:
        """Table 1 beside the paper's, at each of ``settings.table1_settings`` (matched in
        order with the paper's three settings); at the evolved setting also on the meta-test
        subsets, with the yardsticks (FA, DFA, the TDCA network before evolution) below."""
        rows = []
        evolved_at = (self.settings.steps, self.settings.train_size)
        for ours, theirs in zip(self.settings.table1_settings, paper.TABLE1_SETTINGS):
            for dataset, methods in paper.TABLE1.items():
                extra = {m: NOT_IN_PAPER for m in YARDSTICKS} if ours == evolved_at else {}
                for method, paper_cells in {**methods, **extra}.items():
                    note = ("TDCA network evolved at "
                            f"{evolved_at[0]} steps, {evolved_at[1]} train"
                            if method in ("TDCA-net", "TrTDCA-net", "TrFC") and ours != evolved_at
                            else "")
                    result = self.table1_cell(dataset, method, *ours)
                    meta = (self.table1_cell(dataset, method, *ours, meta_test=True)
                            if ours == evolved_at else "evolved setting only")
                    cells = paper_cells if method in YARDSTICKS else paper_cells[theirs]
                    rows.append({"Dataset": data.TITLES[dataset], "Method": method,
                                 "Setting (paper)": f"{theirs[0]} steps, {theirs[1]} train",
                                 **self.row_beside_paper(dataset, result, cells, note, meta)})
        return pd.DataFrame(rows)

    def table_s1(self) -> pd.DataFrame:
        """Table S1: BP and each data set's own TDCA network at the evolved setting, on the
        evolution's samples and on the meta-test subsets; the yardsticks below."""
        rows = []
        for dataset in data.DATASETS:
            for method, (kind, source) in {"Kaiming BP": ("kaiming_bp", None),
                                           "Zero BP": ("zero_bp", None),
                                           "TDCA-net": ("tdca", dataset),
                                           **YARDSTICKS}.items():
                why = self.missing(datasets=(dataset,), tdca=(source,) if source else ())
                result = why or self.run(dataset, kind, tdca=source)
                meta = why or self.meta_test(dataset, kind, tdca=source)
                cells = paper.TABLE_S1[method][dataset] if method in paper.TABLE_S1 \
                    else NOT_IN_PAPER
                rows.append({"Dataset": data.TITLES[dataset], "Method": method,
                             **self.row_beside_paper(dataset, result, cells, meta=meta)})
        return pd.DataFrame(rows).rename(columns={"Our run": "Our run (paper: 150 steps, all)"})

    def table_s2(self) -> tuple[pd.DataFrame, dict[str, float]]:
        """Table S2 (train / test of each TDCA network on each data set's evolution samples,
        test on its meta-test subsets, and the means over the data sets available here) and
        each source's mean meta-test accuracy: only there has no network seen the data."""
        rows, means = [], {}
        for source in SOURCES:
            row = {"Evolved on": "All" if source == "all" else data.TITLES[source]}
            results, metas = [], []
            for target in data.DATASETS:
                title = data.TITLES[target]
                why = self.missing(datasets=(target,), tdca=(source,))
                meta = why or self.meta_test(target, "tdca", tdca=source)
                if why:
                    row[f"{title}: ours"] = why
                else:
                    results.append(self.run(target, "tdca", tdca=source))
                    row[f"{title}: ours"] = (f"{self.mean(results[-1], 'train_acc'):.2%} / "
                                             f"{self.mean(results[-1]):.2%}")
                row[f"{title}: meta-test"] = meta if isinstance(meta, str) else percent(
                    meta["test_acc"])
                if not isinstance(meta, str):
                    metas.append(meta)
                row[f"{title}: paper"] = " / ".join(paper.TABLE_S2[source][target])
            if results:
                train = sum(self.mean(r, "train_acc") for r in results) / len(results)
                test = sum(self.mean(r) for r in results) / len(results)
                row["Mean: ours"] = f"{train:.2%} / {test:.2%}"
            if metas:
                means[source] = sum(self.mean(m) for m in metas) / len(metas)
                row["Mean: meta-test"] = f"{means[source]:.2%}"
            row["Mean: paper"] = " / ".join(paper.TABLE_S2[source]["mean"])
            rows.append(row)
        return pd.DataFrame(rows).fillna(""), means


TABLE2_ARCHITECTURES = ("deep_fc", "deep_cnn")
TABLE2_METHODS = {"Kaiming BP": "kaiming_bp", "Zero BP": "zero_bp", "TDCA-net": "tdca"}


def table2(profile: str, datasets: dict[str, data.Dataset | str],
           device: torch.device | str = "cpu") -> tuple[pd.DataFrame, dict]:
    """Table 2 beside the paper's: each architecture, data set and method, at the setting the
    TDCA networks were evolved at, on the evolution's samples and on the meta-test subsets;
    and, where TDCA and Zero BP both ran, TDCA's margin over Zero BP
    ``{(architecture, dataset): {"meta-train" | "meta-test": (train, test)}}``."""
    rows, margins = [], {}
    for architecture in TABLE2_ARCHITECTURES:
        settings = settings_for(profile, architecture)
        tdca = {}
        for name in data.DATASETS:
            try:
                tdca[name] = shipped_tdca(settings, name, device)[0]
            except CheckpointMissing as err:
                tdca[name] = str(err).splitlines()[0]
        runs = Runs(settings, datasets, tdca)
        for name in data.DATASETS:
            results = {}
            for method, kind in TABLE2_METHODS.items():
                source = name if kind == "tdca" else None
                why = runs.missing(datasets=(name,), tdca=(source,) if source else ())
                results[method] = (why or runs.run(name, kind, tdca=source),
                                   why or runs.meta_test(name, kind, tdca=source))
                beside = runs.row_beside_paper(name, results[method][0],
                                               paper.TABLE2[architecture][method][name],
                                               meta=results[method][1])
                rows.append({"Model": bottom_up.ARCHITECTURE_TITLES[architecture],
                             "Dataset": data.TITLES[name], "Method": method, **beside})
            if not any(isinstance(r, str) for pair in results.values() for r in pair):
                margins[architecture, name] = {
                    split: tuple(runs.mean(results["TDCA-net"][i], k)
                                 - runs.mean(results["Zero BP"][i], k)
                                 for k in ("train_acc", "test_acc"))
                    for i, split in enumerate(("meta-train", "meta-test"))}
    return pd.DataFrame(rows), margins


def search_budget(settings: SupervisedSettings) -> str:
    """The size of the search behind a verdict, as every claim of notebook 02 states it."""
    start = ", from a TDCA network fitted to DFA's credits" if settings.warm_start else ""
    return (f"TDCA evolved {settings.generations} generations x population "
            f"{settings.population} = {settings.generations * settings.population} member "
            f"evaluations{start} (paper: 5000 generations, from a random start); the verdict "
            "against the search's size: notebook 07")


def search_of(settings: SupervisedSettings) -> str:
    """``"600 generations from a random start"``: one network's search, for claims that
    compare networks evolved differently."""
    start = "the DFA-fitted start" if settings.warm_start else "a random start"
    return f"{settings.generations} generations from {start}"


def judge_table1(runs: Runs, claims: Claims) -> str:
    """Table 1's claims at the evolved setting, judged on the meta-test subsets into
    ``claims``: TDCA-net against Zero and Kaiming BP on MNIST, and the transfer to
    Fashion-MNIST against Zero BP and TrFC. Returns the measurements behind them, a line
    each."""
    settings, budget = runs.settings, search_budget(runs.settings)
    small = f"{settings.steps} steps, {settings.train_size} train"
    cells = {(d, m): runs.table1_cell(d, m, settings.steps, settings.train_size)
             for d, m in [("mnist", "Kaiming BP"), ("mnist", "Zero BP"), ("mnist", "TDCA-net"),
                          ("fashion_mnist", "Zero BP"), ("fashion_mnist", "TrFC"),
                          ("fashion_mnist", "TrTDCA-net")]}
    held_out = {k: runs.table1_cell(*k, settings.steps, settings.train_size, meta_test=True)
                for k in cells}
    lines = []
    for (d, m), r in cells.items():
        if not isinstance(r, str):
            meta = held_out[d, m]
            lines.append(f"{data.TITLES[d]}, {small}: {m:10s} meta-train: train "
                         f"{runs.mean(r, 'train_acc'):.1%}, test {runs.mean(r):.1%}; meta-test: "
                         "test " + (meta if isinstance(meta, str) else f"{runs.mean(meta):.1%}"))
    for rival in ("Zero BP", "Kaiming BP"):
        claims.judge(f"TDCA-net from zero init beats {rival} on MNIST, {small} (Table 1)",
                     *beats_held_out(cells, held_out, ("mnist", "TDCA-net"), ("mnist", rival),
                                     setting=budget))
    for rival in ("Zero BP", "TrFC"):
        claims.judge(f"The MNIST-evolved TDCA network transfers to Fashion-MNIST, {small}: "
                     f"TrTDCA-net beats {rival} (Table 1)",
                     *beats_held_out(cells, held_out, ("fashion_mnist", "TrTDCA-net"),
                                     ("fashion_mnist", rival), ("test_acc",), budget))
    return "\n".join(lines)


# Fig S2's curves: label -> (method, TDCA network: "{}" the data set's own, "{}/10-to-100" its
# diffused-credit network). Their colours are plots.FIG_S2_STYLES'.
FIG_S2 = {"BP (Kaiming)": ("kaiming_bp", None), "BP (zero)": ("zero_bp", None),
          "TDCA (top-down)": ("tdca", "{}"), "TDCA + diffusion": ("tdca", "{}/10-to-100")}
FIG_S2_RULES = {"FA (zero, ours)": ("zero_fa", None), "DFA (zero, ours)": ("zero_dfa", None)}


def fig_s2_curves(runs: Runs, steps: int, train_size: int) -> tuple[list[str], dict]:
    """Fig S2's accuracy per inner step: the data sets that have their own TDCA network, and
    ``{(dataset, label): run with curves}`` for each label of :data:`FIG_S2` (and of
    :data:`FIG_S2_RULES` with ``settings.fig_s2_rules``), or why it cannot run."""
    labels = FIG_S2 | (FIG_S2_RULES if runs.settings.fig_s2_rules else {})

    def curve(dataset: str, label: str) -> dict | str:
        kind, source = labels[label]
        source = source and source.format(dataset)
        return (runs.missing(datasets=(dataset,), tdca=(source,) if source else ())
                or runs.run(dataset, kind, steps, train_size, tdca=source, curve=True))

    shown = [d for d in data.DATASETS if not runs.missing(datasets=(d,), tdca=(d,))]
    return shown, {(d, label): curve(d, label) for d in shown for label in labels}


FIG_S2_JUDGED = ("BP (Kaiming)", "TDCA (top-down)", "TDCA + diffusion")  # its claims compare these


def curve_at(run: dict[str, torch.Tensor], step: int, split: str = "train") -> float:
    """A run's ``split`` accuracy after inner step ``step`` (mean over seeds), from its curve
    (:func:`run_bottom_up` with ``curve``: ``step`` must be one it recorded)."""
    recorded = run["curve_steps"].tolist()
    if step not in recorded:
        raise ValueError(f"step {step} is not on the curve; it has steps {recorded}")
    return run[f"{split}_curve"][recorded.index(step)].mean().item()


FIG_S3_PAIRS = {"TD vs BP": ("TDCA (top-down)", "BP (zero)"),
                "TD vs TD + diffusion": ("TDCA (top-down)", "TDCA + diffusion")}


def fig_s3_planes(runs: Runs, curves: dict, steps: int, train_size: int) -> dict[str, dict]:
    """Fig S3: for each pair of :data:`FIG_S3_PAIRS` whose curves ran on MNIST, the plane of
    the two trajectories' main directions (one zero-initialised network each): the cosine of
    the directions, both paths projected ``[steps + 1, 2]``, the training cross-entropy over
    the plane ``(xs, ys, values)`` and the share of each final displacement the plane
    captures."""
    if ("mnist", "BP (zero)") not in curves:
        return {}
    mnist = runs.datasets["mnist"].subset(train_size)
    net = bottom_up_network(runs.settings, mnist.features)
    paths = {}
    for label in ("BP (zero)", "TDCA (top-down)", "TDCA + diffusion"):
        kind, source = FIG_S2[label]
        source = source and source.format("mnist")
        if not isinstance(curves["mnist", label], str):
            ran = dataclasses.replace(runs.variants.get(source, runs.settings), steps=steps,
                                      train_size=train_size)
            paths[label] = run_bottom_up(ran, mnist, kind, 1, beta=runs.tdca.get(source),
                                         trajectory=True)["theta_curve"][:, 0]
    planes = {}
    for title, (a, b) in FIG_S3_PAIRS.items():
        if a in paths and b in paths:
            plane, cos = loss_planes.plane_of(paths[a], paths[b])
            projected = {label: plane.project(paths[label]).cpu() for label in (a, b)}
            # 31 x 31 points: each is a pass over every training sample
            surface = loss_planes.surface(
                lambda points: evaluate(net, points, mnist.x_train, mnist.y_train)[1], plane,
                loss_planes.extent_around(*projected.values()), n=31)
            planes[title] = dict(cos=cos, projected=projected, surface=surface, captured={
                k: plane.captured(paths[k][-1:]).item() for k in (a, b)})
    return planes


def beats_held_out(meta_train: dict, meta_test: dict, a, b,
                   keys: tuple[str, ...] = ("train_acc", "test_acc"),
                   setting: str = "") -> tuple[bool | None, str]:
    """Whether result ``a`` beats ``b`` (higher mean on every key) on the meta-test subsets:
    the verdict, and the evidence with both splits (noting when meta-train's verdict
    differs). ``meta_train`` and ``meta_test`` map labels to results or to why they are
    missing."""
    verdicts, texts = {}, []
    for split, results in (("meta-test", meta_test), ("meta-train", meta_train)):
        missing = [results[x] for x in (a, b) if isinstance(results[x], str)]
        if missing:
            return None, f"not run: {missing[0]}"
        means = {x: [results[x][k].mean().item() for k in keys] for x in (a, b)}
        verdicts[split] = all(p > q for p, q in zip(means[a], means[b]))
        texts.append(f"{split} " + "; ".join(
            f"{x if isinstance(x, str) else x[-1]} " + "/".join(f"{v:.1%}" for v in means[x])
            for x in (a, b)))
    differs = ("" if verdicts["meta-test"] == verdicts["meta-train"]
               else "; on meta-train the verdict differs")
    return verdicts["meta-test"], (f"{'/'.join(keys)}: " + " | ".join(texts) + differs
                                   + (f"; {setting}" if setting else ""))


# Rows beyond the paper's, beside its methods: (method, TDCA network)
NOT_IN_PAPER = ("not in the paper", "not in the paper")
YARDSTICKS = {"FA, zero init (ours)": ("zero_fa", None),
              "FA, Kaiming init (ours)": ("kaiming_fa", None),
              "DFA, zero init (ours)": ("zero_dfa", None),
              "DFA, Kaiming init (ours)": ("kaiming_dfa", None),
              "TDCA-net before evolution (ours)": ("tdca", UNTRAINED)}


if __name__ == "__main__":
    sys.exit(command(main))
