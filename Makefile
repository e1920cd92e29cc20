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
	constraints clean distclean system-packages

help:
	@echo "make run            serve the API with demo data (embedded PostgreSQL unless DATABASE_URL)"
	@echo "make test           ruff, mypy, then pytest on PostgreSQL and Redis (found or started)"
	@echo "make lint           ruff"
	@echo "make typecheck      mypy"
	@echo "make pytest ARGS=…  only pytest, in one process, e.g. ARGS='tests/unit -k tenant'"
	@echo "make reliability    the long fuzz, hostile-input, fault and load suites (~30 min), one table"
	@echo "make system-packages  the Debian packages tests drive (systemd, chromium, LibreOffice), where missing"
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

test: lint typecheck system-packages
	$(SERVICES); $(BIN)/pytest -n $(PYTEST_WORKERS) $(ARGS)

# Debian packages some tests drive, as what:package (what: a command, or an absolute path);
# installed only when it is missing (as root, or through sudo).
# systemd-analyze: the deployment units' check; soffice, pdftoppm and Liberation Serif (Times
# New Roman's metrics): PDF reports and their page images; chromium: the browser tests
# (Playwright drives Debian's chromium and never downloads a browser of its own).
SYSTEM_PACKAGES := systemd-analyze:systemd /usr/bin/chromium:chromium \
	soffice:libreoffice-writer-nogui \
	pdftoppm:poppler-utils \
	/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf:fonts-liberation

system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do what="$${pair%%:*}"; \
		{ [ -e "$$what" ] || command -v "$$what" >/dev/null 2>&1; } \
			|| missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			$$sudo apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=300 $$missing; fi

pytest: $(STAMP)
	$(SERVICES); $(BIN)/pytest $(ARGS)

# tests/reliability at full length (DANVAN_RELIABILITY=long), one suite at a time so the load
# and fault suites have the machine; then the table of every suite's counts (.data/reliability).
reliability: $(STAMP)
	rm -f .data/reliability/*.json
	$(SERVICES); status=0; DANVAN_RELIABILITY=long $(BIN)/pytest tests/reliability \
		tests/integration/test_projection_consistency.py \
		tests/integration/test_projection_time_travel.py $(ARGS) \
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
