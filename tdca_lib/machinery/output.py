"""The one place that styles and writes figures and tables into ``figures/``.

A notebook makes one :class:`Output` for its section and profile; every figure goes out as PNG
and PDF (the same bytes for the same figure, run after run: :func:`save_figure`), every table as
Markdown, LaTeX and CSV, all atomically, and each is recorded in
``figures/manifest.json`` (section, caption, profile, commit) from which :mod:`reproduce` builds
the gallery ``figures/README.md``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
import torch
from fontTools import subset

from .checkpoints import current_commit
from .files import atomic_write, atomic_write_text, exclusive, figures_dir

MANIFEST = "manifest.json"

# Paper-like figures: small serif-free fonts, no top/right spines, colour-blind-safe cycle.
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # editable text in the PDFs
    "svg.hashsalt": "tdca",
    "axes.prop_cycle": mpl.cycler(color=["#0072B2", "#D55E00", "#009E73", "#E69F00",
                                         "#CC79A7", "#56B4E9", "#F0E442", "#000000"]),
}
BP_COLOR, TDCA_COLOR, DIFFUSION_COLOR = "#0072B2", "#D55E00", "#E69F00"  # blue, red, orange

# What a saved figure's bytes may depend on besides its content, set to fixed values: no dates,
# no versions of the software that drew it.
SAVE_METADATA = {"png": {"Software": None},
                 "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}
# The name records a PDF's embedded font subsets keep: copyright, family, style, unique name,
# full name, version, PostScript name. fontTools' default has changed between its versions
# (these seven in older ones; all of them in newer ones, DejaVu's 9 kB licence text included),
# and with it the bytes of every PDF, though no figure had changed.
FONT_NAME_IDS = [0, 1, 2, 3, 4, 5, 6]


def use_paper_style() -> None:
    mpl.rcParams.update(STYLE)


def read_manifest(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """The records of ``folder/manifest.json`` ({} if there is none); a ValueError naming the
    file if it cannot be read."""
    path = (folder or figures_dir()) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); restore it (git checkout -- "
                         f"{path.name}) or delete it to start the record afresh") from err


def save_figure(fig: plt.Figure, path: Path, fmt: str) -> None:
    """Save ``fig`` to ``path`` as ``fmt`` ("png" or "pdf") so that an unchanged figure is an
    unchanged file: no dates or versions in its metadata, and its fonts subset the same way
    whichever fontTools is installed."""
    with _fixed_font_subsets():
        fig.savefig(path, format=fmt, metadata=SAVE_METADATA[fmt])


class _FixedNameOptions(subset.Options):
    """fontTools' subsetting options, keeping the name records :data:`FONT_NAME_IDS`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.name_IDs = list(FONT_NAME_IDS)


_subsetting = threading.Lock()  # the options are swapped module-wide: one save at a time


@contextlib.contextmanager
def _fixed_font_subsets() -> Iterator[None]:
    """While the block runs, fontTools subsets fonts with :class:`_FixedNameOptions` (matplotlib
    makes its own options for each embedded font, with no way to pass ours)."""
    with _subsetting:
        default, subset.Options = subset.Options, _FixedNameOptions
        try:
            yield
        finally:
            subset.Options = default


class Output:
    """Writes one section's figures and tables. ``section`` is the notebook's stem."""

    def __init__(self, section: str, profile: str, folder: Path | None = None):
        self.section, self.profile = section, profile
        self.folder = Path(folder) if folder is not None else figures_dir()

    def figure(self, fig: plt.Figure, name: str, caption: str) -> None:
        """Save ``fig`` as ``name.png`` and ``name.pdf``, their bytes a function of the figure
        alone (see :func:`save_figure`). Nothing returned: a notebook cell ending here shows no
        paths of the machine that ran it."""
        paths = [atomic_write(self.folder / f"{name}.{fmt}",
                              lambda tmp, f=fmt: save_figure(fig, tmp, f))
                 for fmt in ("png", "pdf")]
        self._record(name, "figure", caption, paths)

    def table(self, frame: pd.DataFrame, name: str, caption: str) -> None:
        """Save ``frame`` as ``name.md``, ``name.tex`` and ``name.csv`` (nothing returned, as
        :meth:`figure`)."""
        texts = {
            "md": frame.to_markdown(index=False) + "\n",
            "tex": frame.to_latex(index=False, caption=caption, label=f"tab:{name}"),
            "csv": frame.to_csv(index=False),
        }
        paths = [atomic_write_text(self.folder / f"{name}.{ext}", t) for ext, t in texts.items()]
        self._record(name, "table", caption, paths)

    def _record(self, name: str, kind: str, caption: str, paths: list[Path]) -> None:
        with exclusive(self.folder):  # notebooks running side by side share the file
            manifest = read_manifest(self.folder)
            manifest[name] = {
                "kind": kind,
                "section": self.section,
                "caption": caption,
                "profile": self.profile,
                "files": [p.name for p in paths],
                "commit": current_commit(),
                # the digits of a result depend on these (see reproduce --compare)
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
            text = json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
            atomic_write_text(self.folder / MANIFEST, text)
