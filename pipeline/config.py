"""Paths and settings from the environment, resolved once, the same way everywhere.

The contract says relative paths resolve against the repository root whatever the
current directory: dbt runs with `dbt_project/` as its working directory, Dagster
may run from anywhere, so every consumer asks this module instead of `os.getcwd()`.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

DEFAULT_SEEDS_DIR = "seeds"
DEFAULT_WAREHOUSE_DB = "warehouse/financials.duckdb"
DEFAULT_DAGSTER_HOME = "warehouse/dagster_home"
# DuckDB settings (storage version, memory and threads) live in pipeline.warehouse.


def resolve_path(value: str | os.PathLike[str]) -> Path:
    """Absolute path; relative ones are taken from the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def seeds_dir() -> Path:
    return resolve_path(os.environ.get("SEEDS_DIR") or DEFAULT_SEEDS_DIR)


def warehouse_db() -> Path:
    return resolve_path(os.environ.get("WAREHOUSE_DB") or DEFAULT_WAREHOUSE_DB)


BUILD_FOLDER = ".build"


def build_db(published: str | os.PathLike[str] | None = None) -> Path:
    """The working database the pipeline writes, which no reader opens.

    `<warehouse folder>/.build/<file name>`, derived from WAREHOUSE_DB (or `published`):
    the loader, dbt and the checks write here, and a successful run publishes a copy
    to WAREHOUSE_DB (pipeline/publish.py). It persists between runs (raw keeps history).
    """
    db = warehouse_db() if published is None else resolve_path(published)
    return db.parent / BUILD_FOLDER / db.name


def published_db(database: str | os.PathLike[str]) -> Path:
    """The file users open for a database the pipeline writes: the inverse of `build_db`.

    A working database (`.../.build/x.duckdb`) publishes to `.../x.duckdb`; any other
    file (a test's or a benchmark's warehouse, written in place) is its own.
    """
    db = resolve_path(database)
    return db.parent.parent / db.name if db.parent.name == BUILD_FOLDER else db


def dagster_home() -> Path:
    return resolve_path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME)


def quiet_telemetry() -> None:
    """Telemetry off for dbt and Dagster: no network here, and users expect it off."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
