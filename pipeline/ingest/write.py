"""Write: parsed files -> raw.filings / raw.facts / raw.rejects / raw.load_log.

Guarantees (the contract's raw schema):

* Each file is atomic. Files are written in batches, one transaction per batch (one
  insert and commit per small file would cost more than parsing it); when a batch fails
  it is rolled back and its files are retried one by one, so one bad file never takes
  others with it. A killed process leaves no row of the file it was writing.
* Filing ids are content-addressed: a filing already in raw.filings is not written
  again, so editing one value of one filing adds exactly one new version (raw is
  append-only history).
* Conservation is recorded per file (`records`, `keys` in raw.load_log, `kind` in
  raw.rejects) so the raw asset checks can verify it with queries.

Speed: the writer runs in its own thread (see `load.py`) and does the bulk Arrow work
that needs no GIL (the decimal cast, filing_id expansion, dictionary decoding), handing
DuckDB one-chunk columns, because DuckDB's Arrow scan takes the GIL once per chunk and
each take waits up to a switch interval while the parser runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import warehouse
from pipeline.ingest import values as V
from pipeline.ingest.model import ParsedFile, RejectRecord
from pipeline.ingest.vendor import DECIMAL, decimal_column

log = logging.getLogger(__name__)

# Columns added to the contract's raw tables (see pipeline/warehouse.py RAW_DDL); older
# warehouses get them on their next load: (table, column, type, value for existing rows).
EXTRA_COLUMNS = (
    ("raw.load_log", "records", "bigint", None),
    ("raw.load_log", "keys", "bigint", None),
    ("raw.load_log", "new_filings", "bigint", None),
    ("raw.load_log", "new_facts", "bigint", None),
    ("raw.rejects", "kind", "varchar", None),
    ("raw.filings", "last_seen_load_id", "bigint", "load_id"),
    # SEC Financial Statement Data Sets attributes (pipeline/ingest/fsds.py)
    ("raw.facts", "qtrs", "integer", None),
    ("raw.facts", "coreg", "varchar", None),
    ("raw.facts", "segments", "varchar", None),
    ("raw.facts", "taxonomy_version", "varchar", None),
    ("raw.filings", "sic", "varchar", None),  # FSDS sub.sic (industry templates)
)


class LoadError(RuntimeError):
    """The load could not run or could not write; the message names cause and remedy."""


@dataclass(slots=True)
class FileResult:
    """One raw.load_log row (and what the summary prints)."""

    source_file: str
    load_id: int
    sha256: str | None
    status: str  # 'loaded' | 'skipped_unchanged' | 'rejected'
    filings: int = 0
    facts: int = 0
    rejects: int = 0
    records: int | None = None
    keys: int | None = None
    new_filings: int = 0
    new_facts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class LoadSummary:
    files_seen: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    files_rejected: int = 0
    filings: int = 0  # accepted filings in the files read (new or already present)
    facts: int = 0
    rejects: int = 0
    new_filings: int = 0  # filing versions written by this run
    new_facts: int = 0
    seconds: float = 0.0
    # where the time went: read+parse (main thread), write (writer thread), and the
    # main thread's wait for the writer (the queue is full when writing is slower)
    timings: dict[str, float] = field(default_factory=dict)
    files: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.files.append(result)
        if result.status == "loaded":
            self.files_loaded += 1
        elif result.status == "skipped_unchanged":
            self.files_skipped += 1
        else:
            self.files_rejected += 1
        self.filings += result.filings
        self.facts += result.facts
        self.rejects += result.rejects
        self.new_filings += result.new_filings
        self.new_facts += result.new_facts


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- writing

FILING_TYPES = {
    "filing_id": pa.string(), "source": pa.string(), "source_file": pa.string(),
    "record_index": pa.int32(), "symbol": pa.string(), "cik": pa.string(),
    "company_name": pa.string(), "period_end": pa.date32(), "fiscal_year": pa.int32(),
    "fiscal_period": pa.string(), "document_type": pa.string(), "is_amendment": pa.bool_(),
    "currency": pa.string(), "filed_date": pa.date32(), "accession": pa.string(),
    "period_start": pa.date32(), "fact_count": pa.int32(), "load_id": pa.int64(),
    "last_seen_load_id": pa.int64(), "sic": pa.string(),
}
FILING_COLUMNS = tuple(FILING_TYPES)
FACT_COLUMNS = ("filing_id", "concept", "value_number", "value_text", "unit", "period_start",
                "period_end", "qtrs", "coreg", "segments", "taxonomy_version")
FACT_OPTIONAL = {"unit": pa.string(), "period_start": pa.date32(), "period_end": pa.date32(),
                 "qtrs": pa.int32(), "coreg": pa.string(), "segments": pa.string(),
                 "taxonomy_version": pa.string()}  # NULL where a reader has no such column
LOG_TYPES = {
    "load_id": pa.int64(), "source_file": pa.string(), "sha256": pa.string(),
    "status": pa.string(), "filings": pa.int64(), "facts": pa.int64(), "rejects": pa.int64(),
    "started_at": pa.timestamp("us"), "finished_at": pa.timestamp("us"),
    "records": pa.int64(), "keys": pa.int64(), "new_filings": pa.int64(),
    "new_facts": pa.int64(),
}
LOG_COLUMNS = tuple(LOG_TYPES)
REJECT_TYPES = {
    "load_id": pa.int64(), "source_file": pa.string(), "record_index": pa.int32(),
    "concept": pa.string(), "reason": pa.string(), "payload": pa.string(),
    "kind": pa.string(),
}
REJECT_COLUMNS = tuple(REJECT_TYPES)


@dataclass(slots=True)
class PendingFile:
    """One file on its way to the warehouse (parsed, or skipped)."""

    result: FileResult
    parsed: ParsedFile | None
    ids: list[str] = field(default_factory=list)  # filing_id per parsed.filings
    new: list[int] = field(default_factory=list)  # positions of filings not yet in raw

    @property
    def new_facts(self) -> int:
        assert self.parsed is not None or not self.new
        return sum(self.parsed.filings[i].fact_count for i in self.new) if self.parsed else 0


def _sql_insert(table: str, columns: tuple[str, ...], view: str) -> str:
    names = ", ".join(columns)
    return f"insert into {table} ({names}) select {names} from {view}"  # noqa: S608


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...],
            data: pa.Table) -> None:
    """INSERT ... SELECT from an Arrow table registered for the statement."""
    view = "_load_" + table.split(".")[-1]
    con.register(view, data)
    try:
        con.execute(_sql_insert(table, columns, view))
    finally:
        con.unregister(view)


def _vendor_facts(items: list[tuple[PendingFile, list[int]]], fids: list[str]) -> pa.Table | None:
    """Facts of the chosen filings of files read with an Arrow facts table."""
    pieces: list[pa.Table] = []
    run_ends: list[int] = []  # filing_id runs: one per filing with facts
    run_ids: list[str] = []
    for f, positions in items:
        parsed = f.parsed
        assert parsed is not None and parsed.facts_table is not None
        counts = [g.fact_count for g in parsed.filings]
        if len(positions) == len(counts):
            pieces.append(parsed.facts_table)
        else:
            offsets = [0]
            for c in counts:
                offsets.append(offsets[-1] + c)
            pieces.extend(parsed.facts_table.slice(offsets[i], counts[i]) for i in positions)
        for i in positions:
            fids.append(f.ids[i])
            if counts[i]:
                run_ends.append((run_ends[-1] if run_ends else 0) + counts[i])
                run_ids.append(f.ids[i])
    if not pieces:
        return None
    table = pa.concat_tables(pieces)
    n = table.num_rows
    # Plain string columns, expanded by Arrow (C++): DuckDB appends them faster than
    # dictionary-encoded ones, and no per-fact Python list is built.
    filing_ids = pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(
        pa.array(run_ends, pa.int32()), pa.array(run_ids, pa.string())))
    concept = table.column("concept")
    if pa.types.is_dictionary(concept.type):
        concept = pc.cast(concept, pa.string())
    numbers = table.column("value_number")
    if not pa.types.is_decimal(numbers.type):  # canonical texts (finish(cast=False))
        try:
            numbers = decimal_column(numbers)
        except (ValueError, ArithmeticError) as exc:  # never expected: texts are exact
            raise pa.ArrowInvalid(f"value_number cast failed: {exc}") from exc
    return pa.table({
        "filing_id": filing_ids,
        "concept": concept,
        "value_number": numbers,
        "value_text": table.column("value_text"),
        **{c: table.column(c) if c in table.column_names else pa.nulls(n, t)
           for c, t in FACT_OPTIONAL.items()},
    })


def _list_facts(items: list[tuple[PendingFile, list[int]]]) -> pa.Table | None:
    """Facts of the chosen filings of files read into Python lists (SEC)."""
    cols: dict[str, list[Any]] = {c: [] for c in FACT_COLUMNS[:7]}
    numbers: list[Any] = []
    for f, positions in items:
        assert f.parsed is not None
        for i in positions:
            g = f.parsed.filings[i]
            cols["filing_id"].extend(repeat(f.ids[i], g.fact_count))
            cols["concept"].extend(g.concepts)
            cols["value_text"].extend(g.value_texts)
            numbers.extend(g.value_numbers or repeat(None, g.fact_count))
            for column, values in (("unit", g.units), ("period_start", g.fact_starts),
                                   ("period_end", g.fact_ends)):
                cols[column].extend(values or repeat(None, g.fact_count))
    if not cols["filing_id"]:
        return None
    return facts_from_lists(cols, numbers)


LIST_TYPES = {"filing_id": pa.string(), "concept": pa.string(), "value_text": pa.string(),
              "unit": pa.string(), "period_start": pa.date32(), "period_end": pa.date32()}


def facts_from_lists(cols: dict[str, list[Any]], numbers: list[Any]) -> pa.Table:
    """The facts table from Python column lists (filing_id optional: the parse workers
    build it without), value_number as exact DECIMAL (through the text form when a
    value does not fit the type directly), the data-set reader's columns NULL: one
    schema for every reader, so the writer concatenates their tables."""
    try:
        value_numbers = pa.array(numbers, DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        value_numbers = decimal_column(pa.array(
            [None if d is None else V.number_text(d) for d in numbers], pa.string()))
    columns = {name: value_numbers if name == "value_number"
               else pa.array(cols[name], LIST_TYPES[name])
               for name in FACT_COLUMNS[:7] if name in cols or name == "value_number"}
    return pa.table({**columns, **{c: pa.nulls(len(numbers), t)
                                   for c, t in FACT_OPTIONAL.items() if c not in columns}})


def insert_filings(con: duckdb.DuckDBPyConnection, items: list[tuple[PendingFile, list[int]]]
                   ) -> None:
    """raw.filings and raw.facts rows of the given filings (Arrow, one INSERT per table)."""
    rows: dict[str, list[Any]] = {c: [] for c in FILING_COLUMNS}
    for f, positions in items:
        for i in positions:
            assert f.parsed is not None
            g = f.parsed.filings[i]
            for column, value in (
                ("filing_id", f.ids[i]), ("source", g.source),
                ("source_file", f.result.source_file), ("record_index", g.record_index),
                ("symbol", g.symbol), ("cik", g.cik), ("company_name", g.company_name),
                ("period_end", g.period_end), ("fiscal_year", g.fiscal_year),
                ("fiscal_period", g.fiscal_period), ("document_type", g.document_type),
                ("is_amendment", g.is_amendment), ("currency", g.currency),
                ("filed_date", g.filed_date), ("accession", g.accession),
                ("period_start", g.period_start), ("fact_count", g.fact_count),
                ("load_id", f.result.load_id), ("last_seen_load_id", f.result.load_id),
                ("sic", g.sic),
            ):
                rows[column].append(value)
    if not rows["filing_id"]:
        return
    _insert(con, "raw.filings", FILING_COLUMNS,
            pa.table({c: pa.array(v, FILING_TYPES[c]) for c, v in rows.items()}))
    arrow_items = [(f, p) for f, p in items if p and f.parsed and f.parsed.facts_table is not None]
    list_items = [(f, p) for f, p in items if p and f.parsed and f.parsed.facts_table is None]
    # Arrow facts with their own unit/period columns (FSDS) are not concatenated with the
    # vendor's three-column tables
    own = ["unit" in f.parsed.facts_table.column_names  # type: ignore[union-attr]
           for f, _ in arrow_items]
    full = [item for item, o in zip(arrow_items, own, strict=True) if o]
    arrow_items = [item for item, o in zip(arrow_items, own, strict=True) if not o]
    for facts in (_vendor_facts(arrow_items, []), _vendor_facts(full, []),
                  _list_facts(list_items)):
        if facts is not None and facts.num_rows:
            # One chunk per column: DuckDB's Arrow scan takes the GIL for each chunk it
            # reads, and while the main thread parses (holding the GIL) each take waits
            # for a switch interval (5 ms); a batch of per-file slices has hundreds.
            _insert(con, "raw.facts", FACT_COLUMNS, facts.combine_chunks())


def mark_seen_again(con: duckdb.DuckDBPyConnection, batch: list[PendingFile]) -> None:
    """raw.filings.last_seen_load_id of the versions a batch presents that were already
    there (or were added by an earlier file of the batch): the contract's precedence
    follows the last load that presented a content, so a file reverted to earlier
    content wins over the version it replaced. `load_id` stays the first load."""
    seen: dict[str, int] = {}
    for f in batch:
        new = set(f.new)
        for i, fid in enumerate(f.ids):
            if i not in new:
                seen[fid] = f.result.load_id
    if not seen:
        return
    view = "_load_seen_again"
    con.register(view, pa.table({"filing_id": pa.array(list(seen), pa.string()),
                                 "load_id": pa.array(list(seen.values()), pa.int64())}))
    try:
        con.execute(f"update raw.filings set last_seen_load_id = s.load_id "  # noqa: S608
                    f"from {view} s where raw.filings.filing_id = s.filing_id")
    finally:
        con.unregister(view)


def _reject_kind(r: RejectRecord) -> str:
    if r.is_filing:
        return "filing"
    if r.is_warning:
        return "warning"
    if r.record_index is None and r.concept is None:
        return "file"
    return "value"


def insert_rejects(con: duckdb.DuckDBPyConnection, files: list[PendingFile]) -> None:
    rows: dict[str, list[Any]] = {c: [] for c in REJECT_COLUMNS}
    for f in files:
        for r in (f.parsed.rejects if f.parsed else ()):
            for column, value in (
                ("load_id", f.result.load_id), ("source_file", f.result.source_file),
                ("record_index", r.record_index), ("concept", r.concept),
                ("reason", r.reason), ("payload", r.payload), ("kind", _reject_kind(r)),
            ):
                rows[column].append(value)
    if rows["load_id"]:
        _insert(con, "raw.rejects", REJECT_COLUMNS,
                pa.table({c: pa.array(v, REJECT_TYPES[c]) for c, v in rows.items()}))


def insert_log(con: duckdb.DuckDBPyConnection, files: list[PendingFile]) -> None:
    _insert(con, "raw.load_log", LOG_COLUMNS, pa.table(
        {c: pa.array([getattr(f.result, c) for f in files], LOG_TYPES[c]) for c in LOG_COLUMNS}))


class Writer:
    """Owns the connection after setup: dedupes filings against raw.filings, writes
    batches in one transaction each, retries a failed batch file by file."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.known: set[str] = {
            r[0] for r in con.execute("select filing_id from raw.filings").fetchall()}
        self.summary = LoadSummary()
        self.failures: list[str] = []

    def write(self, batch: list[PendingFile]) -> None:
        clock = time.perf_counter()
        cpu = time.thread_time()
        try:
            self._write(batch)
        finally:
            tick(self.summary.timings, "write", clock)
            tick(self.summary.timings, "write_cpu", cpu, time.thread_time)

    def _write(self, batch: list[PendingFile]) -> None:
        try:
            self._transaction(batch)
        except (duckdb.Error, OSError, pa.ArrowException) as exc:
            self._rollback()
            if len(batch) == 1:
                self._failed(batch[0], exc)
                return
            log.warning("a batch of %d files failed (%s); retrying one by one", len(batch), exc)
            for f in batch:
                try:
                    self._transaction([f])
                except (duckdb.Error, OSError, pa.ArrowException) as one:
                    self._rollback()
                    self._failed(f, one)

    def _transaction(self, batch: list[PendingFile]) -> None:
        """Every file of the batch lands, or none (raises; the caller rolls back)."""
        claimed: set[str] = set()
        for f in batch:  # which filings are new: decided here, in commit order
            f.new = []
            for i, fid in enumerate(f.ids):
                if fid not in self.known and fid not in claimed:
                    claimed.add(fid)
                    f.new.append(i)
            f.result.new_filings = len(f.new)
            f.result.new_facts = f.new_facts
        con = self.con
        con.execute("begin transaction")
        insert_filings(con, [(f, f.new) for f in batch])
        mark_seen_again(con, batch)
        insert_rejects(con, batch)
        insert_log(con, batch)
        con.execute("commit")
        self.known |= claimed
        for f in batch:
            self.summary.add(f.result)

    def _rollback(self) -> None:
        try:
            self.con.execute("rollback")
        except duckdb.Error:
            pass

    def _failed(self, f: PendingFile, exc: BaseException) -> None:
        self.failures.append(f"{f.result.source_file}: {type(exc).__name__}: {exc}")


def tick(timings: dict[str, float], key: str, since: float,
          clock: Callable[[], float] = time.perf_counter) -> None:
    timings[key] = timings.get(key, 0.0) + clock() - since


def open_warehouse(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Connect for writing, turning the usual environment failures into clear messages."""
    try:
        return warehouse.connect(db_path)
    except duckdb.Error as exc:
        text = str(exc)
        if "Could not set lock" in text or "Conflicting lock" in text:
            from pipeline.lock import locked_message

            raise LoadError(locked_message(db_path, exc)) from exc
        raise LoadError(f"cannot open the warehouse {str(db_path)!r} for writing ({text}); "
                        "check that its folder is writable, or set WAREHOUSE_DB to a "
                        "writable path") from exc
    except OSError as exc:
        raise LoadError(f"cannot create the warehouse {str(db_path)!r} "
                        f"({exc.strerror or exc}); check that its folder is writable, or set "
                        "WAREHOUSE_DB to a writable path") from exc


# Loader-session settings. Row order inside raw tables means nothing (every reader
# sorts), and without it DuckDB inserts in parallel: about 2x faster appends.
SESSION_SETTINGS = ("set preserve_insertion_order = false",
                    "set enable_progress_bar = false")
# DuckDB threads while loading. The main thread parses on one core while the writer
# inserts on another: one DuckDB thread per insert costs ~35% less CPU than two (no
# partial row groups to compress twice and merge at checkpoint) and leaves the parser
# its core. Restored to the connection's setting before the connection is closed (a
# DuckDB instance is shared by connections to the same file in one process).
LOADER_THREADS = int(os.environ.get("LOADER_THREADS") or 1)


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """The raw schema plus columns added after a warehouse was created."""
    for setting in SESSION_SETTINGS:
        con.execute(setting)
    warehouse.ensure_raw_schema(con)
    present = set(con.execute("select schema_name || '.' || table_name || '.' || column_name "
                              "from duckdb_columns() where schema_name = 'raw'").fetchall())
    for table, column, kind, backfill in EXTRA_COLUMNS:
        if (f"{table}.{column}",) in present:
            continue
        con.execute(f"alter table {table} add column {column} {kind}")
        if backfill is not None:
            con.execute(f"update {table} set {column} = {backfill}")  # noqa: S608
