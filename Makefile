# The shop's everyday commands. `make help` lists them.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

# A Python of 3.12 or later: from PATH first, then from pyenv's versions.
PYTHON ?= $(shell \
	for c in python3.13 python3.12 python3 python; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; \
	root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
	for p in $$(ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done)

.PHONY: help venv run test lint fmt migrate seed static check clean bench synth

help: ## List the targets
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Python 3.12 or later is required (Django 6.1). Install one, or pass PYTHON=/path/to/python3.12." >&2; \
	  exit 1; fi
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  rm -rf $(VENV); echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

static: venv ## Collect static files (WhiteNoise, fingerprinted and compressed)
	@$(PY) manage.py collectstatic --noinput -v0

migrate: venv ## Apply database migrations
	$(PY) manage.py migrate --noinput

seed: migrate ## Load the demo store (idempotent)
	$(PY) manage.py seed_demo

run: export DJANGO_DEBUG ?= 1
run: seed static ## Set up, load the demo store and serve it on http://127.0.0.1:8000
	@echo ""
	@echo "  The shop is at      http://$(HOST):$(PORT)/"
	@echo "  Staff dashboards:   http://$(HOST):$(PORT)/dashboard/ (sign in as the staff demo account printed below)"
	@echo "  Django admin is at  http://$(HOST):$(PORT)/admin/"
	@echo ""
	@# Starts moto's server (unless AWS_ENDPOINT_URL is set), localstripe (unless
	@# STRIPE_SECRET_KEY is set), the periodic jobs (rollups every minute) and
	@# the task worker (emails, "Run now") beside runserver; all stop with it.
	$(PY) manage.py aws_local -- $(PY) manage.py stripe_local -- sh -c '\
	  $(PY) manage.py run_jobs --loop -v0 & jobs=$$!; \
	  $(PY) manage.py db_worker -v0 & worker=$$!; \
	  trap "kill $$jobs $$worker 2>/dev/null" EXIT INT TERM; $(PY) manage.py runserver $(HOST):$(PORT)'

test: export DJANGO_SECRET_KEY ?= test-only-secret-key-not-for-production
test: static ## Set up and run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

check: venv ## Lint, the apps' import layers, system checks and missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

lint: venv ## Lint with ruff
	$(VENV)/bin/ruff check .

fmt: venv ## Format and fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv ## Run the storefront benchmark on the local PostgreSQL (the others: docs/benchmarks.md)
	$(PY) bench/storefront.py

synth: venv ## Synthesise the AWS CDK app offline (infra/), with cdk-nag's checks
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 ../$(PY) app.py

clean: ## Remove the virtualenv, collected static files and caches
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
