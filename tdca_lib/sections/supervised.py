"""Notebook 02's section (Table 1, Table S1, Table 2, Fig S2, Fig S3): the bottom-up trainings
behind its tables, run once each and cached, the tables beside the paper's, and their claims."""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch

from ..experiments import loss_planes
from ..experiments.supervised import (
    SOURCES,
    UNTRAINED,
    SupervisedSettings,
    bottom_up_network,
    percent,
    run_bottom_up,
    search_start,
    settings_for,
    shipped_tdca,
)
from ..machinery import data, paper
from ..machinery.checkpoints import CheckpointMissing
from ..machinery.claims import Claims
from ..method import bottom_up
from ..method.inner_loop import evaluate

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
