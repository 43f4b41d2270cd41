import tomllib

from tdca_lib.files import ROOT


def test_environment_yml_lists_exactly_pyprojects_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    lines = (ROOT / "environment.yml").read_text().split("pip:")[1].splitlines()
    listed = {line.strip()[2:] for line in lines if line.strip().startswith("- ")}
    assert listed - {"-e ."} == wanted


def test_ci_runs_the_readmes_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
