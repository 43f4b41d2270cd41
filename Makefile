# Two entry points for a fresh machine: `make figures` and `make test`. Both create (or reuse)
# the virtual environment .venv from pyproject.toml first. `make book` builds the companion book.
PYTHON ?= python3
PROFILE ?= quick
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BOOK := build/book

.PHONY: setup data figures test lint bench book book-check chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,book]'
	touch $(STAMP)

setup: $(STAMP) data

# Regenerate every figure and table into figures/ (PROFILE=smoke|quick|paper).
figures: setup
	$(PY) -m tdca_lib.reproduce --profile $(PROFILE)

# Lint, unit tests, and the notebooks under the smoke profile, their checked outputs compared
# by nbval with the committed ones. Figures go to build/, never over the committed figures/.
# The companion book is built and checked in a browser first (about a minute). The notebooks
# run with one thread a kernel, as reproduce made their committed outputs: the same digits.
test: setup lint book-check
	TDCA_PROFILE=smoke TDCA_FIGURES_DIR=$(CURDIR)/build/test-figures \
		$(PY) -m pytest tests
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TDCA_PROFILE=smoke \
		TDCA_FIGURES_DIR=$(CURDIR)/build/test-figures \
		$(PY) -m pytest notebooks --nbval-lax --nbval-current-env

lint: setup
	$(VENV)/bin/ruff check tdca_lib tests benchmarks notebooks scripts book

# The companion book: the committed notebooks with their saved outputs (never re-run), the
# gallery and the README as a static site in build/book/html/ (Sphinx + myst-nb, book/conf.py).
# Warnings are errors: a broken link or figure fails the build.
book: $(STAMP)
	rm -rf $(BOOK) && mkdir -p $(BOOK)/src
	cp -r book/index.md README.md notebooks figures $(BOOK)/src/
	$(VENV)/bin/sphinx-build -q -W --keep-going -c book -b html $(BOOK)/src $(BOOK)/html

# Open the book in headless Chromium and check its pages; screenshots in build/book-check/.
book-check: book chromium
	$(PY) scripts/check_book.py --site $(BOOK)/html --out build/book-check

# Debian's Chromium for book-check, installed when missing and this is root with apt-get.
chromium:
	@if ! command -v chromium >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			(apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) \
			|| echo "note: could not install chromium"; \
		else echo "note: no chromium; install it with: apt-get install -y chromium"; fi; \
	fi

bench: setup
	$(PY) benchmarks/bench_pgpe.py
	$(PY) benchmarks/bench_supervised.py
	$(PY) benchmarks/bench_members_at_once.py
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
