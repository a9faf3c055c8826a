# Two commands do all the set-up on a fresh machine:
#   make run    the app at http://127.0.0.1:8000 on SQLite, demo data loaded, demo logins printed,
#               and its background worker (schedules start runs); one Ctrl+C stops both
#   make test   the whole test suite (lint, format check, pytest on SQLite then PostgreSQL)

PYTHON ?= python3
# The second pass of the test suite runs against this PostgreSQL server.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsmodel
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test serve worker lint format clean benchmark

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Opsmodel needs Python 3.12 or newer; set PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddemo
	@echo "Opsmodel is starting at http://127.0.0.1:8000 with its worker (Ctrl+C stops both)"
	$(BIN)/python manage.py serve_all 127.0.0.1:8000

# The W3C Nu HTML checker, which one test runs over the app's pages (Java, from npm's vnu-jar).
VNU_VERSION := 26.9.27
$(VENV)/vnu/.installed-$(VNU_VERSION): | $(BIN)/python
	npm install --silent --no-audit --no-fund --prefix $(VENV)/vnu vnu-jar@$(VNU_VERSION)
	@touch $@

test: $(VENV)/.installed-test $(VENV)/vnu/.installed-$(VNU_VERSION)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check --fail-level WARNING
	@echo "== Test suite on SQLite =="
	$(BIN)/pytest
	@echo "== Test suite on PostgreSQL ($(TEST_DATABASE_URL)) =="
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest

# Production: gunicorn behind your TLS terminator, whitenoise for static files. Needs DEBUG=false,
# SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL in the environment (see README, "Deploying").
WORKERS ?= 2
BIND ?= 127.0.0.1:8000
serve: $(VENV)/.installed-run
	$(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/gunicorn opsmodel.wsgi --workers $(WORKERS) --bind $(BIND) --access-logfile -

# Production: the background worker (schedules starting runs, and every queued task), beside
# `make serve` with the same environment; run it as a service of its own (see the README).
worker: $(VENV)/.installed-run
	$(BIN)/python manage.py runworker

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts var

# Not part of the tests, nor of the installed app (tests/benchmark/): measures every page under
# load on a generated map, on SQLite then on PostgreSQL, each a throwaway database of its own
# (see the README). BENCH_ARGS="--seconds 1" for a quick run.
BENCH_DB ?= /tmp/opsmodel-benchmark.sqlite3
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsmodel_benchmark
BENCH_ARGS ?=
benchmark: $(VENV)/.installed-test
	@command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m tests.benchmark --sqlite $(BENCH_DB) --postgres $(BENCH_DATABASE_URL) $(BENCH_ARGS)
