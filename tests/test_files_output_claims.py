import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tdca_lib.machinery.claims import NOT_SUPPORTED, NOT_TESTED, SUPPORTED, Claims  # noqa: E402
from tdca_lib.machinery.files import atomic_write, atomic_write_text  # noqa: E402
from tdca_lib.machinery.output import STYLE, Output  # noqa: E402
from tdca_lib.machinery.reproduce import gallery  # noqa: E402


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left behind


def test_figures_and_tables_are_written_and_recorded(tmp_path):
    out = Output("99_test", "smoke", folder=tmp_path)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    out.figure(fig, "fig_test", "A line.")
    out.table(pd.DataFrame({"method": ["BP"], "ours": [0.5], "paper": [0.6]}), "tab_test", "T.")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"fig_test.png", "fig_test.pdf", "tab_test.md", "tab_test.tex", "tab_test.csv",
            "manifest.json"} <= names
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["fig_test"]["profile"] == "smoke" and manifest["tab_test"]["kind"] == "table"
    page = gallery(tmp_path)
    assert "![fig_test](fig_test.png)" in page and "| BP " in page and "99_test" in page


def test_claims_verdicts_follow_the_numbers():
    claims = Claims()
    claims.judge("a", 3 > 2, "3 > 2")
    claims.judge("b", 1 > 2, "1 > 2")
    claims.judge("c", None, "needs a GPU")
    assert list(claims.frame()["verdict"]) == [SUPPORTED, NOT_SUPPORTED, NOT_TESTED]
    with pytest.raises(TypeError):
        claims.judge("d", "supported", "typed by hand")


def test_atomic_writes_make_ordinary_files_not_private_ones(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def save_a_figure(folder):
    """A figure with text, saved as the notebooks save theirs: in the paper's style, whose
    TrueType fonts the PDF embeds as subsets."""
    with matplotlib.rc_context(STYLE):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0], label="TDCA ± BP")
        ax.set_title("a figure")
        ax.legend()
        Output("99_test", "smoke", folder=folder).figure(fig, "f", "c")
    plt.close(fig)


def test_a_saved_figure_is_the_same_file_whatever_fonttools_defaults_to(tmp_path, monkeypatch):
    from fontTools import subset

    save_a_figure(tmp_path / "newer")
    default = subset.Options.__init__

    def older(self, **kwargs):  # fontTools' older default: the first seven name records only
        default(self, **kwargs)
        self.name_IDs = [0, 1, 2, 3, 4, 5, 6]

    monkeypatch.setattr(subset.Options, "__init__", older)
    save_a_figure(tmp_path / "older")
    assert b"/FontFile2" in (tmp_path / "older" / "f.pdf").read_bytes()  # fonts embedded
    for fmt in ("png", "pdf"):
        data = (tmp_path / "newer" / f"f.{fmt}").read_bytes()
        assert data == (tmp_path / "older" / f"f.{fmt}").read_bytes(), fmt
        assert matplotlib.__version__.encode() not in data, fmt  # no version of what drew it


@pytest.mark.slow
def test_a_figure_saved_in_another_process_is_the_same_file(tmp_path):
    import os
    import subprocess
    import sys

    save_a_figure(tmp_path / "here")
    save = "import sys, tests.test_files_output_claims as t; t.save_a_figure(sys.argv[1])"
    env = os.environ | {"PYTHONHASHSEED": "12345"}  # sets and dicts of strings in another order
    subprocess.run([sys.executable, "-c", save, str(tmp_path / "there")], check=True, env=env,
                   cwd=Path(__file__).parents[1])
    for fmt in ("png", "pdf"):
        assert ((tmp_path / "here" / f"f.{fmt}").read_bytes()
                == (tmp_path / "there" / f"f.{fmt}").read_bytes()), fmt
