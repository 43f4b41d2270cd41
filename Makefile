# Two entry points for a fresh machine: `make figures` and `make test`. Both create (or reuse)
# the virtual environment .venv from pyproject.toml first.
PYTHON ?= python3
PROFILE ?= quick
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup data figures test lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) data

# Regenerate every figure and table into figures/ (PROFILE=smoke|quick|paper).
figures: setup
	$(PY) -m tdca_lib.reproduce --profile $(PROFILE)

# Lint, unit tests, and the notebooks under the smoke profile, their checked outputs compared
# by nbval with the committed ones. Figures go to build/, never over the committed figures/.
test: setup lint
	TDCA_PROFILE=smoke TDCA_FIGURES_DIR=$(CURDIR)/build/test-figures \
		$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env

lint: setup
	$(VENV)/bin/ruff check tdca_lib tests benchmarks notebooks

bench: setup
	$(PY) benchmarks/bench_pgpe.py
	$(PY) benchmarks/bench_supervised.py
	$(PY) benchmarks/bench_rl_envs.py
	$(PY) benchmarks/bench_metaworld.py
	$(PY) benchmarks/bench_distributed.py

# Offline data sets where this machine can have them (see tdca_lib/data.py); never fails.
data:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
		|| (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1) \
		|| echo "note: could not install dataset-fashion-mnist; Fashion-MNIST needs internet"; \
	else echo "note: not root or no apt-get: Fashion-MNIST needs internet (or the Debian package)"; fi
