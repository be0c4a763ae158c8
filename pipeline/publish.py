"""Publish by snapshot: readers never block the pipeline, the pipeline never breaks a reader.

The pipeline (loader, dbt, checks) writes a working database that no reader opens,
`config.build_db()` (`<warehouse folder>/.build/<name>`). At the end of a successful
run `publish()` copies it to a temporary file beside `$WAREHOUSE_DB`, fsyncs the file
and the folder, and renames it over `$WAREHOUSE_DB` (`os.replace`, atomic on POSIX):

- a reader that has the old file open keeps reading the old inode, a consistent old
  snapshot, until it closes its connection; the next connection opens the new file;
- a failed or killed run never reaches the rename: readers keep the last good
  warehouse, and a half-written temporary file is removed by the next publish;
- the pipeline never opens `$WAREHOUSE_DB` for writing, so a reader holding it (the
  DuckDB CLI, a notebook) can no longer make a run fail with "Could not set lock".

Why a byte copy of the file and not `ATTACH` + `COPY FROM DATABASE`: measured at
10,000 companies x 10 years (bench/publish_bench.py; README: "How readers and the
pipeline share the warehouse"), the copy is
several times faster, and its cost is sequential I/O proportional to the file size;
`COPY FROM DATABASE` re-encodes every table. Both are implemented (`method=`), so the
benchmark compares them on the same working database.

The published file carries its own identity in `meta.snapshot` (run id, time), so a
reader can ask which run it is looking at. Previous versions can be kept as hard links
under `<warehouse folder>/snapshots/` (WAREHOUSE_KEEP_SNAPSHOTS, default 1: only the
live file); a hard link costs no space until the live file is replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from pipeline import config, warehouse

Method = Literal["copy", "database"]
DEFAULT_METHOD: Method = "copy"
DEFAULT_KEEP_SNAPSHOTS = 1
SNAPSHOT_DIR = "snapshots"
# Tables whose row counts the run summary and the asset's metadata report.
MAIN_TABLES = ("raw.filings", "raw.facts", "raw.rejects")

SNAPSHOT_DDL = """
create schema if not exists meta;
create or replace table meta.snapshot (
    run_id        varchar not null,   -- the Dagster run that built and published it
    published_at  timestamp not null, -- UTC
    row_counts    json not null       -- {"raw.filings": n, "marts.balance_sheet": n, ...}
);
"""


class PublishError(RuntimeError):
    """The working database could not be published (readers keep the previous file)."""


@dataclass
class Published:
    """What one publish did: which snapshot readers now see, and what it cost."""

    path: Path
    run_id: str
    published_at: datetime
    bytes: int
    seconds: float
    method: str
    row_counts: dict[str, int] = field(default_factory=dict)
    removed: list[Path] = field(default_factory=list)


def keep_snapshots() -> int:
    """How many published versions to keep (the live file included), at least 1."""
    raw = os.environ.get("WAREHOUSE_KEEP_SNAPSHOTS") or str(DEFAULT_KEEP_SNAPSHOTS)
    try:
        value = int(raw)
    except ValueError as error:
        raise PublishError(f"WAREHOUSE_KEEP_SNAPSHOTS={raw!r} is not a whole number") from error
    if value < 1:
        raise PublishError(f"WAREHOUSE_KEEP_SNAPSHOTS={value}: keep at least 1 (the live file)")
    return value


def snapshot_dir(published: Path) -> Path:
    return published.parent / SNAPSHOT_DIR


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _temp_name(published: Path) -> Path:
    """A temporary name in the published file's folder (same filesystem: rename is atomic)."""
    return published.with_name(f".{published.name}.publish-{os.getpid()}.tmp")


def _sql_string(value: str) -> str:
    """A SQL string literal: ATTACH takes no prepared parameters; the value is a path."""
    return "'" + value.replace("'", "''") + "'"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def ensure_working(published: Path, working: Path | None = None) -> bool:
    """Seed the working database from the published file when it is missing.

    An installation from before publish-by-snapshot has only `$WAREHOUSE_DB`; raw keeps
    history, so the first run must start from it, not from an empty database. Returns
    True when it seeded. Called with the run lock held.
    """
    working = working or config.build_db(published)
    if working.exists() or not published.exists():
        return False
    working.parent.mkdir(parents=True, exist_ok=True)
    temp = working.with_name(f".{working.name}.seed-{os.getpid()}.tmp")
    shutil.copyfile(published, temp)
    if _wal(published).exists():  # left by a writer that crashed before this version
        shutil.copyfile(_wal(published), _wal(temp))
        with warehouse.session(temp) as con:  # replay it into the copy
            con.execute("checkpoint")
    _fsync_file(temp)
    os.replace(temp, working)
    _fsync_dir(working.parent)
    return True


def ensure_working_for(working: Path) -> bool:
    """`ensure_working` when `working` is the configured working database.

    For the load step, which may run without the run lock's resource (a raw-only run
    from the UI); a loader pointed at any other file (tests, benchmarks) is left alone.
    """
    published = config.warehouse_db()
    if Path(working).resolve() != config.build_db(published).resolve():
        return False
    return ensure_working(published, working)


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of raw's main tables and of every marts table (the names come from the catalog)."""
    tables = list(MAIN_TABLES) + [f"marts.{name}" for (name,) in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1").fetchall()]
    counts: dict[str, int] = {}
    for table in tables:
        schema, name = table.split(".", 1)
        try:
            row = con.execute(
                f"select count(*) from {_quote(schema)}.{_quote(name)}"  # noqa: S608 - catalog names, quoted
            ).fetchone()
        except duckdb.CatalogException:
            continue
        counts[table] = int(row[0]) if row else 0
    return counts


def _stamp(working: Path, run_id: str, published_at: datetime) -> dict[str, int]:
    """Write meta.snapshot into the working database and checkpoint it (no WAL left)."""
    with warehouse.session(working) as con:
        counts = row_counts(con)
        con.execute(SNAPSHOT_DDL)
        con.execute("insert into meta.snapshot values (?, ?, ?)",
                    [run_id, published_at.replace(tzinfo=None), json.dumps(counts)])
        con.execute("checkpoint")
    if _wal(working).exists():
        raise PublishError(f"{_wal(working)} is still there after a checkpoint: another "
                           f"program has the working database open")
    return counts


def _write_copy(working: Path, temp: Path) -> None:
    """The whole file, byte for byte (the kernel's copy_file_range/sendfile)."""
    shutil.copyfile(working, temp)


def _write_database(working: Path, temp: Path) -> None:
    """`ATTACH` a new file (DuckDB 1.5 storage) and `COPY FROM DATABASE` into it."""
    with warehouse.session(working) as con:
        source = con.execute("select current_database()").fetchone()[0]  # type: ignore[index]
        con.execute(f"attach {_sql_string(str(temp))} as publish_snapshot "
                    f"(storage_version {_sql_string(warehouse.STORAGE_COMPATIBILITY)})")
        try:
            con.execute(f"copy from database {_quote(source)} to publish_snapshot")
            con.execute("checkpoint publish_snapshot")
        finally:
            con.execute("detach publish_snapshot")


def _remove_leftovers(published: Path) -> None:
    """Temporary files of a publish that was killed before its rename."""
    for leftover in published.parent.glob(f".{published.name}.publish-*.tmp*"):
        leftover.unlink(missing_ok=True)


def _keep_previous(published: Path, keep: int) -> list[Path]:
    """Hard-link the live file into snapshots/ (when keep > 1) and prune to keep - 1 there."""
    folder = snapshot_dir(published)
    if keep > 1 and published.exists():
        folder.mkdir(exist_ok=True)
        previous = _read_snapshot(published)
        when = previous["published_at"] if previous else datetime.fromtimestamp(
            published.stat().st_mtime, UTC)
        run = (previous or {}).get("run_id", "unknown")[:8]
        name = f"{published.stem}.{when:%Y%m%dT%H%M%S}.{run}{published.suffix}"
        if not (folder / name).exists():
            os.link(published, folder / name)
    removed: list[Path] = []
    if folder.is_dir():
        pattern = f"{published.stem}.*{published.suffix}"
        old = sorted(folder.glob(pattern), key=lambda p: p.name, reverse=True)
        for path in old[keep - 1:]:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def publish(
    run_id: str,
    published: Path | None = None,
    working: Path | None = None,
    *,
    method: Method = DEFAULT_METHOD,
) -> Published:
    """Publish the working database to `published` atomically. Call with the run lock held.

    Nothing is replaced unless the new file is complete and on disk: temp file in the
    same folder, fsync file, rename over the published name, fsync the folder.
    """
    published = published or config.warehouse_db()
    working = working or config.build_db(published)
    if not working.exists():
        raise PublishError(f"no working database at {working}: nothing to publish")
    keep = keep_snapshots()
    started = time.monotonic()
    published_at = datetime.now(UTC).replace(microsecond=0)
    counts = _stamp(working, run_id, published_at)
    published.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(published)
    temp = _temp_name(published)
    try:
        (_write_copy if method == "copy" else _write_database)(working, temp)
        _fsync_file(temp)
        removed = _keep_previous(published, keep)
        os.replace(temp, published)
        _fsync_dir(published.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        _wal(temp).unlink(missing_ok=True)
        raise
    return Published(path=published, run_id=run_id, published_at=published_at,
                     bytes=published.stat().st_size, seconds=time.monotonic() - started,
                     method=method, row_counts=counts, removed=removed)


def _read_snapshot(published: Path) -> dict[str, Any] | None:
    try:
        con = warehouse.connect(published, read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select run_id, published_at, row_counts from meta.snapshot "
                          "order by published_at desc limit 1").fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    if row is None:
        return None
    return {"run_id": row[0], "published_at": row[1].replace(tzinfo=UTC),
            "row_counts": json.loads(row[2])}


def published_snapshot(published: Path | None = None) -> dict[str, Any] | None:
    """Which run the published file comes from (meta.snapshot), or None (none yet/older)."""
    published = published or config.warehouse_db()
    return _read_snapshot(published) if published.exists() else None
