"""The one job: every asset and every asset check, in one process.

DuckDB has one writer, so steps run one after another in the run's own process (the
in-process executor); parallel steps in subprocesses would fail with "Could not set
lock on file". The schedule, the sensor and `make run` all run this job.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

WAREHOUSE_JOB_NAME = "warehouse_job"

warehouse_job = define_asset_job(
    name=WAREHOUSE_JOB_NAME,
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description=(
        "Load $SEEDS_DIR into raw.*, `dbt build` the staging models and marts, then "
        "evaluate the raw checks, dbt tests and accounting tie-outs."
    ),
    tags={"warehouse": "full"},
)
