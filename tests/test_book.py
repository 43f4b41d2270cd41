"""The book's method page includes the library's functions by name: each must still exist and
give lines. `make book` fails on a missing one too, but only the full build sees it."""

import re
from types import SimpleNamespace

import pytest

from tdca_lib.machinery.files import ROOT

code = pytest.importorskip("sphinx.directives.code")

# A literalinclude whose path is from the book's source root, followed by its :pyobject:.
INCLUDE = re.compile(r"```\{literalinclude\} /(\S+)\n:pyobject: (\S+)\n")
INCLUDES = [match.groups() for page in sorted((ROOT / "book").glob("*.md"))
            for match in INCLUDE.finditer(page.read_text())]


def test_the_method_page_includes_the_method():
    shown = {name for _, name in INCLUDES}
    assert {"hebbian_update", "PopulationMLP.layer_activations", "PGPE.ask", "PGPE.tell",
            "generation"} <= shown


@pytest.mark.parametrize("path, name", INCLUDES)
def test_every_included_function_exists(path, name):
    # Sphinx's own reader, as the build resolves the include
    reader = code.LiteralIncludeReader(ROOT / path, {"pyobject": name},
                                       SimpleNamespace(source_encoding="utf-8-sig"))
    text, lines = reader.read()
    assert lines > 1 and text.lstrip().startswith(("def ", "@"))
