# Crosscheck: `make run` brings the app up with demo data; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
AREA ?= all
SCALE ?=
SEED ?=
FULL ?=

.PHONY: install run run-check test lint typecheck bench fuzz clean-var

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

clean-var:
	rm -rf var/
