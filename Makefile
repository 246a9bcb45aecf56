# kexiang — the two commands: `make run` (whole system on embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast lint format install clean-data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,test,lint]'
	sh scripts/ensure_chromium.sh
	sh scripts/ensure_report_tools.sh
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m infra.devstack

test: $(VENV)/.installed
	sh scripts/ensure_chromium.sh
	sh scripts/ensure_report_tools.sh
	$(PY) -m pytest

# The suite without the slow dev-server tests (the dev stack subprocesses, the visibility tests on `dev_env`).
test-fast: $(VENV)/.installed
	sh scripts/ensure_chromium.sh
	sh scripts/ensure_report_tools.sh
	$(PY) -m pytest -m "not devstack and not dev_server"

# Lint, format check and types: what CI runs before the tests.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean-data:
	rm -rf .data
