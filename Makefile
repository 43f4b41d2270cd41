# Two entry points for a fresh machine: `make figures` and `make test`. Both create (or reuse)
# the virtual environment .venv from pyproject.toml first. `make check` is the quick loop while
# editing, `make book` builds the companion book. The README's "Make targets" says what each runs
# and how long it takes.
PYTHON ?= python3
PROFILE ?= quick
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BOOK := build/book

# pytest's workers (pytest-xdist), one a core: `make test JOBS=1` runs one thing at a time.
# --dist loadfile hands each file whole to one worker, so a notebook's cells run in order on
# one kernel; the files go out in the order given (xdist would otherwise sort them by their
# number of tests), each to the first worker that is almost done.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST := $(PY) -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder
# One thread a worker and a kernel: the workers fill the cores between them, and the notebooks'
# checked outputs keep the digits reproduce gave them with one thread. Smoke profile; figures go
# to build/, never over the committed figures/.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TDCA_PROFILE=smoke \
	TDCA_FIGURES_DIR=$(CURDIR)/build/test-figures
# The notebooks in the order the workers take them: the longest under smoke first (on one core
# about 5, 4.5, 3 and 2 minutes), then the rest; the unit tests come after them and fill in
# around them, so that both workers finish at about the same time.
LONGEST := 02_supervised 03_diffusion 06_metaworld 05_rl
NOTEBOOKS := $(LONGEST:%=notebooks/%.ipynb)
NOTEBOOKS += $(filter-out $(NOTEBOOKS),$(sort $(wildcard notebooks/*.ipynb)))

.PHONY: setup data figures test tests-and-notebooks check lint bench book book-check chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,book]'
	touch $(STAMP)

setup: $(STAMP) data

# Regenerate every figure and table into figures/ (PROFILE=smoke|quick|paper).
figures: setup
	$(PY) -m tdca_lib.machinery.reproduce --profile $(PROFILE)

# Lint; then the unit tests and the notebooks in one pytest session over all cores, the
# notebooks' checked outputs compared by nbval with the committed ones, while the companion book
# is built and checked in a browser beside them (about a minute, mostly waiting on Chromium).
test: setup lint
	$(MAKE) --no-print-directory -j2 tests-and-notebooks book-check

tests-and-notebooks: $(STAMP)
	$(TEST_ENV) $(PYTEST) --durations=10 --nbval-lax --nbval-current-env $(NOTEBOOKS) tests

# The quick loop while editing (about a minute): lint and the unit tests not marked slow; no
# notebooks, no book.
check: lint
	$(TEST_ENV) $(PYTEST) -m "not slow" tests

lint: setup
	$(VENV)/bin/ruff check tdca_lib tests benchmarks notebooks scripts book

# The companion book: the committed notebooks with their saved outputs (never re-run), the
# gallery, the README and the method's code (book/method.md includes tdca_lib/method/'s source,
# copied in beside the pages) as a static site in build/book/html/ (Sphinx + myst-nb,
# book/conf.py). Warnings are errors: a broken link or figure, or an included function that is
# gone, fails the build.
book: $(STAMP)
	rm -rf $(BOOK) && mkdir -p $(BOOK)/src/tdca_lib
	cp -r book/*.md README.md notebooks figures $(BOOK)/src/
	cp -r tdca_lib/method $(BOOK)/src/tdca_lib/
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

# Offline data sets where this machine can have them (see tdca_lib/machinery/data.py); never fails.
data:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
		|| (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1) \
		|| echo "note: could not install dataset-fashion-mnist; Fashion-MNIST needs internet"; \
	else echo "note: not root or no apt-get: Fashion-MNIST needs internet (or the Debian package)"; fi
