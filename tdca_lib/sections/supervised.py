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
    methods,
    percent,
    run_bottom_up,
    search_start,
    settings_for,
    shipped_tdca,
)
from ..machinery import data, paper
from ..machinery.checkpoints import CheckpointMissing
from ..machinery.claims import Claims, difference, verdict
from ..method import bottom_up
from ..method.inner_loop import evaluate
from ..method.rules import RULES, rule_groups

CURVE_POINTS = 30  # about this many points a learning curve (Fig S2), each an evaluation


class Runs:
    """The bottom-up trainings behind notebook 02's tables, run once each and cached.

    ``datasets`` maps a data set's name to its full :class:`~tdca_lib.machinery.data.Dataset` or,
    when it is not available here, to the reason; ``tdca`` maps a source ("mnist", "all", ...) to
    its evolved TDCA network ``[1, D]`` or, when missing, to the reason. ``variants`` maps a key of
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
        return self.tdca[self.start_of(dataset.name)]

    def start_of(self, source: str) -> str:
        """The key in ``tdca`` of the TDCA network ``[1, D]`` that the search of ``source``'s
        network started from (:func:`search_start` on the evolution's samples of ``source``: a
        data set, or for "all" every one here); a warm start is a fit, so it is made once."""
        key = f"{source}, before evolution"
        if key not in self.tdca:
            names = [n for n in data.DATASETS if not isinstance(self.datasets.get(n, ""), str)
                     and source in (n, "all")]
            samples = [self.datasets[n].subset(self.settings.train_size) for n in names]
            self.tdca[key] = search_start(self.settings, samples)[None]
        return key

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
        :func:`yardsticks`), on the evolution's samples or, with ``meta_test``, on the
        meta-test subsets; or why it cannot run. The TDCA network is the one evolved on MNIST;
        TrFC: the MNIST TDCA-net's networks applied to Fashion-MNIST as they are."""
        train = self.meta_test if meta_test else self.run
        extra = yardsticks(self.settings)
        if method in ("Kaiming BP", "Zero BP") or method in extra:
            kind, source = extra.get(method, ("kaiming_bp" if method == "Kaiming BP"
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
            for dataset, paper_rows in paper.TABLE1.items():
                extra = ({m: NOT_IN_PAPER for m in yardsticks(self.settings)}
                         if ours == evolved_at else {})
                for method, paper_cells in {**paper_rows, **extra}.items():
                    note = ("TDCA network evolved at "
                            f"{evolved_at[0]} steps, {evolved_at[1]} train"
                            if method in ("TDCA-net", "TrTDCA-net", "TrFC") and ours != evolved_at
                            else "")
                    result = self.table1_cell(dataset, method, *ours)
                    meta = (self.table1_cell(dataset, method, *ours, meta_test=True)
                            if ours == evolved_at else "evolved setting only")
                    cells = paper_cells if method in extra else paper_cells[theirs]
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
                                           **yardsticks(self.settings)}.items():
                why = self.missing(datasets=(dataset,), tdca=(source,) if source else ())
                result = why or self.run(dataset, kind, tdca=source)
                meta = why or self.meta_test(dataset, kind, tdca=source)
                cells = paper.TABLE_S1[method][dataset] if method in paper.TABLE_S1 \
                    else NOT_IN_PAPER
                rows.append({"Dataset": data.TITLES[dataset], "Method": method,
                             **self.row_beside_paper(dataset, result, cells, meta=meta)})
        return pd.DataFrame(rows).rename(columns={"Our run": "Our run (paper: 150 steps, all)"})

    def table_s2(self) -> pd.DataFrame:
        """Table S2: train / test of each TDCA network on each data set's evolution samples,
        test on its meta-test subsets (only there has no network seen the data), and the means
        over the data sets available here."""
        rows = []
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
                row["Mean: meta-test"] = f"{sum(self.mean(m) for m in metas) / len(metas):.2%}"
            row["Mean: paper"] = " / ".join(paper.TABLE_S2[source]["mean"])
            rows.append(row)
        return pd.DataFrame(rows).fillna("")


TABLE2_ARCHITECTURES = ("deep_fc", "deep_cnn")
TABLE2_METHODS = {"Kaiming BP": "kaiming_bp", "Zero BP": "zero_bp", "TDCA-net": "tdca"}


def table2(profile: str, datasets: dict[str, data.Dataset | str],
           device: torch.device | str = "cpu") -> tuple[pd.DataFrame, dict]:
    """Table 2 beside the paper's: each architecture, data set and method, at the setting the
    TDCA networks were evolved at, on the evolution's samples and on the meta-test subsets;
    and, where every method ran, the results :func:`judge_table2` compares
    ``{(architecture, dataset): {method: (meta-train, meta-test)}}``."""
    rows, complete = [], {}
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
                complete[architecture, name] = results
    return pd.DataFrame(rows), complete


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


Values = torch.Tensor | str  # the values a result varies over, or why it did not run
ACCURACY = {"train_acc": "train", "test_acc": "test"}
LONGER_STEPS = 50  # Table 1's second setting: does an evolved rule hold past its 20 steps?
TABLE2_MARGIN = 0.01  # Table 2's "beats": by 1 point or more (our threshold)
ORTHOGONAL = 0.2  # Fig S3's "nearly orthogonal": |cos| <= 0.2, at least 78 degrees (ours)


def values(result: dict | str, key: str = "test_acc") -> Values:
    """What ``result[key]`` varies over, for the rule: one mean a meta-test subset (the data
    vary; the inits within a subset share its samples and are averaged), else one value a
    seed; or why ``result`` did not run."""
    if isinstance(result, str):
        return result
    v = result[key].cpu()
    return v.reshape(int(result["subsets"]), -1).mean(1) if "subsets" in result else v


def varied(a: torch.Tensor, b: torch.Tensor, paired: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``a`` and ``b`` without the copies of seeds that changed nothing: a zero init trains the
    same network whatever its seed, and five copies of one value are one value, not five
    (the rule then finds no spread to weigh the difference against)."""
    def copies(v: torch.Tensor) -> bool:
        return len(v) > 1 and bool((v == v[0]).all())

    if paired:
        return (a[:1], b[:1]) if copies(a) and copies(b) else (a, b)
    return a[:1] if copies(a) else a, b[:1] if copies(b) else b


def judge_parts(claims: Claims, claim: str, parts: dict[str, tuple[Values, Values, bool]], *,
                threshold: float = 0.0, meta_train: dict | None = None, note: str = "",
                nothing: str = "nothing to compare here") -> None:
    """Judge ``claim`` by the one rule (:meth:`Claims.compare_all`) into ``claims``: in each
    part, by name, values ``a`` must beat ``b`` by ``threshold``, ``paired`` when both sides
    trained on the same subsets from the same inits. A part missing a side (a string) makes the
    claim "not tested", saying why, as no part does (``nothing``). ``meta_train`` holds the
    same parts on the evolution's samples: their differences join the evidence, then
    ``note``."""
    why = next((v for a, b, _ in parts.values() for v in (a, b) if isinstance(v, str)), None)
    if why is not None or not parts:
        claims.judge(claim, None, f"not run: {why}" if why else nothing)
        return
    aside = [f"{name}{': ' * bool(name)}"
             f"{difference(*varied(a, b, paired), paired).describe()}"
             for name, (a, b, paired) in (meta_train or {}).items()
             if not isinstance(a, str) and not isinstance(b, str)]
    evidence = ([f"on meta-train {', '.join(aside)}"] if aside else []) + [note] * bool(note)
    claims.compare_all(claim, {name: difference(*varied(a, b, paired), paired)
                               for name, (a, b, paired) in parts.items()},
                       threshold=threshold, evidence="; ".join(evidence))


def judged(claims: Claims, first: int) -> str:
    """The claims from row ``first`` on, as a markdown table."""
    return claims.frame().iloc[first:].to_markdown(index=False)


def against_manifests(runs: Runs, manifests: dict[str, dict]) -> str:
    """Each shipped network's own record (its manifest's ``evaluation``: how it trained fresh
    zero-initialised networks when it was shipped) beside the same runs here, a line each."""
    lines = []
    for source, manifest in manifests.items():
        for dataset, recorded in manifest.get("evaluation", {}).items():
            ours = runs.run(dataset, "tdca", tdca=source)
            here = (percent(ours["train_acc"]), percent(ours["test_acc"]))
            same = here == (recorded["train_accuracy"], recorded["test_accuracy"])
            lines.append(f"network {source} on {dataset}, seeds {recorded['seeds']}: manifest "
                         f"{recorded['train_accuracy']} / {recorded['test_accuracy']}, here "
                         f"{here[0]} / {here[1]} ({'the same' if same else 'DIFFERENT'})")
    return "\n".join(lines)


def judge_convergence(claims: Claims, logs: dict[str, list[dict]]) -> str:
    """Fig S1's claim into ``claims``: the outer loop converges when the centre's cross-entropy
    falls, then varies by < 10% of its fall over the last 10% of generations, for every
    network of ``logs`` (name -> a dict a generation). Returns the measurements, a line a
    network. Not a comparison of two results: a condition on one curve."""
    converged, lines = {}, []
    for name, log in logs.items():
        ce = [-row["center"] for row in log]
        tail = ce[-max(1, len(ce) // 10):]
        converged[name] = bool(ce[-1] < ce[0] and max(tail) - min(tail) < 0.1 * (ce[0] - ce[-1]))
        lines.append(f"{name}: cross-entropy {ce[0]:.3f} -> {ce[-1]:.3f}; last 10% of "
                     f"generations span {max(tail) - min(tail):.3f}; accuracy "
                     f"{log[-1]['center_train_accuracy']:.1%}")
    claims.judge("The outer loop converges (Fig S1)", all(converged.values()) if logs else None,
                 "cross-entropy falls, then varies by < 10% of its fall over the last 10% of "
                 "generations: " + ", ".join(f"{k} {'yes' if v else 'no'}"
                                             for k, v in converged.items()))
    return "\n".join(lines)


def judge_table1(claims: Claims, runs: Runs) -> tuple[str, str]:
    """Table 1's claims into ``claims``: at the evolved setting, on the meta-test subsets,
    TDCA-net against Zero and Kaiming BP on MNIST (train and test accuracy) and the transfer to
    Fashion-MNIST against Zero BP and TrFC (test); at the larger settings (the evolution's
    samples and more, no meta-test) TDCA-net against Zero BP. Returns the measurements, a line
    a result (the same under every profile), and the verdicts (smoke runs fewer settings)."""
    settings, budget = runs.settings, search_budget(runs.settings)
    evolved_at = (settings.steps, settings.train_size)
    small = f"{settings.steps} steps, {settings.train_size} train"
    cells = {(d, m): runs.table1_cell(d, m, *evolved_at)
             for d, m in [("mnist", "Kaiming BP"), ("mnist", "Zero BP"), ("mnist", "TDCA-net"),
                          ("fashion_mnist", "Zero BP"), ("fashion_mnist", "TrFC"),
                          ("fashion_mnist", "TrTDCA-net")]}
    held_out = {k: runs.table1_cell(*k, *evolved_at, meta_test=True) for k in cells}
    lines = []
    for (d, m), r in cells.items():
        if not isinstance(r, str):
            meta = held_out[d, m]
            lines.append(f"{data.TITLES[d]}, {small}: {m:10s} meta-train: train "
                         f"{runs.mean(r, 'train_acc'):.1%}, test {runs.mean(r):.1%}; meta-test: "
                         "test " + (meta if isinstance(meta, str) else f"{runs.mean(meta):.1%}"))
    first = len(claims.rows)
    # Zero BP starts where TDCA-net does (the same zero inits): paired; Kaiming BP elsewhere
    for rival, paired in (("Zero BP", True), ("Kaiming BP", False)):
        a, b = ("mnist", "TDCA-net"), ("mnist", rival)
        judge_parts(claims, f"TDCA-net from zero init beats {rival} on MNIST, {small}, train "
                    "and test (Table 1)",
                    {ACCURACY[k]: (values(held_out[a], k), values(held_out[b], k), paired)
                     for k in ACCURACY}, note=budget,
                    meta_train={ACCURACY[k]: (values(cells[a], k), values(cells[b], k), paired)
                                for k in ACCURACY})
    # TrFC's networks trained on MNIST's subsets: nothing shared with TrTDCA-net's
    for rival, paired in (("Zero BP", True), ("TrFC", False)):
        a, b = ("fashion_mnist", "TrTDCA-net"), ("fashion_mnist", rival)
        judge_parts(claims, "The MNIST-evolved TDCA network transfers to Fashion-MNIST, "
                    f"{small}: TrTDCA-net beats {rival} on test (Table 1)",
                    {"": (values(held_out[a]), values(held_out[b]), paired)}, note=budget,
                    meta_train={"": (values(cells[a]), values(cells[b]), paired)})
    larger = [s for s in settings.table1_settings if s != evolved_at]
    judge_parts(claims, "TDCA-net beats Zero BP on MNIST at the larger settings too (Table 1; "
                "our TDCA network evolved at the smallest only)",
                {f"{s[0]} steps/{s[1]}": tuple(values(runs.table1_cell("mnist", m, *s))
                                               for m in ("TDCA-net", "Zero BP")) + (True,)
                 for s in larger}, note=f"test accuracy over the inits; {budget}",
                nothing="this profile runs Table 1 at the evolved setting only")
    return "\n".join(lines), judged(claims, first)


def evolution_against_start(claims: Claims, runs: Runs) -> pd.DataFrame:
    """Does evolution earn its place? Each shipped network (MNIST's and Fashion-MNIST's on
    their data set, All's on each here) beside the network its search started from
    (:meth:`Runs.start_of`) and DFA from the same zero inits, on the meta-test subsets at the
    evolved inner steps and at :data:`LONGER_STEPS`: a row each, with the evolved minus the
    start and its verdict by the one rule; the claim that evolution improves on its start,
    one a network and inner-step count, into ``claims``."""
    settings = runs.settings
    start = "DFA fit" if settings.warm_start else "random network"
    dfa = next(m for m, rule in methods().items() if rule == ("dfa", "zero"))
    rows, parts = [], {}
    for source in [s for s in SOURCES if not runs.missing(tdca=(s,))]:
        for target in [source] if source != "all" else data.DATASETS:
            # All's start is fitted on every data set it needs, as its search's was
            why = runs.missing(datasets=(*data.ALL_NEEDS * (source == "all"), target))
            if why:
                rows.append({"TDCA network": title(source), "Trains": data.TITLES[target],
                             "Evolved": why})
                continue
            for steps in (settings.steps, LONGER_STEPS):
                trained = {label: runs.meta_test(target, method, steps, tdca=tdca) for
                           label, method, tdca in [("Evolved", "tdca", source),
                                                   (f"Start ({start})", "tdca",
                                                    runs.start_of(source)),
                                                   ("DFA, zero init", dfa, None)]}
                evolved, begun = trained["Evolved"], trained[f"Start ({start})"]
                gain = (difference(values(evolved), values(begun))
                        if not any(isinstance(r, str) for r in trained.values()) else None)
                parts.setdefault((source, steps), {})[data.TITLES[target]] = (
                    values(evolved), values(begun), True)  # the same subsets and zero inits
                rows.append({"TDCA network": title(source), "Trains": data.TITLES[target],
                             "Inner steps": steps,
                             **{k: r if isinstance(r, str) else percent(r["test_acc"])
                                for k, r in trained.items()},
                             "Evolved minus start": gain.describe() if gain else "",
                             "Verdict": verdict(gain) if gain else "",
                             "Setting": "" if isinstance(evolved, str) else
                             f"meta-test accuracy: {steps} inner steps, "
                             f"{int(evolved['train_size'])} samples a subset, "
                             f"{int(evolved['subsets'])} subsets x {settings.seeds} zero inits"})
    for (source, steps), named in parts.items():
        judge_parts(claims, f"(ours) evolution improves on its start on meta-test: the "
                    f"{title(source)} TDCA network beats its search's start ({start}), "
                    f"{steps} inner steps", named if len(named) > 1 else
                    {"": next(iter(named.values()))}, note=search_of(settings))
    return pd.DataFrame(rows).fillna("")


def title(source: str) -> str:
    """A TDCA network's source as the tables name it: "MNIST", ..., "All"."""
    return "All" if source == "all" else data.TITLES[source]


def judge_table_s1(claims: Claims, runs: Runs) -> str:
    """Table S1's claim into ``claims``: each data set's own TDCA network at least matches
    Kaiming and Zero BP on the meta-test subsets, train and test accuracy (CIFAR-10: test
    only, as the paper says), at the evolved setting. Returns the verdict."""
    first = len(claims.rows)
    parts, meta_train = {}, {}
    for dataset in data.DATASETS:
        if runs.missing(datasets=(dataset,), tdca=(dataset,)):
            continue
        keys = ("test_acc",) if dataset == "cifar10" else tuple(ACCURACY)
        for rival, method, paired in (("Kaiming BP", "kaiming_bp", False),
                                      ("Zero BP", "zero_bp", True)):
            for train, into in ((runs.meta_test, parts), (runs.run, meta_train)):
                tdca, bp = train(dataset, "tdca", tdca=dataset), train(dataset, method)
                for k in keys:
                    into[f"{data.TITLES[dataset]} {ACCURACY[k]} vs {rival}"] = (
                        values(tdca, k), values(bp, k), paired)
    settings = runs.settings
    judge_parts(claims, "TDCA >= BP on fit and generalisation, except CIFAR-10 train (Table S1)",
                parts, meta_train=meta_train,
                note=f"{settings.steps} steps, {settings.train_size} train; "
                     f"{search_budget(settings)}",
                nothing="no data set with its TDCA network")
    return judged(claims, first)


def judge_table_s2(claims: Claims, runs: Runs) -> str:
    """Table S2's claims into ``claims``, on the meta-test subsets: every TDCA network trains
    the other data sets better than Zero BP, and the one evolved on all of them has the best
    mean test accuracy over the data sets (against each other network, on the data sets both
    ran). Returns the verdicts."""
    first = len(claims.rows)
    transfers, meta_train = {}, {}
    for source in SOURCES:
        for target in data.DATASETS:
            if source != target and not runs.missing(datasets=(target,), tdca=(source,)):
                name = f"{title(source)} -> {data.TITLES[target]}"
                for train, into in ((runs.meta_test, transfers), (runs.run, meta_train)):
                    into[name] = (values(train(target, "tdca", tdca=source)),
                                  values(train(target, "zero_bp")), True)
    budget = search_budget(runs.settings)
    judge_parts(claims, "Every TDCA network transfers: trains other data sets better than Zero "
                "BP (Table S2)", transfers, meta_train=meta_train, note=budget)

    def pooled(source: str, targets: list[str]) -> Values:  # every target's values, in order
        results = [runs.meta_test(t, "tdca", tdca=source) for t in targets]
        why = next((r for r in results if isinstance(r, str)), None)
        return why or torch.cat([values(r) for r in results])

    rivals = {}
    if not runs.missing(tdca=("all",)):
        for source in data.DATASETS:
            targets = [t for t in data.DATASETS
                       if not runs.missing(datasets=(t,), tdca=(source, "all"))]
            if targets and not runs.missing(tdca=(source,)):
                rivals[f"vs {title(source)}'s"] = (pooled("all", targets),
                                                   pooled(source, targets), True)
    judge_parts(claims, "The network evolved on all data sets has the best mean (Table S2)",
                rivals, note="mean test accuracy over the data sets both networks ran; " + budget,
                nothing="no network evolved on all data sets here")
    return judged(claims, first)


def judge_table2(claims: Claims, results: dict) -> str:
    """Table 2's claims into ``claims``: on each architecture, TDCA from zero init beats Zero
    BP by :data:`TABLE2_MARGIN` or more on the meta-test subsets, train and test accuracy, on
    every data set where both ran (``results``, :func:`table2`'s). Returns the verdicts."""
    first = len(claims.rows)
    for architecture in TABLE2_ARCHITECTURES:
        parts, meta_train = {}, {}
        for (built, name), by_method in results.items():
            if built == architecture:
                for k in ACCURACY:
                    part = f"{data.TITLES[name]} {ACCURACY[k]}"
                    (tdca_train, tdca_test), (zero_train, zero_test) = (
                        by_method["TDCA-net"], by_method["Zero BP"])  # the same zero inits
                    parts[part] = values(tdca_test, k), values(zero_test, k), True
                    meta_train[part] = values(tdca_train, k), values(zero_train, k), True
        judge_parts(claims, f"TDCA from zero init beats Zero BP on the "
                    f"{bottom_up.ARCHITECTURE_TITLES[architecture]}, train and test (Table 2)",
                    parts, threshold=TABLE2_MARGIN, meta_train=meta_train,
                    nothing="no evolved TDCA network here")
    return judged(claims, first)


# Fig S2's curves: label -> (method, TDCA network: "{}" the data set's own, "{}/10-to-100" its
# diffused-credit network). Their colours are plots.FIG_S2_STYLES'.
FIG_S2 = {"BP (Kaiming)": ("kaiming_bp", None), "BP (zero)": ("zero_bp", None),
          "TDCA (top-down)": ("tdca", "{}"), "TDCA + diffusion": ("tdca", "{}/10-to-100")}


def fig_s2_rules(settings: SupervisedSettings) -> dict[str, tuple[str, None]]:
    """Fig S2's curves beyond the paper's, label -> (method, TDCA network): each yardstick rule
    of :func:`yardstick_rules` from a zero init (``"FA = DFA (zero, ours)"`` with one hidden
    layer)."""
    return {f"{title} (zero, ours)": (by_init["zero"], None)
            for title, _, by_init in yardstick_rules(settings)}


def fig_s2_curves(runs: Runs, steps: int, train_size: int) -> tuple[list[str], dict]:
    """Fig S2's accuracy per inner step: the data sets that have their own TDCA network, and
    ``{(dataset, label): run with curves}`` for each label of :data:`FIG_S2` (and of
    :func:`fig_s2_rules` with ``settings.fig_s2_rules``), or why it cannot run."""
    labels = FIG_S2 | (fig_s2_rules(runs.settings) if runs.settings.fig_s2_rules else {})

    def curve(dataset: str, label: str) -> dict | str:
        kind, source = labels[label]
        source = source and source.format(dataset)
        return (runs.missing(datasets=(dataset,), tdca=(source,) if source else ())
                or runs.run(dataset, kind, steps, train_size, tdca=source, curve=True))

    shown = [d for d in data.DATASETS if not runs.missing(datasets=(d,), tdca=(d,))]
    return shown, {(d, label): curve(d, label) for d in shown for label in labels}


FIG_S2_JUDGED = ("BP (Kaiming)", "TDCA (top-down)", "TDCA + diffusion")  # its claims compare these


def curve_at(run: dict[str, torch.Tensor], step: int, split: str = "train") -> torch.Tensor:
    """A run's ``split`` accuracy after inner step ``step``, ``[seeds]``, from its curve
    (:func:`run_bottom_up` with ``curve``: ``step`` must be one it recorded)."""
    recorded = run["curve_steps"].tolist()
    if step not in recorded:
        raise ValueError(f"step {step} is not on the curve; it has steps {recorded}")
    return run[f"{split}_curve"][recorded.index(step)].cpu()


def judge_fig_s2(claims: Claims, curves: dict, shown: list[str], steps: int,
                 note: str = "") -> str:
    """Fig S2's claims into ``claims`` from :func:`fig_s2_curves`' runs, on the train accuracy
    over the inits: BP (Kaiming) is ahead of TDCA early (step 10, or half the steps) and TDCA
    ahead at step ``steps``; TDCA + diffusion ends between, above BP and below TDCA. Returns
    the measurements, a line a data set."""
    early = min(10, steps // 2)  # a step where BP should be ahead
    lines, ahead, between = [], {}, {}
    for dataset in shown:
        bp, td, diffused = (curves[dataset, k] for k in FIG_S2_JUDGED)
        (bp_early, bp_end), (td_early, td_end) = ((curve_at(r, early), curve_at(r, steps))
                                                  for r in (bp, td))
        name = data.TITLES[dataset]
        # Kaiming BP starts elsewhere than TDCA's zero inits: unpaired
        ahead[f"{name} step {early} BP - TDCA"] = bp_early, td_early, False
        ahead[f"{name} step {steps} TDCA - BP"] = td_end, bp_end, False
        text = (f"{name}: step {early}: BP {bp_early.mean():.1%}, TDCA {td_early.mean():.1%}; "
                f"step {steps}: BP {bp_end.mean():.1%}, TDCA {td_end.mean():.1%}")
        if not isinstance(diffused, str):
            end = curve_at(diffused, steps)
            between[f"{name} diffusion - BP"] = end, bp_end, False
            between[f"{name} TDCA - diffusion"] = td_end, end, True  # the same zero inits
            text += f", TDCA + diffusion {end.mean():.1%}"
        lines.append(text)
    judge_parts(claims, "BP is faster early, TDCA ends higher (Fig S2)", ahead,
                note=f"train accuracy at steps {early} and {steps}; {note}",
                nothing="no data set with its TDCA network")
    judge_parts(claims, "TDCA + diffusion ends between BP and TDCA (Fig S2)", between,
                note=f"train accuracy at step {steps}; {note}",
                nothing="no TDCA network with credit diffusion here")
    return "\n".join(lines)


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


def judge_fig_s3(claims: Claims, planes: dict[str, dict], steps: int, train_size: int) -> str:
    """Fig S3's claims into ``claims``: each pair's trajectories are nearly orthogonal,
    |cos| of their main directions <= :data:`ORTHOGONAL` (a geometric fact of one training
    each, not a comparison of two results). Returns each plane's cosine and captured shares."""
    lines = [f"{title}: cosine between main directions {plane['cos']:+.3f}; share of each final "
             "displacement in the plane: " + ", ".join(f"{k} {v:.0%}"
                                                       for k, v in plane["captured"].items())
             for title, plane in planes.items()]
    for title in FIG_S3_PAIRS:
        cos = planes[title]["cos"] if title in planes else None
        claims.judge(f"The {title} trajectories are nearly orthogonal (Fig S3)",
                     None if cos is None else abs(cos) <= ORTHOGONAL,
                     "no trajectories here" if cos is None else
                     f"cosine of the main directions {cos:+.3f}; |cos| <= {ORTHOGONAL:g} counts; "
                     f"MNIST, {steps} steps, {train_size} training samples")
    return "\n".join(lines)


# Rows beyond the paper's, beside its methods
NOT_IN_PAPER = ("not in the paper", "not in the paper")
INIT_TITLES = {"zero": "zero", "kaiming": "Kaiming"}


def yardstick_rules(settings: SupervisedSettings) -> list[tuple[str, str, dict[str, str]]]:
    """The yardstick credit rules of :data:`~tdca_lib.method.rules.RULES` as ``settings``'
    bottom-up network shows them, in the registry's order: (title, note, {init: method}). Rules
    that are one rule on that network share an entry, titled with all their names and trained
    as the first (with one hidden layer: "FA = DFA", FA's runs), its note saying so."""
    hidden_layers = len(bottom_up_network(settings, 784).layer_shapes) - 1  # any input size
    by_rule: dict[str, dict[str, str]] = {}
    for method, (rule, init) in methods().items():
        by_rule.setdefault(rule, {})[init] = method
    return [(" = ".join(RULES[name].title for name in group),
             "; the same rule with one hidden layer" if len(group) > 1 else "",
             by_rule[group[0]]) for group in rule_groups(hidden_layers)]


def yardsticks(settings: SupervisedSettings) -> dict[str, tuple[str, str | None]]:
    """Table 1's and Table S1's rows beyond the paper's, label -> (method, TDCA network): each
    rule of :func:`yardstick_rules` from a zero and a Kaiming init ("FA, zero init (ours)"),
    then the TDCA network before evolution."""
    rules = {f"{title}, {INIT_TITLES[init]} init (ours{note})": (method, None)
             for title, note, by_init in yardstick_rules(settings)
             for init, method in by_init.items()}
    return rules | {"TDCA-net before evolution (ours)": ("tdca", UNTRAINED)}
