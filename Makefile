# Aula: `make run` sets up and starts everything; `make test` runs the quick test suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test test-all lint bench migrate clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=python3" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) scripts/run.py

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything, including slow (real worker processes, bigger data) and browser tests.
test-all: $(VENV)/.installed
	$(PY) -m pytest -m "" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed
	$(PY) tests/benchmarks/run_all.py

migrate: $(VENV)/.installed
	$(VENV)/bin/flask --app wsgi db upgrade

clean:
	rm -rf $(VENV) .pytest_cache bench-results.json
