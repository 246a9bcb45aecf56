# kexiang — the two commands: `make run` (whole system on embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install clean-data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,test]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m infra.devstack

test: $(VENV)/.installed
	$(PY) -m pytest

clean-data:
	rm -rf .data
