# Crosscheck: `make run` brings the app up with demo data; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
AREA ?= all
SCALE ?=
SEED ?=
FULL ?=

.PHONY: install messages run run-check test lint typecheck bench bench-compare fuzz chaos soak clean-var vendor

install: $(STAMP) messages

# The translation catalogues (locale/*/LC_MESSAGES/django.po), compiled with Babel: no GNU gettext.
messages: $(STAMP)
	$(PY) -m config.translations

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

# Every check here can fail the build: lint, format, the import contracts of DESIGN.md, bandit
# (0 medium or high findings; a false positive carries `# nosec BXXX # reason`), types, and
# pip-audit over the pins (skipped, with the reason printed, when its service cannot be reached).
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) .ci/bandit_check.py
	$(MAKE) typecheck
	$(PY) .ci/pip_audit_check.py

# Types with django-stubs over all the product code; core, audit, privacy and crossref under the
# strict flags set in pyproject.toml ([[tool.mypy.overrides]]).
typecheck: install
	$(PY) -m mypy config core privacy audit verification crossref cases synthetic

# The long fuzz runs (their fast halves are in `make test`): schemathesis over every API operation
# as every role (FUZZ_EXAMPLES per operation, role and generation mode), then the access oracle's
# state machine (ORACLE_EXAMPLES runs). Each prints its table and ends non-zero on any failure.
FUZZ_EXAMPLES ?= 40
ORACLE_EXAMPLES ?= 2000
fuzz: install
	CROSSCHECK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -s -q tests/fuzz/test_api_fuzz.py
	CROSSCHECK_ORACLE_EXAMPLES=$(ORACLE_EXAMPLES) $(PY) -m pytest -s -q tests/privacy/test_access_oracle.py

bench: install
	$(PY) -m bench --area $(AREA) $(if $(SCALE),--scale $(SCALE),) $(if $(SEED),--seed $(SEED),) $(if $(FULL),--full,)

# The change of every goal between two results of `make bench` (bench/results/*.json).
bench-compare: install
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make bench-compare A=bench/results/x.json B=bench/results/y.json"; exit 2; }
	$(PY) -m bench.report compare $(A) $(B)

# Faults in the middle of real work (bench/chaos): kill -9, Redis and PostgreSQL lost, a clock
# ahead, the checkpoint disk full; one line per fault. Private PostgreSQL, Redis and tmpfs. Phases
# (CHAOS_PHASES): run (default), ingest, import (two bulk imports of SCALE rows in all).
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

# Re-vendor USWDS, Chart.js and axe-core from npm (needs npm; the app itself never does):
# `make vendor USWDS_VERSION=3.14.0` (versions default to those in scripts/vendor-assets).
vendor:
	scripts/vendor-assets
