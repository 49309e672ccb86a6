# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SCALE ?= full
ONLY ?= all
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install translations lint unit-sqlite unit-postgres system-deps node-deps bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d outreach/translations

# Serve the app on SQLite with the demo province (loaded only into an empty database), and a
# worker beside it for checks, imports and the nightly jobs; Ctrl+C stops both.
# OUTREACH_DEMO=1: the demo may keep a generated secret key in instance/secret_key; a real
# deployment sets OUTREACH_SECRET_KEY, or the server refuses to start (docs/decisions.md).
run: export OUTREACH_DEMO := 1
run: install
	$(BIN)/outreach db upgrade
	$(BIN)/outreach demo --if-empty
	@echo "Mở http://127.0.0.1:8000 (Ctrl+C để dừng)"
	@$(BIN)/outreach worker --workers 2 & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn --bind 127.0.0.1:8000 --workers 2 --threads 4 --access-logfile - wsgi:app

# Debian packages the browser, PDF, pgbouncer and multi-server tests need, installed only when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	PATH="$$PATH:/usr/sbin" command -v pgbouncer >/dev/null || missing="$$missing pgbouncer"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node-deps: node_modules/.package-lock.json

# ruff, then the layer contracts of docs/architecture.md (import-linter, pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

unit-sqlite: install
	$(BIN)/pytest

# The same suite on a throwaway PostgreSQL cluster, stopped and removed whatever the outcome.
unit-postgres: install
	@dir=$$(mktemp -d /tmp/outreach-pg.XXXXXX); \
	url=$$(scripts/pg.sh start $$dir) || exit 1; \
	OUTREACH_TEST_POSTGRES=$$url $(BIN)/pytest; status=$$?; \
	scripts/pg.sh stop $$dir; exit $$status

test: install system-deps node-deps lint unit-sqlite unit-postgres

# The benchmarks' extra packages (Locust), kept out of `make test`.
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Benchmarks: `make bench` (province scale) or `make bench SCALE=small` (a few minutes);
# `ONLY=web`, `ONLY=imports`, `ONLY=lighthouse`, `ONLY=load` (200 canvassers on gunicorn +
# PostgreSQL for 2 minutes), `ONLY=national` (three provinces on one PostgreSQL database; its
# build is cached as a pg_dump in benchmarks/.cache) runs one part; `ONLY=web,load` runs two on
# one PostgreSQL build.
bench: install system-deps node-deps $(BENCH_STAMP)
	@dir=$$(mktemp -d /tmp/outreach-pg.XXXXXX); \
	url=$$(scripts/pg.sh start $$dir) || exit 1; \
	OUTREACH_BENCH_POSTGRES=$$url $(BIN)/python -m benchmarks.run --scale $(SCALE) --only $(ONLY); \
	status=$$?; \
	scripts/pg.sh stop $$dir; exit $$status

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
