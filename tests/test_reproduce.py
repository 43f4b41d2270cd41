"""The reproduce command on two tiny notebooks: one that works, one that fails."""

import nbformat
import pytest

from tdca_lib import reproduce


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
    return tmp_path


@pytest.mark.slow
def test_runs_notebooks_with_the_profile_and_names_the_failing_cell(notebooks, capsys):
    assert reproduce.main(["--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "02_broken.ipynb: cell" in err and "ValueError: no data set here" in err
    executed = nbformat.read(notebooks / "executed" / "smoke" / "01_fine.ipynb", 4)
    assert "profile is smoke" in executed.cells[-1].outputs[0]["text"]
    assert (notebooks / "figures" / "README.md").exists()


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
