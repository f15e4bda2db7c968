# widget_server — `make demo` runs everything locally, `make check` runs the fast tests,
# `make test` sets the machine up and runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `source` in the test recipe; the setup scripts are bash.
SHELL := /bin/bash
# Tests that need a server or binary of the machine (pyproject.toml lists the markers).
SERVICE_MARKERS := browser or redis or nginx or postgres or php or wordpress or mariadb or loop_disk
# pytest-xdist workers: one per core.
JOBS ?= auto
# make check: most of its tests wait on sockets and timers, not the CPU, so twice as many
# workers as cores finish it in about half the time.
CHECK_JOBS ?= 4

.PHONY: demo check test test-passes lint format bench plugins widget clean messages translations

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

# Lint and every test that needs nothing but Python: no root, no servers, minutes.
check: lint
	$(BIN)/python -m pytest -m "not ($(SERVICE_MARKERS))" -n $(CHECK_JOBS) -q

# Everything. .ci/setup.sh first: as root it installs and starts what the tests need;
# otherwise it stops at once with the command to run. It exports the PostgreSQL URLs.
test:
	@source .ci/setup.sh && $(MAKE) --no-print-directory test-passes

# A second pass runs on PostgreSQL when TEST_DATABASE_URL names a server (every test
# that builds an app gets a fresh database there); the browser tests exercise the
# widget's UI, not the database, and the sqlite_file tests SQLite's own files, so they
# run on SQLite only. CI must not skip it.
# Modules stay on one worker (loadscope), so module-wide servers start once.
test-passes: lint
	@if [ "$$CI" = "true" ] && [ -z "$$TEST_DATABASE_URL" ]; then \
		echo "CI=true but TEST_DATABASE_URL is unset: the PostgreSQL pass would be skipped" >&2; \
		exit 1; fi
	TEST_DATABASE_URL= $(BIN)/python -m pytest -n $(JOBS) --dist loadscope
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "PostgreSQL pass"; $(BIN)/python -m pytest -m "not (browser or sqlite_file)" -n $(JOBS) --dist loadscope; fi

format: $(BIN)/widget-server
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/widget-server
	$(BIN)/python bench/widget_size.py
	$(BIN)/python bench/page_view.py
	$(BIN)/python bench/poll_cost.py
	$(BIN)/python bench/lighthouse.py
	$(BIN)/python bench/widget_tasks.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/commit_cost.py
	$(BIN)/python bench/beacon.py
	$(BIN)/python bench/idle_memory.py
	@source .ci/setup-postgres.sh && $(BIN)/python bench/scale.py

# gettext catalogs (Russian is the source language): `make messages` after changing texts,
# fill in the English msgstr in the .po, then `make translations` (the .mo is committed).
# Locations name files only, so that moving code does not rewrite the catalog.
CATALOGS := widget_server/translations

messages: $(BIN)/widget-server
	$(BIN)/pybabel extract -F $(CATALOGS)/babel.cfg -k N_ --no-wrap --sort-by-file --add-location=file \
		--project widget-server -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -l en --no-wrap \
		--ignore-pot-creation-date

translations: $(BIN)/widget-server
	$(BIN)/pybabel compile -d $(CATALOGS) -l en --statistics

# The widget: embed/src/ bundled and minified by esbuild (pinned in embed/package.json) into
# embed/dist/, which is committed so that `pip install` needs no Node. tests/test_embed_build.py
# fails when dist/ is stale or over its size budget.
widget: embed/node_modules/.package-lock.json
	cd embed && npm run build

embed/node_modules/.package-lock.json: embed/package-lock.json
	cd embed && npm ci --ignore-scripts --no-audit --no-fund

# Installable WordPress, 1C-Bitrix and OpenCart archives in dist/plugins/.
plugins:
	$(PYTHON) embed/build_plugins.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
