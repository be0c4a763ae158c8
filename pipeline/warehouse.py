"""DuckDB connections and the `raw` schema the Python assets own.

Every path that can create the warehouse file goes through `connect()`, so the file
is always created readable by DuckDB 1.5 clients (the pip `duckdb-cli`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import config

STORAGE_COMPATIBILITY = "v1.5.0"

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
    load_id        bigint not null
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
    kind          varchar                 -- 'file' | 'filing' | 'value'
);
"""


def connect(
    path: str | Path | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with bounded memory and threads.

    A new file is created with storage_compatibility_version v1.5.0 so DuckDB 1.5
    clients open it whatever duckdb version wrote it.
    """
    db = Path(path) if path is not None else config.warehouse_db()
    settings: dict[str, str | int] = {
        "memory_limit": config.memory_limit(),
        "threads": config.threads(),
    }
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
        if not db.exists():
            settings["storage_compatibility_version"] = STORAGE_COMPATIBILITY
    return duckdb.connect(str(db), read_only=read_only, config=settings)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)


@contextmanager
def session(path: str | Path | None = None, *, read_only: bool = False) -> Iterator[
    duckdb.DuckDBPyConnection
]:
    """A connection that is closed on exit, so no Python step holds the file while dbt runs."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
