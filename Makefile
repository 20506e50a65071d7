# Two commands do everything on a fresh machine:
#   make run    create/refresh .venv, install, and open the app on the built-in default experiment
#   make test   create/refresh .venv, install, and run the whole test suite offscreen
#   make lint   ruff (wider rule set, see pyproject.toml), the import-linter contracts and mypy on core
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS ?= constraints.txt

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[gui,test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/replearn-gui

# one OpenMP / BLAS thread per test process: the tests use tiny models, and a pool per library fighting over two
# cores made GUI files run about 3x slower (tests that need more threads set their own limits)
test: $(STAMP)
	OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check core replearn_gui tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
