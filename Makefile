# Crosscheck: `make run` brings the app up with demo data; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
AREA ?= all
SCALE ?=
SEED ?=
FULL ?=

.PHONY: install run run-check test lint typecheck bench chaos soak clean-var

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: install
	$(PY) -m config.run

# Start the embedded stack, wait for /healthz (database, Redis, worker), then stop: CI's proof of `make run`.
run-check: install
	$(PY) -m config.run --check

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Every check here can fail the build: lint, format, the import contracts of DESIGN.md, types.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(MAKE) typecheck

# Types with django-stubs over all the product code; core, audit, privacy and crossref under the
# strict flags set in pyproject.toml ([[tool.mypy.overrides]]).
typecheck: install
	$(PY) -m mypy config core privacy audit verification crossref cases synthetic

bench: install
	$(PY) -m bench --area $(AREA) $(if $(SCALE),--scale $(SCALE),) $(if $(SEED),--seed $(SEED),) $(if $(FULL),--full,)

# Faults in the middle of real work (bench/chaos): kill -9, Redis and PostgreSQL lost, a clock
# ahead, the checkpoint disk full; one line per fault. Private PostgreSQL, Redis and tmpfs.
CHAOS_FAULTS ?=
CHAOS_PHASES ?=
chaos: install
	@test -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 || test -e /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
	  || { [ "$$(id -u)" = 0 ] && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfaketime >/dev/null; } ; } \
	  || echo "libfaketime missing: the clock fault will be skipped (apt-get install libfaketime)"
	$(PY) -m bench.chaos $(if $(SCALE),--scale $(SCALE),) $(if $(SEED),--seed $(SEED),) $(if $(CHAOS_FAULTS),--faults $(CHAOS_FAULTS),) $(if $(CHAOS_PHASES),--phases $(CHAOS_PHASES),)

# 50 users for 5 minutes against gunicorn with production settings (bench/soak.py, bench/locustfile.py).
SOAK_USERS ?= 50
SOAK_MINUTES ?= 5
soak: install
	$(PY) -m bench.soak --users $(SOAK_USERS) --minutes $(SOAK_MINUTES)

clean-var:
	rm -rf var/
