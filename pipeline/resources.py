"""Dagster resources, built from the environment (see pipeline.config)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource

from pipeline import config, warehouse

dbt_project = DbtProject(project_dir=config.DBT_PROJECT_DIR, profiles_dir=config.DBT_PROJECT_DIR)


class SeedsResource(ConfigurableResource):
    """The input folder ($SEEDS_DIR); relative paths resolve against the repo root."""

    path: str

    def directory(self) -> Path:
        return config.resolve_path(self.path)


def seeds_resource() -> SeedsResource:
    return SeedsResource(path=str(config.seeds_dir()))


def duckdb_resource() -> DuckDBResource:
    """The working database (`config.build_db()`, never opened by readers), created
    readable by DuckDB 1.5 clients; `published_warehouse` copies it to WAREHOUSE_DB."""
    return DuckDBResource(
        database=str(config.build_db()),
        connection_config=warehouse.settings(create=True),
    )


def dbt_executable() -> str:
    """The venv's dbt even when the venv is not activated (dagster-dbt needs a path)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(config.DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def build_resources() -> dict[str, object]:
    config.quiet_telemetry()
    return {"duckdb": duckdb_resource(), "dbt": dbt_resource(), "seeds": seeds_resource()}
