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
