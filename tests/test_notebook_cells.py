"""The notebooks teach: a code cell is a call or two into the library under a paragraph, so no
cell defines a function and none is longer than 25 lines (the library is where long code lives)."""

import json
import re

import pytest

from tdca_lib.machinery.files import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_LINES = 25


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short_and_define_nothing(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(cells):
        source = "".join(cell["source"])
        assert len(source.splitlines()) <= MAX_LINES, f"code cell {number} is too long"
        assert not re.search(r"^\s*(def|class) ", source, re.M), f"code cell {number} defines"


# A tqdm bar as a notebook keeps it: "<what>: 100%|██████████| 400/400 [00:00<?, ?it/s]".
PROGRESS_BAR = re.compile(r"\d+%\|[^|]*\| *\d+/\d+ \[[^\]]*\]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_carry_nothing_on_stderr_but_progress_bars(path):
    """A library's complaint (say, SDL's "XDG_RUNTIME_DIR is invalid") printed on stderr while a
    notebook ran is kept in its outputs and shown to every reader: none is, bar tqdm's."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("name") != "stderr":
                continue
            pieces = re.split(r"[\r\n]", "".join(output["text"]))
            stray = [p for p in pieces if p.strip() and not PROGRESS_BAR.search(p)]
            assert not stray, f"code cell {number} keeps stderr output: {stray[0][:100]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_judges_a_claim_the_section_judges_them(path):
    """A verdict is computed in the library (``tdca_lib/sections/``); a notebook prints it."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(cells):
        assert ".judge(" not in "".join(cell["source"]), f"code cell {number} judges a claim"
