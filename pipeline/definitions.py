"""The Dagster code location: small modules assembled into one Definitions.

fetch (off by default) -> raw load (Python) -> dbt staging -> marts -> quality ->
reports (static HTML), with
the raw checks, the dbt tests and one tie-out check per rule attached; one job for
the whole graph, a daily schedule and a sensor on SEEDS_DIR (both running by default
under `make dev`). Steps run in one process: DuckDB has one writer.
"""

from __future__ import annotations

from dagster import AssetsDefinition, Definitions, in_process_executor

from pipeline import config
from pipeline.assets.dbt import dbt_models
from pipeline.assets.fetch import fetched_filings, fetcher_resource
from pipeline.assets.publish import build_published_warehouse
from pipeline.assets.raw import raw_tables
from pipeline.assets.reports import reports
from pipeline.checks.tieouts import tieout_checks
from pipeline.jobs import warehouse_job
from pipeline.lock import WarehouseLockResource
from pipeline.resources import build_resources
from pipeline.schedules import build_schedule
from pipeline.sensors import seeds_sensor


def build_definitions(dbt: AssetsDefinition = dbt_models) -> Definitions:
    """Definitions from the current environment (SEEDS_DIR, WAREHOUSE_DB, schedule).

    `dbt` replaces the dbt assets (a test runs a deliberately broken project copy).
    """
    resources = build_resources()
    resources.setdefault("fetcher", fetcher_resource())  # off unless FETCH_ENABLED=1
    # The lock is named after the published file; the DuckDB resource is the working one.
    resources["warehouse_lock"] = WarehouseLockResource(database=str(config.warehouse_db()))
    assets = [fetched_filings, raw_tables, dbt, reports]
    # last: the publish step depends on every other asset (pipeline/assets/publish.py)
    assets.append(build_published_warehouse(k for a in assets for k in a.keys))
    return Definitions(
        assets=assets,
        asset_checks=tieout_checks,
        jobs=[warehouse_job],
        schedules=[build_schedule()],
        sensors=[seeds_sensor],
        resources=resources,
        executor=in_process_executor,
    )


defs = build_definitions()
