import pytest


@pytest.fixture(autouse=True)
def _figures_elsewhere(tmp_path, monkeypatch):
    """No test writes into the committed figures/ folder."""
    monkeypatch.setenv("TDCA_FIGURES_DIR", str(tmp_path / "figures"))
