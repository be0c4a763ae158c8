# Every target creates .venv itself when missing (pinned: requirements.lock).
SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PATH := $(BIN):$(PATH)
export DAGSTER_HOME ?= $(ROOT)/warehouse/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: run test dev sql bench lint lock parse clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e ".[dev]"
	@touch $(STAMP)

# @dbt_assets reads the manifest at import time. One mechanism keeps it fresh:
# pipeline.dbt_parse.prepare_manifest (dagster-dbt's preparer, `dbt parse` only when a
# dbt file changed), run here and again by the import itself (tests, dagster dev, cli).
parse: $(STAMP)
	$(BIN)/python -m pipeline.dbt_parse

run: parse
	$(BIN)/python -m pipeline.cli run $(ARGS)

test: parse
	$(BIN)/python -m pytest $(PYTEST_ARGS)

dev: parse
	$(BIN)/python -m pipeline.cli prepare-home
	$(BIN)/dagster dev -m pipeline.definitions -h 127.0.0.1 -p 3000

sql: $(STAMP)
	$(BIN)/python -m pipeline.cli sql $(ARGS)

bench: parse
	cd $(ROOT) && $(BIN)/python -m bench.run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 -o requirements.lock

clean:
	rm -rf dbt_project/target dbt_project/logs
