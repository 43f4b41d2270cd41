"""Regenerate every figure and table: run each notebook headless through papermill.

    python -m tdca_lib.machinery.reproduce --profile {smoke,quick,paper} [--only 01,03]
        [--device cpu|cuda] [--jobs 2] [--threads 1] [--update-notebooks | --compare]

Executed copies go to ``build/notebooks/<profile>/`` (git-ignored); the source notebooks stay
as they are unless ``--update-notebooks`` copies the executed ones back (how the committed
outputs, which nbval checks, are refreshed). Afterwards ``figures/README.md``, the gallery of
everything under ``figures/``, is rebuilt. A failing notebook is reported by name and cell, the
others still run, and the exit status is non-zero.

``--jobs`` notebooks run at once (default 2, this project's cores), the longest first by the
times the last run recorded in ``figures/times.json``. Each kernel computes with a pinned number
of CPU threads (``--threads``, default 1): the order of a matmul's sums depends on it, and so do
the last digits of every result; and two kernels of two threads on two cores wait on each
other's threads. Each figure's record in ``figures/manifest.json`` names its thread count and
torch version.
``--compare`` regenerates into ``build/compare/<profile>/`` instead (figures, executed
notebooks, a copy of the shipped networks, fresh evolution runs: nothing committed is touched)
and reports, table by table, the largest deviation from the committed numbers under
``figures/``; it exits non-zero past ``--tolerance``, where a table's words (a verdict, say) or
shape changed, or where it compared no table at all. One compare of a profile runs at a time.

What could fail only after hours of notebooks is checked before the first one starts: that
``figures/times.json`` and ``figures/manifest.json`` can be read, that the figures folder can be
written, and (``--compare``) that the committed figures hold tables to compare with. Kernels run
headless: pygame (gymnasium's renderer) is told there is no display rather than left to look
for one and complain on stderr, which the committed outputs would keep.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .claims import RULE, VERDICTS, tally
from .commands import duration
from .device import DEVICES, DeviceUnavailable, resolve_device
from .files import (
    ROOT,
    FolderLocked,
    atomic_write_text,
    checkpoints_dir,
    figures_dir,
    locked,
)
from .output import read_manifest
from .profiles import DEFAULT_PROFILE, PROFILE_NAMES

NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "notebooks"
COMPARED = ROOT / "build" / "compare"
JOBS = 2  # notebooks at once: this project's machines have 2 cores
THREADS = 1  # a kernel's threads; a figure made with 2 differs in its last digits
TIMES = "times.json"  # under figures/: each notebook's last time, per profile, to schedule by
TOLERANCE = 1.0  # in the tables' own units (mostly percentage points)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def select(only: str | None) -> list[Path]:
    """The notebooks to run: all, or those whose name starts with one of ``only``'s prefixes."""
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return notebooks
    prefixes = [p.strip() for p in only.split(",") if p.strip()]
    unknown = [p for p in prefixes if not any(nb.name.startswith(p) for nb in notebooks)]
    if unknown:
        names = ", ".join(nb.stem for nb in notebooks)
        raise SystemExit(f"--only: no notebook starts with {', '.join(unknown)}; there are {names}")
    return [nb for nb in notebooks if any(nb.name.startswith(p) for p in prefixes)]


HEADLESS = {"interactive": False}  # set where a notebook declares it: static figures, no widgets


def execute(notebook: Path, profile: str, device: str, executed: Path,
            label: str = "") -> str | None:
    """Run one notebook, one line a code cell as it finishes (see :class:`CellProgress`;
    ``label`` names the notebook on each line when others run beside it); return None on
    success, else what failed (notebook, cell, error)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    declared = papermill.inspect_notebook(notebook)
    parameters = {"profile": profile, "device": device}
    parameters |= {k: v for k, v in HEADLESS.items() if k in declared}
    try:
        papermill.execute_notebook(
            notebook, executed, parameters=parameters, kernel_name="python3",
            cwd=notebook.parent, progress_bar=False,
            **CellProgress(notebook, label=label).hooks(),
        )
    except PapermillExecutionError as err:
        cell = source_cell(notebook, err.source)
        return f"{notebook.name}: {cell} raised {err.ename}: {err.evalue}"
    return None


_printing = threading.Lock()  # notebooks run side by side: one whole line at a time


def say(text: str, end: str = "\n", out=None) -> None:
    """Print ``text`` at once, flushed, never interleaved with another notebook's line."""
    with _printing:
        print(text, end=end, flush=True, file=out or sys.stdout)


class CellProgress:
    """Prints each code cell of ``notebook`` as papermill runs it: its number as the source
    notebook counts it (every cell from 1, papermill's injected parameters not counted), its
    first line, then, when it ends, its time; one finished line a cell, so a log file reads as
    well as a terminal. With a ``label`` (notebooks running side by side) the line starts with
    it and is printed whole when the cell ends. ``hooks()`` are nbclient's cell hooks, which
    papermill hands on."""

    def __init__(self, notebook: Path, out=None, label: str = ""):
        import nbformat

        self.cells = len(nbformat.read(notebook, as_version=4).cells)
        self.out = out
        self.label = label
        self.injected = 0  # 1 once papermill's injected cell has gone by
        self.started = 0.0
        self.line = ""

    def hooks(self) -> dict:
        return {"on_cell_execute": self.execute, "on_cell_executed": self.executed}

    def execute(self, cell, cell_index: int) -> None:
        if "injected-parameters" in cell.metadata.get("tags", []):
            self.injected = 1
            return
        first = first_code_line(cell.source)
        self.line = (f"  {self.label + ' ' if self.label else ''}cell "
                     f"{cell_index + 1 - self.injected:>2}/{self.cells}  {first[:70]:70s}")
        if not self.label:
            say(self.line, end="", out=self.out)
        self.started = time.perf_counter()

    def executed(self, cell, cell_index: int, execute_reply: dict) -> None:
        if "injected-parameters" in cell.metadata.get("tags", []):
            return
        failed = execute_reply.get("content", {}).get("status") == "error"
        end = f" {duration(time.perf_counter() - self.started):>10}{'  FAILED' if failed else ''}"
        say(self.line + end if self.label else end, out=self.out)


def first_code_line(source: str) -> str:
    """A cell's first line of code, stripped: comments (``# NBVAL_CHECK_OUTPUT`` among them) and
    blank lines skipped; its first comment if it holds nothing else; "" if it is empty."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("#")), lines[0] if lines else "")


def source_cell(notebook: Path, source: str) -> str:
    """The cell with ``source`` as a reader finds it in ``notebook``: its number there (every
    cell counted from 1, as papermill's injected parameters are not) and its first line of
    code."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    number = next((i for i, c in enumerate(cells, 1) if c.source == source), None)
    where = f"cell {number}" if number else "a cell"
    return f"{where} (first line: {first_code_line(source)[:80]!r})"


def store_outputs(executed: Path, notebook: Path) -> None:
    """Copy an executed notebook over its source, less papermill's injected-parameters cell
    (left in, it would pin the profile for everyone who runs the notebook, nbval included) and
    its run metadata (paths and timestamps that would change the file on every run)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    nb.metadata.pop("papermill", None)
    for c in nb.cells:
        c.metadata.pop("papermill", None)
        c.metadata.pop("execution", None)
    atomic_write_text(notebook, nbformat.writes(nb) + "\n")


def gallery(folder: Path) -> str:
    """Markdown gallery of every figure and table recorded in ``folder/manifest.json``, after
    the count of each verdict over every claims table (:func:`verdict_counts`)."""
    lines = ["# Figures and tables", "",
             "Regenerated by `python -m tdca_lib.machinery.reproduce`; each item says the profile "
             "that made it. Do not edit by hand.", ""]
    manifest = read_manifest(folder)
    lines += verdict_counts(folder, manifest)
    for section in sorted({item["section"] for item in manifest.values()}):
        lines += [f"## {section}", ""]
        for name, item in manifest.items():
            if item["section"] != section:
                continue
            files = " · ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in item["files"])
            lines += [f"### {name}", "", item["caption"], "",
                      f"*profile `{item['profile']}`, commit `{item['commit']}`* · {files}", ""]
            if item["kind"] == "figure":
                lines += [f"![{name}]({name}.png)", ""]
            elif (folder / f"{name}.md").exists():
                lines += [(folder / f"{name}.md").read_text(), ""]
    return "\n".join(lines)


def verdict_counts(folder: Path, manifest: dict[str, dict]) -> list[str]:
    """The gallery's first section: the project's rule, once, and a row a claims table (the
    tables named ``claims_*`` in ``manifest`` whose ``.csv`` is in ``folder``) counting each
    verdict, with their total."""
    counts = {}
    for name, item in sorted(manifest.items()):
        path = folder / f"{name}.csv"
        if item["kind"] == "table" and name.startswith("claims_") and path.exists():
            with path.open(newline="") as f:
                counts[name] = tally([row["verdict"] for row in csv.DictReader(f)])
    if not counts:
        return []
    counts["all"] = {v: sum(c[v] for c in counts.values()) for v in VERDICTS}
    return ["## Verdicts", "",
            f"The rule: {RULE}. A claim with no noise to weigh (a count of FLOPs, a share of a "
            "fixed grid of starts) is judged by the condition its evidence states.", "",
            "| claims | " + " | ".join(VERDICTS) + " |", "|---" * (len(VERDICTS) + 1) + "|",
            *(f"| {name} | " + " | ".join(str(c[v]) for v in VERDICTS) + " |"
              for name, c in counts.items()), ""]


def numbers_and_words(cell: str) -> tuple[list[float], str]:
    """A table cell's numbers, and its text with each number replaced by ``#``."""
    return [float(n) for n in NUMBER.findall(cell)], NUMBER.sub("#", cell)


def compare_tables(new: Path, committed: Path) -> list[dict[str, object]]:
    """For every table ``new/manifest.json`` records that ``committed`` holds too: the largest
    absolute difference between corresponding numbers, and what changed: a cell's words, a
    row's number of columns, the number of rows."""
    rows = []
    for name, item in sorted(read_manifest(new).items()):
        if item["kind"] != "table" or not (committed / f"{name}.csv").exists():
            continue
        ours, theirs = ([r for r in csv.reader((folder / f"{name}.csv").open())]
                        for folder in (new, committed))
        deviation, changed = 0.0, []
        if len(ours) != len(theirs):
            changed.append(f"{len(theirs)} rows -> {len(ours)}")
        for r, (a_row, b_row) in enumerate(zip(ours, theirs)):
            if len(a_row) != len(b_row):  # a column lost or gained: its cells pair with no others
                changed.append(f"row {r}: {len(b_row)} columns -> {len(a_row)}")
                continue
            for a, b in zip(a_row, b_row):
                (a_nums, a_words), (b_nums, b_words) = numbers_and_words(a), numbers_and_words(b)
                if a_words != b_words or len(a_nums) != len(b_nums):
                    changed.append(f"row {r}: {b!r} -> {a!r}")
                    continue
                deviation = max([deviation, *(abs(x - y) for x, y in zip(a_nums, b_nums))])
        rows.append({"table": name, "max deviation": deviation, "changed words": changed})
    return rows


def report_comparison(rows: list[dict[str, object]], tolerance: float) -> bool:
    """Print the comparison; True when every table is within ``tolerance`` with its words."""
    fine = True
    print(f"\n{'table':42s} max deviation  words")
    for row in rows:
        ok = row["max deviation"] <= tolerance and not row["changed words"]
        fine &= ok
        print(f"{row['table']:42s} {row['max deviation']:13.4g}  "
              f"{len(row['changed words']) or 'same'}{'' if ok else '   <-- past tolerance'}")
        for change in row["changed words"][:5]:
            print(f"    {change[:160]}")
    print(f"tolerance {tolerance:g} (the tables' own units); "
          f"{'all within it' if fine else 'some tables are past it'}")
    return fine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdca_lib.machinery.reproduce",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default=DEFAULT_PROFILE)
    parser.add_argument("--only", help="comma-separated notebook prefixes, e.g. 01,03")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--jobs", type=int, default=JOBS,
                        help=f"notebooks run at once, the longest first (default {JOBS})")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"CPU threads of each notebook's kernel (default {THREADS})")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update-notebooks", action="store_true",
                        help="copy the executed notebooks over the sources (refreshes the "
                             "committed outputs that nbval checks)")
    action.add_argument("--compare", action="store_true",
                        help="regenerate into build/compare/ and report each table's largest "
                             "deviation from the committed one")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE,
                        help=f"--compare's allowed deviation (default {TOLERANCE:g})")
    args = parser.parse_args(argv)
    for name in ("jobs", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    try:  # here, not in every notebook's parameters cell
        resolve_device(args.device)
    except DeviceUnavailable as err:
        parser.error(str(err))

    notebooks = select(args.only)
    committed = figures_dir()
    check_readable(committed)
    # The kernels inherit these; torch reads the thread counts when it starts. They run
    # headless: SDL, left to look for a display, prints an error on stderr that the notebook's
    # outputs keep (gymnasium's rgb_array frames end up drawn offscreen either way).
    environ = {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
               "SDL_VIDEODRIVER": "offscreen"}
    with contextlib.ExitStack() as held:
        executed_root = EXECUTED
        if args.compare:  # scratch folders: the committed figures and networks stay as they are
            check_comparable(committed)
            scratch = COMPARED / args.profile
            try:  # a second compare of this profile would wipe this one's files as it runs
                held.enter_context(locked(scratch))
            except FolderLocked as err:
                raise SystemExit(f"--compare: {err}") from None
            for part in SCRATCH_PARTS:
                shutil.rmtree(scratch / part, ignore_errors=True)
            # the shipped networks a notebook loads, copied; evolutions start afresh, as on a clone
            shutil.copytree(checkpoints_dir(), scratch / "checkpoints")
            executed_root = scratch / "notebooks"
            environ |= {"TDCA_FIGURES_DIR": str(scratch / "figures"),
                        "TDCA_CHECKPOINTS_DIR": str(scratch / "checkpoints"),
                        "TDCA_RUNS_DIR": str(scratch / "runs")}
        held.enter_context(environment(environ))
        check_writable(figures_dir())
        return run(args, notebooks, executed_root, committed)


SCRATCH_PARTS = ("figures", "notebooks", "checkpoints", "runs")  # of build/compare/<profile>/


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Set ``variables`` in ``os.environ`` (the kernels inherit them) while the block runs; then
    put back what whoever called :func:`main` had."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_readable(folder: Path) -> None:
    """Stop, in one line naming the file, if ``folder``'s ``times.json`` or ``manifest.json``
    cannot be read: found after the notebooks ran, it would cost their results."""
    try:
        read_times(folder)
        read_manifest(folder)
    except (ValueError, OSError) as err:
        raise SystemExit(str(err)) from None


def check_writable(folder: Path) -> None:
    """Stop, in one line, if files cannot be made in ``folder`` (created if missing): every
    notebook would fail on its first figure, and the times and the gallery could not be kept."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise SystemExit(f"{folder} is not writable ({err.strerror}); make it writable, or point "
                         "TDCA_FIGURES_DIR at a folder that is") from None


def check_comparable(committed: Path) -> None:
    """Stop if ``committed`` (the figures ``--compare`` compares with) records no table: the
    comparison would pass having compared nothing."""
    if not any(item["kind"] == "table" for item in read_manifest(committed).values()):
        why = "does not exist" if not committed.is_dir() else "records no table"
        raise SystemExit(f"--compare: {committed / 'manifest.json'} {why}, so there is nothing to "
                         "compare with; point TDCA_FIGURES_DIR at the committed figures (or unset "
                         "it)")


def longest_first(notebooks: list[Path], profile: str, folder: Path | None = None) -> list[Path]:
    """``notebooks`` in the order to start them: the longest last time (``folder/times.json``,
    default the figures folder) first, so the lanes end together; those never timed keep their
    order, after the timed."""
    times = read_times(folder).get(profile, {})
    return sorted(notebooks, key=lambda nb: -times.get(nb.stem, {}).get("seconds", -1))


def read_times(folder: Path | None = None) -> dict[str, dict[str, dict]]:
    """``{profile: {notebook: {"seconds", "jobs", "threads"}}}`` as the last runs recorded it in
    ``folder/times.json`` (default: the figures folder); a ValueError naming the file if it
    cannot be read."""
    path = (folder or figures_dir()) / TIMES
    if not path.exists():
        return {}
    try:
        times = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); restore it (git checkout -- "
                         f"{path.name}) or delete it (it only orders the notebooks)") from err
    if not isinstance(times, dict):
        raise ValueError(f"{path} is not a record of times (a JSON object); restore it (git "
                         f"checkout -- {path.name}) or delete it (it only orders the notebooks)")
    return times


def record_times(profile: str, seconds: dict[str, float], jobs: int, threads: int) -> None:
    """Keep each notebook's time of this run in ``figures/times.json``, for the next schedule
    and for the README's table."""
    times = read_times()
    times.setdefault(profile, {}).update(
        {name: {"seconds": round(t, 1), "jobs": jobs, "threads": threads}
         for name, t in seconds.items()})
    atomic_write_text(figures_dir() / TIMES, json.dumps(times, indent=2, sort_keys=True) + "\n")


def written(what: str, write: Callable[[], object]) -> bool:
    """Call ``write``; False, with one ``FAILED what:`` line on stderr, if it fails (an unreadable
    record, an unwritable folder, a full disk)."""
    try:
        write()
    except (ValueError, OSError) as err:
        print(f"FAILED {what}: {err}", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace, notebooks: list[Path], executed_root: Path,
        committed: Path) -> int:
    """Run ``notebooks`` as ``args`` say; report; the exit status. ``committed``: the figures
    folder whose times order the notebooks and whose tables ``--compare`` compares with."""
    jobs = min(args.jobs, len(notebooks))
    order = longest_first(notebooks, args.profile, committed) if jobs > 1 else notebooks
    failures, seconds = {}, {}
    began = time.perf_counter()

    def one(number: int, notebook: Path) -> None:
        executed = executed_root / args.profile / notebook.name
        executed.parent.mkdir(parents=True, exist_ok=True)
        label = notebook.stem.split("_")[0] if jobs > 1 else ""
        say(f"[{number}/{len(notebooks)}] running {notebook.name} (profile {args.profile}, "
            f"{args.threads} thread{'s' * (args.threads != 1)}"
            f"{f', {jobs} notebooks at once' if jobs > 1 else ''}) ...")
        start = time.perf_counter()
        failure = execute(notebook, args.profile, args.device, executed, label)
        seconds[notebook.stem] = time.perf_counter() - start
        shown = executed.relative_to(ROOT) if executed.is_relative_to(ROOT) else executed
        say(f"  {label + ' ' if label else ''}{'FAILED' if failure else 'done'} in "
            f"{duration(seconds[notebook.stem])} -> {shown}")
        if failure:
            failures[notebook] = failure
        elif args.update_notebooks:
            store_outputs(executed, notebook)

    with ThreadPoolExecutor(max_workers=jobs) as lanes:
        for done in [lanes.submit(one, n, nb) for n, nb in enumerate(order, 1)]:
            done.result()
    say(f"{len(notebooks)} notebook{'s' * (len(notebooks) != 1)} in "
        f"{duration(time.perf_counter() - began)}, {len(failures)} failed")
    # Every notebook failure is told before anything else is written, so none can hide it.
    for notebook in notebooks:
        if notebook in failures:
            print(f"FAILED {failures[notebook]}", file=sys.stderr)
    folder = figures_dir()
    succeeded = {k: v for k, v in seconds.items() if not any(nb.stem == k for nb in failures)}
    kept = args.compare or written("times", lambda: record_times(args.profile, succeeded, jobs,
                                                                  args.threads))
    kept &= written("gallery", lambda: atomic_write_text(folder / "README.md", gallery(folder)))
    if not kept:
        return 1
    print(f"gallery: {folder / 'README.md'}")
    if args.compare:
        compared = compare_tables(folder, committed)
        if not compared:
            print(f"FAILED compare: no table regenerated in {folder} is among the committed ones "
                  f"in {committed}: nothing was compared", file=sys.stderr)
            return 1
        if not report_comparison(compared, args.tolerance):
            return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
