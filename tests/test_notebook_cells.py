"""The notebooks teach: a code cell is a call or two into the library under a paragraph, so no
cell defines a function and none is longer than 25 lines (the library is where long code lives)."""

import json
import re

import pytest

from tdca_lib.files import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_LINES = 25


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short_and_define_nothing(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(cells):
        source = "".join(cell["source"])
        assert len(source.splitlines()) <= MAX_LINES, f"code cell {number} is too long"
        assert not re.search(r"^\s*(def|class) ", source, re.M), f"code cell {number} defines"
