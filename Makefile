# widget_server — `make demo` runs everything locally, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench clean

$(BIN)/widget-server: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/widget-server
	$(BIN)/widget-server demo

lint: $(BIN)/widget-server
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

format: $(BIN)/widget-server
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/widget-server
	$(BIN)/python bench/widget_size.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
