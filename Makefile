# Two commands do all the set-up: `make lab` and `make test` (both create .venv if needed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?=

.PHONY: install lab test test-fast execute execute-quick bench bench-full lint data clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install requirements.txt (and the helpers package)

# JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port 8890"; root (containers) gets --allow-root.
LAB_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: install  ## open JupyterLab on the notebooks (options: LAB_ARGS="--no-browser --port 8890")
	$(BIN)/jupyter lab notebooks/ $(ROOT_ARGS) $(LAB_ARGS)

test: install  ## the whole suite in quick mode: helpers, hygiene, exercises, every notebook under nbval
	# two workers on two cores: one thread each avoids OpenMP oversubscription
	COURSE_QUICK=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: install  ## everything but the notebooks themselves
	COURSE_QUICK=1 $(BIN)/python -m pytest tests -n 2

execute: install  ## re-run notebooks in place in full mode (NB="notebooks/03_*.ipynb" for some)
	$(BIN)/python scripts/run_notebooks.py execute $(NB)

execute-quick: install  ## re-run notebooks in place in quick mode
	$(BIN)/python scripts/run_notebooks.py execute --quick $(NB)

bench: install  ## time and memory of each notebook in quick mode -> benchmarks/RESULTS.md
	$(BIN)/python scripts/run_notebooks.py bench $(NB)

bench-full: install  ## the same in full mode -> benchmarks/RESULTS-full.md
	$(BIN)/python scripts/run_notebooks.py bench --full $(NB)

lint: install  ## ruff on helpers, tests, scripts and notebooks
	$(BIN)/ruff check helpers tests scripts notebooks

data: install  ## prefetch every dataset (for offline classrooms)
	$(BIN)/python -m helpers.data download --all

clean:  ## remove generated figures and caches (keeps downloaded data)
	rm -rf images .pytest_cache .ruff_cache

# ---------------------------------------------------------------- compatibility lanes
# `make test-compat ENV=colab|minimum`: the suite in a separate environment (.venv-ENV) built from
# constraints/ENV.txt, with the course installed as Colab's setup cell installs it (a non-editable
# pip install of the package, its dependencies held to the lane's versions), so that the notebooks
# and the tests import the installed package and run on the lane's libraries.
ENV           ?= colab
COMPAT_VENV   := .venv-$(ENV)
COMPAT_PYTHON ?= $(shell command -v python3.11 || echo $(PYTHON))
# ruff and the originality tool are development tools (their verdict does not depend on library
# versions); the project-root test is about a checkout, and the lane deliberately uses no checkout.
# --noconftest: the root conftest.py (a GPU-cell report) would put the checkout on sys.path, and the
# tests must import the installed package instead (tests/test_doctor.py checks that they do).
COMPAT_SKIP   := --deselect tests/test_tooling.py::test_ruff_finds_nothing \
                 --deselect tests/test_originality.py \
                 --deselect tests/test_helpers.py::test_project_root_is_this_checkout

# The minimum lane checks that the notebooks run; the pinned and colab lanes also compare outputs.
COMPAT_NBVAL_minimum := --nbval-sanitize-with constraints/run-only.cfg

.PHONY: test-compat
test-compat:  ## the suite on other library versions: ENV=colab (Colab's) or ENV=minimum (the lower bounds)
	@test -f constraints/$(ENV).txt || { echo "no constraints/$(ENV).txt: use ENV=colab or ENV=minimum" >&2; exit 2; }
	@set -e; start=$$(date +%s); \
	if [ ! -f $(COMPAT_VENV)/.installed ] || [ constraints/$(ENV).txt -nt $(COMPAT_VENV)/.installed ]; then \
	  echo "lane $(ENV): building $(COMPAT_VENV) from constraints/$(ENV).txt with $(COMPAT_PYTHON)"; \
	  rm -rf $(COMPAT_VENV); $(COMPAT_PYTHON) -m venv $(COMPAT_VENV); \
	  $(COMPAT_VENV)/bin/python -m pip install --quiet -r constraints/$(ENV).txt; \
	  touch $(COMPAT_VENV)/.installed; \
	fi; \
	src=$$(mktemp -d); cp -R pyproject.toml README.md LICENSE helpers "$$src"/; \
	$(COMPAT_VENV)/bin/python -m pip uninstall --quiet --yes ml-course 2>/dev/null || true; \
	$(COMPAT_VENV)/bin/python -m pip install --quiet --no-cache-dir -c constraints/$(ENV).txt "$$src"; \
	rm -rf "$$src"; \
	echo "lane $(ENV): install $$(( $$(date +%s) - start )) s"
	@cd notebooks && COURSE_QUICK=1 ../$(COMPAT_VENV)/bin/python -m helpers.doctor --no-gpu
	@set -e; start=$$(date +%s); \
	COURSE_QUICK=1 OMP_NUM_THREADS=1 COURSE_COMPAT_LANE=$(ENV) PYDEVD_DISABLE_FILE_VALIDATION=1 \
	  $(COMPAT_VENV)/bin/pytest -n 2 --dist loadfile --noconftest $(COMPAT_SKIP) $(COMPAT_NBVAL_$(ENV)) \
	  || status=$$?; \
	echo "lane $(ENV): tests $$(( $$(date +%s) - start )) s"; exit $${status:-0}
