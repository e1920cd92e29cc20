# danvan: `make run` serves the API with demo data; `make test` runs every check.
# Both create the virtual environment and install the pinned dependencies when needed.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Install again only when the dependency declarations change.
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`; extra pytest arguments for `make test` / `make pytest`.
PYTEST_WORKERS ?= auto
ARGS ?=
# Find PostgreSQL and Redis, or start private ones, and export DATABASE_URL and REDIS_URL.
SERVICES = exports="$$($(BIN)/python -m danvan.infra.services env)"; eval "$$exports"

.PHONY: help venv install run test lint typecheck pytest reliability services stop-services \
	constraints clean distclean chromium

help:
	@echo "make run            serve the API with demo data (embedded PostgreSQL unless DATABASE_URL)"
	@echo "make test           ruff, mypy, then pytest on PostgreSQL and Redis (found or started)"
	@echo "make lint           ruff"
	@echo "make typecheck      mypy"
	@echo "make pytest ARGS=…  only pytest, in one process, e.g. ARGS='tests/unit -k tenant'"
	@echo "make reliability    the long fuzz, hostile-input, fault and load suites (~30 min), one table"
	@echo "make chromium       install Debian's chromium for the browser tests, where missing"
	@echo "make services       print the export lines for DATABASE_URL and REDIS_URL"
	@echo "make stop-services  stop the private PostgreSQL and Redis that tests started"
	@echo "make venv           create $(VENV) and install (also: make install)"
	@echo "make constraints    re-pin constraints.txt from $(VENV)"
	@echo "make clean          remove caches and the test servers' data; distclean: also $(VENV), .data"

venv install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/danvan serve --demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy sees the folders through .mypy-path/danvan/*; print the real paths.
typecheck: $(STAMP)
	$(BIN)/mypy | sed -e 's#^\.mypy-path/danvan/##'

test: lint typecheck chromium
	$(SERVICES); $(BIN)/pytest -n $(PYTEST_WORKERS) $(ARGS)

# The browser tests (tests/browser) drive Debian's chromium through Playwright; Playwright never
# downloads a browser of its own. Installed with apt-get where missing (root on Debian).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium (Debian's package) for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

pytest: $(STAMP)
	$(SERVICES); $(BIN)/pytest $(ARGS)

# tests/reliability at full length (DANVAN_RELIABILITY=long), one suite at a time so the load
# and fault suites have the machine; then the table of every suite's counts (.data/reliability).
reliability: $(STAMP)
	rm -f .data/reliability/*.json
	$(SERVICES); status=0; DANVAN_RELIABILITY=long $(BIN)/pytest tests/reliability $(ARGS) \
		|| status=$$?; $(BIN)/python -m tests.reliability.summary; exit $$status

services: $(STAMP)
	@$(BIN)/python -m danvan.infra.services env

stop-services:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m danvan.infra.services stop; fi

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --exclude danvan > constraints.txt

clean: stop-services
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info
	rm -rf .data/test-pg .data/test-redis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m danvan.infra.services stop --all; fi
	rm -rf $(VENV) .data
