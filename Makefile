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

.PHONY: run test dev sql bench bench-core bench-fsds bench-reports bench-publish report lint lock parse clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
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

# The HTML reports alone (the `reports` asset, recorded in the Dagster instance's history);
# `make run` builds them too, after the marts.
report: parse
	@$(BIN)/python -m pipeline.cli prepare-home >/dev/null
	$(BIN)/dagster asset materialize -m pipeline.definitions --select reports
	@$(BIN)/python -c "from pipeline.reports.paths import reports_dir; \
		print('make report: open', (reports_dir() / 'index.html').as_uri())"

sql: $(STAMP)
	$(BIN)/python -m pipeline.cli sql $(ARGS)

# The scale benchmark (bench/run.py: load, dbt, end to end, publish, incremental), then
# the SEC data-set quarter and bulk companyfacts.zip, and the HTML reports at 1,000
# companies. Each part alone: bench-core (ARGS go to bench.run), bench-fsds,
# bench-reports, bench-publish (publish methods compared at 10,000 companies, slow).
bench: bench-core bench-fsds bench-reports

bench-core: parse
	cd $(ROOT) && $(BIN)/python -m bench.run $(ARGS)

bench-fsds: parse
	cd $(ROOT) && $(BIN)/python -m bench.fsds_bench && $(BIN)/python -m bench.fsds_bench --companyfacts 2000

bench-reports: parse
	cd $(ROOT) && $(BIN)/python -m bench.reports_bench --companies 1000

bench-publish: parse
	cd $(ROOT) && $(BIN)/python -m bench.publish_bench

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 -o requirements.lock

clean:
	rm -rf dbt_project/target dbt_project/logs
