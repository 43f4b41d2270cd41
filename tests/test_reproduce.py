"""The reproduce command on two tiny notebooks: one that works, one that fails."""

import json
import re

import nbformat
import pytest
import torch

from tdca_lib.machinery import reproduce


def write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('profile = "quick"\ndevice = "auto"')]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def notebooks(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_fine.ipynb", "print('profile is', profile)")
    write_notebook(folder / "02_broken.ipynb", "x = 1", "raise ValueError('no data set here')")
    monkeypatch.setattr(reproduce, "NOTEBOOKS", folder)
    monkeypatch.setattr(reproduce, "EXECUTED", tmp_path / "executed")
    monkeypatch.setattr(reproduce, "COMPARED", tmp_path / "compared")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # main sets them: restored afterwards
        monkeypatch.setenv(name, "")
    return tmp_path


@pytest.mark.slow
def test_runs_notebooks_with_the_profile_and_names_the_failing_cell(notebooks, capsys):
    assert reproduce.main(["--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    # the cell as the source notebook has it: third, the parameters cell first, no injected one
    assert ("02_broken.ipynb: cell 3 (first line: \"raise ValueError('no data set here')\")"
            in err)
    assert "ValueError: no data set here" in err
    executed = nbformat.read(notebooks / "executed" / "smoke" / "01_fine.ipynb", 4)
    assert "profile is smoke" in executed.cells[-1].outputs[0]["text"]
    assert (notebooks / "figures" / "README.md").exists()


@pytest.mark.slow
def test_each_cell_and_notebook_is_reported_with_its_time(notebooks, capsys):
    assert reproduce.main(["--profile", "smoke", "--jobs", "1", "--threads", "2"]) == 1
    out = capsys.readouterr().out
    assert "\r" not in out  # one finished line each: a log file reads as well as a terminal
    lines = out.splitlines()
    assert lines[0].startswith("[1/2] running 01_fine.ipynb (profile smoke, 2 threads)")
    # numbered as the source counts its cells, the parameters cell first, the injected one not
    assert re.fullmatch(r"  cell  1/2  profile = \"quick\" +\d+\.\d s", lines[1])
    assert re.fullmatch(r"  cell  2/2  print\('profile is', profile\) +\d+\.\d s", lines[2])
    assert lines[3].startswith("  done in ") and "01_fine.ipynb" in lines[3]
    assert lines[4].startswith("[2/2] running 02_broken.ipynb")
    assert re.fullmatch(r"  cell  3/3  raise ValueError.* +\d+\.\d s  FAILED", lines[7])
    assert lines[8].startswith("  FAILED in ")
    assert re.fullmatch(r"2 notebooks in \d+\.\d s, 1 failed", lines[9])


@pytest.mark.slow
def test_notebooks_side_by_side_label_each_whole_line_and_schedule_the_longest_first(
        notebooks, capsys):
    write_notebook(notebooks / "notebooks" / "03_table.ipynb", TABLE)
    assert reproduce.main(["--profile", "smoke", "--jobs", "2"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # each cell's line is whole and names its notebook, whichever lane printed it
    assert re.search(r"^  02 cell  3/3  raise ValueError.* +\d+\.\d s  FAILED$", out, re.M)
    assert sum(bool(re.fullmatch(r"  0[123] cell +\d/\d  .* +\d+\.\d s(  FAILED)?", line))
               for line in lines) == 2 + 3 + 2
    assert re.fullmatch(r"3 notebooks in \d+\.\d s, 1 failed", lines[-2])
    assert "FAILED 02_broken.ipynb: cell 3" in err
    # both tables were recorded though two kernels wrote the manifest
    times = json.loads((notebooks / "figures" / "times.json").read_text())["smoke"]
    assert set(times) == {"01_fine", "03_table"}  # a failed notebook's time is not kept
    assert times["03_table"]["jobs"] == 2 and times["03_table"]["threads"] == 1
    times["01_fine"]["seconds"] = 99.0
    (notebooks / "figures" / "times.json").write_text(json.dumps({"smoke": times}))
    order = reproduce.longest_first(reproduce.select(None), "smoke")
    assert [nb.stem for nb in order] == ["01_fine", "03_table", "02_broken"]


def test_a_shared_manifest_keeps_every_record_when_processes_write_at_once(tmp_path):
    import os
    import subprocess
    import sys

    write = ("import sys, pandas as pd; from tdca_lib.machinery.output import Output; "
             "o = Output('s', 'smoke'); "
             "[o.table(pd.DataFrame({'a': [i]}), f'{sys.argv[1]}{i}', 'c') for i in range(40)]")
    env = os.environ | {"TDCA_FIGURES_DIR": str(tmp_path)}
    writers = [subprocess.Popen([sys.executable, "-c", write, p], env=env) for p in "ab"]
    assert [w.wait() for w in writers] == [0, 0]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {f"{p}{i}" for p in "ab" for i in range(40)}


def test_durations_read_in_seconds_minutes_and_hours():
    assert [reproduce.duration(s) for s in (4.25, 185, 3725)] == [
        "4.2 s", "3 min 05 s", "1 h 02 min"]


WIDGETS = """
print("interactive is", interactive)
"""


@pytest.mark.slow
def test_a_notebook_that_declares_interactive_runs_headless(notebooks):
    path = notebooks / "notebooks" / "03_widgets.ipynb"
    write_notebook(path, WIDGETS)
    nb = nbformat.read(path, 4)
    nb.cells[0].source += "\ninteractive = True"
    nbformat.write(nb, path)
    assert reproduce.main(["--profile", "smoke", "--only", "01,03"]) == 0
    executed = nbformat.read(notebooks / "executed" / "smoke" / "03_widgets.ipynb", 4)
    assert "interactive is False" in executed.cells[-1].outputs[0]["text"]
    # the others are not handed a parameter they do not declare
    executed = nbformat.read(notebooks / "executed" / "smoke" / "01_fine.ipynb", 4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.tags]
    assert "interactive" not in injected[0].source


@pytest.mark.slow
def test_only_selects_notebooks_and_keeps_sources_clean(notebooks):
    source = (notebooks / "notebooks" / "01_fine.ipynb").read_text()
    assert reproduce.main(["--profile", "smoke", "--only", "01"]) == 0
    assert (notebooks / "notebooks" / "01_fine.ipynb").read_text() == source
    assert not (notebooks / "executed" / "smoke" / "02_broken.ipynb").exists()


@pytest.mark.slow
def test_update_notebooks_stores_outputs_without_pinning_the_profile(notebooks):
    assert reproduce.main(["--profile", "smoke", "--only", "01", "--update-notebooks"]) == 0
    stored = nbformat.read(notebooks / "notebooks" / "01_fine.ipynb", 4)
    assert "profile is smoke" in stored.cells[-1].outputs[0]["text"]
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in stored.cells)
    assert "papermill" not in stored.metadata  # no paths or timestamps of the run
    assert not any("papermill" in c.metadata for c in stored.cells)


def test_unknown_prefix_lists_the_notebooks(notebooks):
    with pytest.raises(SystemExit, match="01_fine, 02_broken"):
        reproduce.main(["--only", "07"])


@pytest.mark.parametrize("record", ["times.json", "manifest.json"])
def test_a_corrupt_record_is_named_in_one_line_before_any_notebook_runs(notebooks, record):
    figures = notebooks / "figures"
    figures.mkdir()
    (figures / record).write_text('<<<<<<< HEAD\n{"smoke": {}}\n')
    with pytest.raises(SystemExit) as stopped:
        reproduce.main(["--profile", "smoke", "--only", "01"])  # one notebook: none scheduled
    message = str(stopped.value.code)
    assert f"{figures / record} is not valid JSON" in message and "\n" not in message
    assert "git checkout" in message  # how to fix it
    assert not (notebooks / "executed").exists()  # no notebook ran
    assert [p.name for p in figures.iterdir()] == [record]  # nothing written beside it


def test_an_unwritable_figures_folder_stops_before_any_notebook_runs(notebooks, monkeypatch):
    (notebooks / "a-file").write_text("")  # a folder cannot be made under a file, even by root
    monkeypatch.setenv("TDCA_FIGURES_DIR", str(notebooks / "a-file" / "figures"))
    with pytest.raises(SystemExit, match=r"a-file/figures is not writable \(Not a directory\)"):
        reproduce.main(["--profile", "smoke", "--only", "01"])
    assert not (notebooks / "executed").exists()


@pytest.mark.slow
def test_every_notebook_failure_is_told_before_the_times_and_gallery_fail(notebooks, capsys,
                                                                           monkeypatch):
    import errno

    def unwritable(path, text):  # the folder turned read-only (or the disk full) as they ran
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(reproduce, "atomic_write_text", unwritable)
    assert reproduce.main(["--profile", "smoke", "--only", "02"]) == 1
    err = capsys.readouterr().err
    notebook, times = err.index("FAILED 02_broken.ipynb: cell 3"), err.index("FAILED times")
    assert notebook < times < err.index("FAILED gallery")
    assert "Permission denied" in err[times:] and "times.json" in err[times:]
    assert "Traceback" not in err


def test_a_failing_checked_cell_is_named_by_its_first_line_of_code(notebooks):
    source = "# NBVAL_CHECK_OUTPUT\n\n# the claim, judged\nclaims.frame()\n"
    path = notebooks / "notebooks" / "03_checked.ipynb"
    write_notebook(path, "x = 1", source)
    assert reproduce.source_cell(path, source) == "cell 3 (first line: 'claims.frame()')"
    assert reproduce.first_code_line("# only a comment\n") == "# only a comment"


PYGAME = """
import pygame
pygame.display.init()  # what gymnasium's rgb_array rendering does
"""


@pytest.mark.slow
def test_kernels_run_headless_so_pygame_leaves_nothing_on_stderr(notebooks, monkeypatch):
    for name in ("XDG_RUNTIME_DIR", "SDL_VIDEODRIVER"):  # as on a server, or in a container
        monkeypatch.delenv(name, raising=False)
    # ipykernel leaves the process's stderr alone under pytest: the kernel would not see it
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    # a cell after it: what SDL writes to the process's stderr reaches the notebook late
    write_notebook(notebooks / "notebooks" / "03_pygame.ipynb", PYGAME, "print('drawn')")
    assert reproduce.main(["--profile", "smoke", "--only", "03"]) == 0
    executed = nbformat.read(notebooks / "executed" / "smoke" / "03_pygame.ipynb", 4)
    assert "drawn" in executed.cells[-1].outputs[0]["text"]
    assert [o.text for c in executed.cells for o in c.outputs if o.get("name") == "stderr"] == []


TABLE = """
import pandas as pd
from tdca_lib.machinery.output import Output
import torch
out = Output("03_table", profile)
out.table(pd.DataFrame({"Method": ["TDCA", "BP"], "Test": ["81.25 ± 0.50%", "supported"]}),
          "accuracy", "a table")
print("threads", torch.get_num_threads())
"""


@pytest.mark.slow
def test_threads_are_pinned_and_recorded(notebooks):
    write_notebook(notebooks / "notebooks" / "03_table.ipynb", TABLE)
    assert reproduce.main(["--profile", "smoke", "--only", "03", "--threads", "1"]) == 0
    executed = nbformat.read(notebooks / "executed" / "smoke" / "03_table.ipynb", 4)
    assert "threads 1" in executed.cells[-1].outputs[-1]["text"]
    record = json.loads((notebooks / "figures" / "manifest.json").read_text())["accuracy"]
    assert record["threads"] == 1 and record["torch"] == torch.__version__


@pytest.mark.slow
def test_compare_regenerates_elsewhere_and_reports_each_tables_deviation(notebooks, capsys):
    write_notebook(notebooks / "notebooks" / "03_table.ipynb", TABLE)
    committed = notebooks / "figures"
    assert reproduce.main(["--profile", "smoke", "--only", "03"]) == 0
    csv = committed / "accuracy.csv"
    csv.write_text(csv.read_text().replace("81.25", "80.75"))
    before = {p.name: p.read_bytes() for p in committed.iterdir()}

    assert reproduce.main(["--profile", "smoke", "--only", "03", "--compare"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accuracy\s+0\.5\s+same", out)
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == before  # untouched
    scratch = notebooks / "compared" / "smoke"
    assert (scratch / "figures" / "accuracy.csv").exists()
    assert (scratch / "checkpoints").is_dir()  # the networks a notebook loads, copied
    assert reproduce.main(["--profile", "smoke", "--only", "03", "--compare",
                           "--tolerance", "0.1"]) == 1
    csv.write_text(csv.read_text().replace("supported", "not supported"))
    assert reproduce.main(["--profile", "smoke", "--only", "03", "--compare"]) == 1
    assert "'not supported' -> 'supported'" in capsys.readouterr().out


def commit_a_table(figures):
    """``figures`` as the committed folder: one table to compare with."""
    figures.mkdir(parents=True, exist_ok=True)
    (figures / "accuracy.csv").write_text("Method,Test\nTDCA,81.25\n")
    (figures / "manifest.json").write_text('{"accuracy": {"kind": "table"}}')


def test_compare_without_committed_figures_stops_before_running(notebooks, monkeypatch):
    monkeypatch.setenv("TDCA_FIGURES_DIR", str(notebooks / "nowhere"))
    with pytest.raises(SystemExit, match="nowhere/manifest.json does not exist, so there is "
                                         "nothing to compare with; point TDCA_FIGURES_DIR"):
        reproduce.main(["--profile", "smoke", "--only", "01", "--compare"])
    assert not (notebooks / "compared").exists()


@pytest.mark.slow
def test_compare_that_compared_no_table_fails_saying_so(notebooks, capsys):
    commit_a_table(notebooks / "figures")
    # 01 makes no table: there is nothing to hold against the committed one
    assert reproduce.main(["--profile", "smoke", "--only", "01", "--compare"]) == 1
    out, err = capsys.readouterr()
    assert "nothing was compared" in err and "all within it" not in out


def test_a_second_compare_of_a_profile_stops_and_leaves_the_first_ones_files(notebooks):
    import fcntl
    import os

    commit_a_table(notebooks / "figures")
    scratch = notebooks / "compared" / "smoke"
    (scratch / "figures").mkdir(parents=True)
    first = "being written by the first compare"
    (scratch / "figures" / "accuracy.csv").write_text(first)
    lock = os.open(scratch / "lock", os.O_RDWR | os.O_CREAT)  # the first compare holds it
    os.write(lock, b"process 4242 (python -m tdca_lib.machinery.reproduce --compare)\n")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with pytest.raises(SystemExit, match=r"--compare: .*compared/smoke is in use by "
                                             r"process 4242"):
            reproduce.main(["--profile", "smoke", "--only", "01", "--compare"])
    finally:
        os.close(lock)
    assert (scratch / "figures" / "accuracy.csv").read_text() == first


def test_compare_tables_reports_a_lost_or_gained_column(tmp_path):
    for folder, text in (("new", "A,B\nx,1.0\n"), ("old", "A,B,C\nx,1.0,verdict\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "t.csv").write_text(text)
        (tmp_path / folder / "manifest.json").write_text('{"t": {"kind": "table"}}')
    [row] = reproduce.compare_tables(tmp_path / "new", tmp_path / "old")
    assert row["changed words"] == ["row 0: 3 columns -> 2", "row 1: 3 columns -> 2"]
    assert not reproduce.report_comparison([row], tolerance=1.0)


def test_compare_tables_matches_numbers_cell_by_cell(tmp_path):
    for folder, cell in (("new", "96.61 ± 2.09%"), ("old", "97.25 ± 0.70%")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "t.csv").write_text(f"A,B\nx,{cell}\n")
        (tmp_path / folder / "manifest.json").write_text('{"t": {"kind": "table"}}')
    [row] = reproduce.compare_tables(tmp_path / "new", tmp_path / "old")
    assert row["table"] == "t" and row["max deviation"] == pytest.approx(1.39)
    assert row["changed words"] == []


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["corrupt", "other settings"])
def test_a_broken_shipped_network_fails_its_notebook_and_writes_nothing(tmp_path, monkeypatch,
                                                                        capsys, damage):
    import shutil

    from tdca_lib.machinery import checkpoints, files

    shipped = tmp_path / "checkpoints"
    shutil.copytree(files.ROOT / "data" / "checkpoints", shipped)
    name = "supervised-mnist-20steps-1000-quick"
    if damage == "corrupt":
        pt = shipped / f"{name}.pt"
        pt.write_bytes(pt.read_bytes()[:-300])
    else:
        center, log, manifest = checkpoints.load_evolved(name, expect={}, regenerate="",
                                                         folder=shipped)
        checkpoints.save_evolved(name, center, log, experiment="02_supervised",
                                 profile="quick", folder=shipped, replace=True,
                                 settings=manifest["settings"] | {"population": 4})
    monkeypatch.setenv("TDCA_CHECKPOINTS_DIR", str(shipped))
    monkeypatch.setattr(reproduce, "EXECUTED", tmp_path / "executed")
    assert reproduce.main(["--profile", "smoke", "--only", "02"]) == 1
    err = capsys.readouterr().err
    assert "FAILED 02_supervised.ipynb" in err and "CheckpointError" in err
    assert ("is corrupt" if damage == "corrupt" else "was made with other settings") in err
    written = json.loads((tmp_path / "figures" / "manifest.json").read_text()) if (
        tmp_path / "figures" / "manifest.json").exists() else {}
    assert not any(item["section"] == "02_supervised" for item in written.values())


def test_a_device_this_machine_lacks_stops_before_any_notebook_runs(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(reproduce, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(SystemExit) as stop:
        reproduce.main(["--profile", "smoke", "--only", "04", "--device", "cuda"])
    assert stop.value.code == 2
    assert "torch sees no GPU here; use 'cpu' or 'auto'" in capsys.readouterr().err


def test_the_gallery_counts_every_claims_tables_verdicts_and_states_the_rule_once(tmp_path,
                                                                                 monkeypatch):
    from tdca_lib.machinery import claims
    from tdca_lib.machinery.output import Output

    monkeypatch.setenv("TDCA_FIGURES_DIR", str(tmp_path))
    monkeypatch.setattr(claims, "RULE", "the rule, from claims.py")
    monkeypatch.setattr(reproduce, "RULE", claims.RULE)
    for section, verdicts in (("01_a", [claims.SUPPORTED, claims.WITHIN_NOISE]),
                              ("02_b", [claims.NOT_SUPPORTED, claims.NOT_TESTED,
                                        claims.SUPPORTED])):
        table = claims.Claims()
        table.rows = [{"claim": f"claim {k}", "verdict": v, "evidence": "-"}
                      for k, v in enumerate(verdicts)]
        out = Output(section, "smoke")
        out.table(table.frame(), f"claims_{section}", "Claims.")
        out.table(table.frame(), f"not_claims_{section}", "A table of other things.")
    text = reproduce.gallery(tmp_path)
    assert text.count("the rule, from claims.py") == 1
    assert "| claims_01_a | 1 | 0 | 1 | 0 |" in text
    assert "| claims_02_b | 1 | 1 | 0 | 1 |" in text
    assert "| all | 2 | 1 | 1 | 1 |" in text and "not_claims_01_a |" not in text
    assert text.index("## Verdicts") < text.index("## 01_a")


def test_the_readme_states_the_rules_constant_as_the_code_has_it():
    from tdca_lib.machinery.claims import NOISE_RULE
    from tdca_lib.machinery.files import ROOT

    assert f"`NOISE_RULE` = {NOISE_RULE:g} standard errors" in (ROOT / "README.md").read_text()
