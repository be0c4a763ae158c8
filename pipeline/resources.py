"""Dagster resources, built from the environment (see pipeline.config)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from pipeline import config, warehouse

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource, DbtProject

    dbt_project: DbtProject

_DBT_PROJECT: list[Any] = []


def __getattr__(name: str) -> Any:
    """`dbt_project`, built on first use: importing dagster_dbt (dbt-core) costs seconds,
    and a no-op `make run` never needs it (pipeline/noop.py)."""
    if name == "dbt_project":
        if not _DBT_PROJECT:
            from dagster_dbt import DbtProject

            _DBT_PROJECT.append(DbtProject(project_dir=config.DBT_PROJECT_DIR,
                                           profiles_dir=config.DBT_PROJECT_DIR))
        return _DBT_PROJECT[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from pipeline.dbt_cli import WarehouseDbtCliResource  # dagster-dbt minus start-up work

    return WarehouseDbtCliResource(
        project_dir=__getattr__("dbt_project"),
        profiles_dir=str(config.DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def build_resources() -> dict[str, object]:
    config.quiet_telemetry()
    return {"duckdb": duckdb_resource(), "dbt": dbt_resource(), "seeds": seeds_resource()}
