"""The one way to the warehouse: DuckDB settings and connections.

Every Python path that opens the DuckDB file (the loader, the run lock's probe, the run
summary, Dagster's `DuckDBResource`, the dbt subprocess's environment) takes its
settings from here, so the storage version and the memory/thread bounds are stated
once. A new file is always created readable by DuckDB 1.5 clients (the pip
`duckdb-cli`), whatever duckdb version wrote it. The path itself comes from
`pipeline.config.warehouse_db()` (resolved once there).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import config

STORAGE_COMPATIBILITY = "v1.5.0"

# DuckDB takes 80% of RAM and every core by default; the loader and dbt share the
# machine with Dagster, so both connections are bounded (scale issue: 4 GB peak RSS).
DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_THREADS = 2


def memory_limit() -> str:
    return os.environ.get("WAREHOUSE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


def threads() -> int:
    return int(os.environ.get("WAREHOUSE_THREADS") or DEFAULT_THREADS)


def settings(*, create: bool) -> dict[str, str | int]:
    """DuckDB config of every warehouse connection; `create` adds the storage version
    (only a connection that may create the file needs it)."""
    values: dict[str, str | int] = {"memory_limit": memory_limit(), "threads": threads()}
    if create:
        values["storage_compatibility_version"] = STORAGE_COMPATIBILITY
    return values


def dbt_env(database: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Environment for a dbt subprocess (read by dbt_project/profiles.yml).

    dbt runs with the dbt project as its working directory, so a relative
    WAREHOUSE_DB would silently create a second warehouse under `dbt_project/`: the
    path is made absolute, and the memory/thread bounds are this module's.
    """
    config.quiet_telemetry()
    db = config.warehouse_db() if database is None else config.resolve_path(database)
    venv_bin = str(Path(sys.executable).parent)  # dbt of this venv, activated or not
    return {**os.environ, "WAREHOUSE_DB": str(db),
            "WAREHOUSE_MEMORY_LIMIT": memory_limit(), "WAREHOUSE_THREADS": str(threads()),
            "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")])}


@contextmanager
def dbt_environment(database: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """dagster-dbt copies os.environ into the dbt subprocess: make its paths absolute.

    dbt's working directory is the dbt project, so a relative WAREHOUSE_DB there would
    create a second warehouse under dbt_project/. The path is the DuckDB resource's,
    so dbt always writes the warehouse the Python assets wrote. The process's own
    environment is restored once dbt has started.
    """
    overrides = dbt_env(database)
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def connect(
    path: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (default: $WAREHOUSE_DB) with bounded memory and threads.

    Read-write opens create the folder and, for a new file, set the storage version.
    """
    db = Path(path) if path is not None else config.warehouse_db()
    create = False
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
        create = not db.exists()
    return duckdb.connect(str(db), read_only=read_only, config=settings(create=create))


@contextmanager
def session(path: str | os.PathLike[str] | None = None, *, read_only: bool = False
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed on exit, so no Python step holds the file while dbt runs."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)


RAW_DDL = """
create schema if not exists raw;

create table if not exists raw.filings (
    filing_id      varchar primary key,
    source         varchar not null,      -- 'vendor' | 'sec'
    source_file    varchar not null,      -- path relative to SEEDS_DIR
    record_index   integer,               -- position in the file (accession order for sec)
    symbol         varchar,
    cik            varchar,
    company_name   varchar,
    period_end     date,
    fiscal_year    integer,
    fiscal_period  varchar,
    document_type  varchar,
    is_amendment   boolean,
    currency       varchar,
    filed_date     date,
    accession      varchar,
    period_start   date,                  -- start of the main duration (sec), else NULL
    fact_count     integer,
    load_id        bigint not null,      -- the first load that brought this version
    last_seen_load_id bigint,             -- the last load whose file presented it (precedence)
    sic            varchar                -- the filer's SIC code, where given (FSDS sub.sic)
);

create table if not exists raw.facts (
    filing_id     varchar not null,
    concept       varchar not null,
    value_number  decimal(38, 10),
    value_text    varchar,
    unit          varchar,
    period_start  date,
    period_end    date,
    qtrs              integer,            -- FSDS: duration in quarters (0 = instant)
    coreg             varchar,            -- FSDS: co-registrant (NULL = the filer itself)
    segments          varchar,            -- FSDS: dimension members (NULL = consolidated)
    taxonomy_version  varchar             -- FSDS: num.version (the adsh for custom tags)
);

create table if not exists raw.load_log (
    load_id      bigint not null,
    source_file  varchar not null,
    sha256       varchar,
    status       varchar not null,        -- 'loaded' | 'skipped_unchanged' | 'rejected'
    filings      bigint not null,
    facts        bigint not null,
    rejects      bigint not null,
    started_at   timestamp not null,
    finished_at  timestamp not null,
    records      bigint,                  -- conservation: filings + rejected filings = records
    keys         bigint,                  -- conservation: facts + rejected values = keys
    new_filings  bigint,                  -- filing versions this load added (content-addressed)
    new_facts    bigint
);

create table if not exists raw.rejects (
    load_id       bigint not null,
    source_file   varchar not null,
    record_index  integer,
    concept       varchar,
    reason        varchar not null,
    payload       varchar,
    kind          varchar                 -- 'file' | 'filing' | 'value' | 'warning'
);
"""
