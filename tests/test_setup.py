import os
import shlex
import shutil
import subprocess

import pytest
import tomllib

from tdca_lib.machinery.files import ROOT


def test_environment_yml_lists_exactly_pyprojects_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    lines = (ROOT / "environment.yml").read_text().split("pip:")[1].splitlines()
    listed = {line.strip()[2:] for line in lines if line.strip().startswith("- ")}
    assert listed - {"-e ."} == wanted


def test_ci_runs_the_readmes_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def make_dry_run(target: str) -> str:
    """The commands ``make <target>`` would run, as make prints them (nothing is run)."""
    if shutil.which("make") is None:
        pytest.skip("no make here")
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # set when make test runs this very test
    env = {k: v for k, v in os.environ.items() if k not in outer}
    done = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_test_runs_every_notebook_once_each_whole_on_one_kernel():
    words = shlex.split(make_dry_run("tests-and-notebooks").splitlines()[-1])
    notebooks = sorted(f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb"))
    listed = [w for w in words if w.endswith(".ipynb")]
    assert sorted(listed) == notebooks
    assert "tests" in words and "--nbval-lax" in words
    # one worker runs a file whole: a notebook's cells in order, on one kernel with one thread
    assert words[words.index("--dist") + 1] == "loadfile"
    # the files go out as listed, the longest notebook (under smoke) first
    assert "--no-loadscope-reorder" in words and listed[0] == "notebooks/02_supervised.ipynb"
    assert "OMP_NUM_THREADS=1" in words and "TDCA_PROFILE=smoke" in words


def test_make_check_runs_the_unit_tests_not_marked_slow():
    words = shlex.split(make_dry_run("check").splitlines()[-1])
    assert words[words.index("-m", words.index("pytest") + 1) + 1] == "not slow"
    assert "tests" in words and not any(w.endswith(".ipynb") for w in words)
