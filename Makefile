# Fenrun — every developer task is a make target; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12+ that exists here: an explicit PYTHON wins, then python3.13 / python3.12 on PATH,
# then pyenv's installs (this workplace), then python3 if it is new enough.
PYTHON ?= $(shell for c in python3.13 python3.12 python3; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; \
	for p in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -r); do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done)
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed-$(shell sha256sum $(LOCK) 2>/dev/null | cut -c1-12)

.PHONY: help venv run test lint fmt typecheck bench chaos migrate seed messages lock db-stop clean

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): $(LOCK)
	@test -n "$(PYTHON)" || { echo "Fenrun needs Python 3.12 or newer (python3.13 or python3.12 on PATH, or PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP) ## Create .venv and install the locked dependencies

run: venv ## Serve the app at http://127.0.0.1:8000 with a Celery worker and beat (embedded PostgreSQL unless DATABASE_URL is set)
	$(PY) scripts/devserver.py

test: venv ## Run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(PY) scripts/with_database.py -- $(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check + format check + import contracts (lint-imports)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

fmt: venv ## Format and autofix with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: venv ## mypy (strict on the money apps)
	$(PY) scripts/with_database.py -- $(PY) -m mypy apps config

bench: venv ## Run the benchmarks at a small size (bench/README.md has the full-size commands and figures)
	$(PY) bench/splits_engine.py
	$(PY) scripts/with_database.py --database fenrun_bench_ledger -- $(PY) bench/ledger_post.py post --entries 100000 --batch 10000
	$(PY) bench/generate_statement.py --lines 100000 --creators 10000 --out bench/out/statement-100k.csv
	$(PY) scripts/with_database.py --database fenrun_bench_income -- $(PY) bench/income_pipeline.py bench/out/statement-100k.csv --creators 10000
	$(PY) scripts/with_database.py --database fenrun_bench_recognition -- $(PY) bench/recognition_1m.py bench/out/statement-100k.csv --creators 10000 --verify --explain 50 --floor

chaos: venv ## Kill workers mid-import, stop Redis, a poison row: 0 lost, 0 doubled, the same ledger digest (CHAOS_ARGS="--kills 200"; docs/reliability.md)
	$(PY) scripts/with_database.py --database fenrun_chaos -- $(PY) bench/chaos.py $(CHAOS_ARGS)

migrate: venv ## Apply migrations to the configured database
	$(PY) scripts/with_database.py -- $(PY) manage.py migrate

seed: venv ## Load the demo data (idempotent) and print the logins
	$(PY) scripts/with_database.py -- $(PY) manage.py seed_demo

.PHONY: load
load: venv ## Creators and agency staff browse under gunicorn while a worker imports: p50/p95/p99 per page in .run/load/report.md (LOAD_ARGS="--reuse --million"; docs/reliability.md)
	$(PY) scripts/with_database.py --database fenrun_load_bench -- $(PY) bench/load/run.py $(LOAD_ARGS)

.PHONY: attack
attack: venv ## The tenancy matrix of every route, an API fuzz on the live schema, the importer fuzzer, idempotency races: .run/attack/report.md (ATTACK_ARGS=--ci; docs/reliability.md)
	$(PY) scripts/with_database.py --database fenrun_attack -- $(PY) bench/attack/run.py $(ATTACK_ARGS)

messages: venv ## Compile the translations in locale/
	$(PY) manage.py compilemessages --ignore=.venv

lock: ## Re-lock requirements/*.lock from pyproject.toml (needs uv in .venv)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.12 --no-header -o requirements/dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.12 --no-header -o requirements/prod.lock

db-stop: ## Stop the embedded PostgreSQL (if it runs)
	@test -x $(PY) && $(PY) scripts/with_database.py --stop || true

clean: db-stop ## Remove the venv, the embedded database and caches
	rm -rf $(VENV) .run .pytest_cache .ruff_cache .mypy_cache
