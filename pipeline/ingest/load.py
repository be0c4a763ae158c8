"""Load every `$SEEDS_DIR/*.json` into raw.filings / raw.facts / raw.load_log / raw.rejects.

Guarantees (the contract's raw schema):

* Each file is atomic. Files are written in batches, one transaction per batch (one
  insert and commit per small file would cost more than parsing it); when a batch fails
  it is rolled back and its files are retried one by one, so one bad file never takes
  others with it. A killed process leaves no row of the file it was writing.
* Unchanged files are skipped by SHA-256 (`skipped_unchanged`). Filing ids are
  content-addressed: a filing already in raw.filings is not written again, so editing one
  value of one filing adds exactly one new version (raw is append-only history).
* Bad input never stops good input: a file that cannot be read is one reject row and a
  `rejected` load_log row; readers reject single records and values with reasons.
* Conservation is recorded per file (`records`, `keys` in raw.load_log, `kind` in
  raw.rejects) so the raw asset checks can verify it with queries.

Parsing: orjson first; when it refuses the file (NaN, huge numbers, ...) or could hide
something (duplicate keys, digits beyond a double), the stdlib tolerant parser in
`values.loads_tolerant` reads it exactly, so one bad value costs one reject row.

Speed: the main thread reads and parses (Python, holds the GIL) while a writer thread
inserts the previous batch (Arrow -> DuckDB, which releases the GIL), so on two cores
parsing and writing overlap. The queue between them is short: memory stays bounded.
What keeps the two threads from slowing each other down: DuckDB runs one thread while
loading (the parser has the other core); the writer does the bulk Arrow work that needs
no GIL (the decimal cast, filing_id expansion, dictionary decoding) and hands DuckDB
one-chunk columns, because DuckDB's Arrow scan takes the GIL once per chunk and each
take waits up to a switch interval while the parser runs.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import values as V
from pipeline.ingest.model import FilingRecord, ParsedFile, RejectRecord
from pipeline.ingest.vendor import DECIMAL, decimal_column, finish, read_vendor, where
from pipeline.warehouse import connect, ensure_raw_schema

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
# A batch (one transaction) closes at this many facts or files; bounds memory.
BATCH_FACTS = int(os.environ.get("LOADER_BATCH_FACTS") or 500_000)
BATCH_FILES = 2_000
QUEUE_BATCHES = 2  # parsed batches waiting for the writer
PAUSE_ENV = "LOADER_PAUSE_AFTER_FILINGS"  # test hook: deterministic kill point
PAUSED_MARKER = "LOADER PAUSED"
FILE_PAYLOAD_LIMIT = 2_000
NOT_JUDGED = -1  # ParsedFile.records of a file whose reader was unavailable
# orjson writes at most 255 levels and Python recurses ~1000 deep: deeper is refused whole
TOO_DEEP = "JSON nested too deeply to read (more than 255 levels)"

# Columns added to the contract's raw tables (see pipeline/warehouse.py RAW_DDL); older
# warehouses get them on first load.
EXTRA_COLUMNS = (
    ("raw.load_log", "records", "bigint"),
    ("raw.load_log", "keys", "bigint"),
    ("raw.load_log", "new_filings", "bigint"),
    ("raw.load_log", "new_facts", "bigint"),
    ("raw.rejects", "kind", "varchar"),
    # SEC Financial Statement Data Sets attributes (pipeline/ingest/fsds.py)
    ("raw.facts", "qtrs", "integer"),
    ("raw.facts", "coreg", "varchar"),
    ("raw.facts", "segments", "varchar"),
    ("raw.facts", "taxonomy_version", "varchar"),
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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- reading

def file_reject(source_file: str, why: str, data: bytes | None = None) -> ParsedFile:
    """A whole-file problem: one reject row, nothing else."""
    payload = None
    if data is not None:
        payload = data[:FILE_PAYLOAD_LIMIT].decode("utf-8", errors="replace")
    return ParsedFile(source_file=source_file, records=0, keys=0, rejects=[
        RejectRecord(None, None, f"{where(source_file)}: {why}", payload)])


def _is_sec(doc: Any) -> bool:
    return isinstance(doc, dict) and "facts" in doc and "cik" in doc


def _sec(doc: dict[str, Any], source_file: str, data: bytes) -> ParsedFile:
    try:
        from pipeline.ingest.sec import parse_company_facts
    except ImportError as exc:
        parsed = file_reject(source_file, "SEC company-facts file, but the SEC reader "
                             f"(pipeline.ingest.sec) is not available: {exc}", data)
        parsed.records = NOT_JUDGED  # no sha in load_log: retried on the next run
        return parsed
    return parse_company_facts(doc, source_file)


def _top_level_reject(doc: Any, source_file: str, data: bytes) -> ParsedFile:
    kind = {str: "a string", int: "a number", float: "a number", bool: "a boolean",
            V.JsonNumber: "a number"}.get(type(doc), "null" if doc is None else type(doc).__name__)
    return file_reject(source_file, f"top level is {kind}, expected an array of filings or "
                       "an object", data)


def parse_bytes(data: bytes, source_file: str) -> ParsedFile:
    """Decode and read one input file. Never raises for bad input: rejects instead.

    orjson first. A vendor file comes back unfinished (see `vendor.finish`, which
    classifies many files at once and checks that orjson hid nothing: no float that
    lost digits, no duplicate key); `reparse_exact` re-reads it with the tolerant parser
    when it did. `read_one` is parse + finish for a single file.
    """
    body = data[len(BOM):] if data.startswith(BOM) else data
    if not body.strip():
        return file_reject(source_file, "empty file", data)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _parse_exact(body, source_file, data)
    if _is_sec(doc):
        if _sec_trusted(body, doc):
            return _sec(doc, source_file, data)
        del doc
        return _parse_exact(body, source_file, data)
    if type(doc) is not list and type(doc) is not dict:
        return _top_level_reject(doc, source_file, data)
    try:
        parsed, _ = read_vendor(doc, source_file)
    except (orjson.JSONEncodeError, RecursionError):
        return file_reject(source_file, TOO_DEEP, data)
    if parsed.unfinished is not None:
        parsed.unfinished.body_colons = body.count(b":")
        parsed.unfinished.data = body
    return parsed


# A JSON number (not a string: after ':', '[' or ',') of 17 or more characters may hold
# more digits than orjson's binary double keeps.
_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?[0-9][0-9.eE+-]{16,}")


def _sec_trusted(body: bytes, doc: Any) -> bool:
    """orjson's reading of a company-facts file hides nothing: as many ':' as the bytes
    (a duplicate key orjson dropped would leave fewer) and no over-long number."""
    try:
        colons = orjson.dumps(doc).count(b":")
    except orjson.JSONEncodeError:
        return False
    return colons == body.count(b":") and _LONG_NUMBER.search(body) is None


def _parse_exact(body: bytes, source_file: str, data: bytes) -> ParsedFile:
    """The tolerant, exact reading (stdlib json; see values.loads_tolerant)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return file_reject(source_file, f"not UTF-8 ({exc})", data)
    try:
        tolerant = V.loads_tolerant(text)
    except RecursionError:
        return file_reject(source_file, TOO_DEEP, data)
    except ValueError as exc:
        return file_reject(source_file, f"not valid JSON ({exc})", data)
    del text
    if _is_sec(tolerant):  # as parsed: the SEC reader handles JsonNumber and DupDict.dups
        return _sec(tolerant, source_file, data)
    if not isinstance(tolerant, list | dict):
        return _top_level_reject(tolerant, source_file, data)
    try:
        return read_vendor(tolerant, source_file, exact=True)[0]
    except (orjson.JSONEncodeError, RecursionError):
        return file_reject(source_file, TOO_DEEP, data)


def reparse_exact(parsed: ParsedFile) -> None:
    """`vendor.finish` callback: replace orjson's reading of a file with the exact one."""
    unfinished = parsed.unfinished
    assert unfinished is not None and unfinished.data is not None
    try:
        exact = _parse_exact(unfinished.data, parsed.source_file, unfinished.data)
    except Exception as exc:  # noqa: BLE001 - the file boundary: never raise past it
        log.exception("reader failed on %s", parsed.source_file)
        exact = file_reject(parsed.source_file, f"internal reader error "
                            f"({type(exc).__name__}: {exc})", unfinished.data)
    for name in ("records", "keys", "filings", "rejects", "facts_table", "unfinished"):
        setattr(parsed, name, getattr(exact, name))


def finish_files(files: list[ParsedFile], *, cast: bool = True) -> None:
    """`vendor.finish` behind the file boundary: should it fail, each file is finished
    alone, and a file that still fails is rejected whole. `cast=False`: see `vendor.finish`."""
    try:
        finish(files, reparse_exact, cast=cast)
    except Exception:  # noqa: BLE001 - the file boundary: never raise past it
        for parsed in files:
            if parsed.unfinished is None:
                continue
            try:
                finish([parsed], reparse_exact, cast=cast)
            except Exception as exc:  # noqa: BLE001
                log.exception("reader failed on %s", parsed.source_file)
                unfinished = parsed.unfinished
                rejected = file_reject(parsed.source_file, "internal reader error "
                                       f"({type(exc).__name__}: {exc})",
                                       unfinished.data if unfinished else None)
                for name in ("records", "keys", "filings", "rejects", "facts_table",
                             "unfinished"):
                    setattr(parsed, name, getattr(rejected, name))


def safe_parse(data: bytes, source_file: str) -> ParsedFile:
    """`parse_bytes` behind the file boundary: a reader bug rejects the file, never the run."""
    try:
        if source_file.endswith(".zip"):  # a quarterly SEC data-set zip
            from pipeline.ingest.fsds import parse_fsds

            return parse_fsds(data, source_file)
        return parse_bytes(data, source_file)
    except Exception as exc:  # noqa: BLE001 - the file boundary: never raise past it
        log.exception("reader failed on %s", source_file)
        return file_reject(source_file, f"internal reader error ({type(exc).__name__}: "
                           f"{exc})", data)


def read_one(data: bytes, source_file: str) -> ParsedFile:
    """Parse and finish one file (what the loader does, one file at a time)."""
    parsed = safe_parse(data, source_file)
    finish_files([parsed])
    return parsed


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_input_files(seeds_dir: Path) -> list[Path]:
    """`*.json` and `*.zip` (SEC data-set quarters, bulk companyfacts.zip) directly in
    SEEDS_DIR, sorted by path (the contract's read order).

    Only regular files whose real location is inside SEEDS_DIR: a symlink pointing
    elsewhere is not followed (it is reported as a rejected file).
    """
    if not seeds_dir.exists():
        raise LoadError(f"SEEDS_DIR {str(seeds_dir)!r} does not exist: set SEEDS_DIR to the "
                        "folder holding the input *.json files (default: seeds/)")
    if not seeds_dir.is_dir():
        raise LoadError(f"SEEDS_DIR {str(seeds_dir)!r} is not a directory: set SEEDS_DIR to "
                        "the folder holding the input *.json files")
    return sorted(p for p in seeds_dir.iterdir() if p.name.endswith((".json", ".zip")))


def _outside(path: Path, root: Path) -> str | None:
    """Why `path` must not be read (symlink out of SEEDS_DIR, not a file), else None."""
    try:
        real = path.resolve(strict=True)
    except OSError as exc:
        return f"cannot resolve the path ({exc.strerror or exc})"
    if not real.is_relative_to(root):
        return "a link to a file outside SEEDS_DIR; not read"
    if not real.is_file():
        return "not a regular file"
    return None


# --------------------------------------------------------------------------- hashing

def filing_id(f: FilingRecord) -> str:
    """Content address of a filing version: identity + sorted facts (32 hex chars)."""
    if f.content_digest is not None:
        return f.content_digest[:32]
    identity = orjson.dumps([f.source, f.symbol if f.symbol is not None else f.cik,
                             f.accession, f.period_end, f.fiscal_year, f.fiscal_period,
                             f.document_type])
    numbers = [None if d is None else V.number_text(d) for d in f.value_numbers]
    facts = sorted(zip(f.concepts, f.units, f.fact_starts, f.fact_ends, f.value_texts, numbers,
                       strict=True), key=lambda t: tuple("" if x is None else str(x) for x in t))
    return hashlib.sha256(identity + orjson.dumps(facts)).hexdigest()[:32]


# --------------------------------------------------------------------------- writing

FILING_TYPES = {
    "filing_id": pa.string(), "source": pa.string(), "source_file": pa.string(),
    "record_index": pa.int32(), "symbol": pa.string(), "cik": pa.string(),
    "company_name": pa.string(), "period_end": pa.date32(), "fiscal_year": pa.int32(),
    "fiscal_period": pa.string(), "document_type": pa.string(), "is_amendment": pa.bool_(),
    "currency": pa.string(), "filed_date": pa.date32(), "accession": pa.string(),
    "period_start": pa.date32(), "fact_count": pa.int32(), "load_id": pa.int64(),
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
class _File:
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


def _vendor_facts(items: list[tuple[_File, list[int]]], fids: list[str]) -> pa.Table | None:
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


def _list_facts(items: list[tuple[_File, list[int]]]) -> pa.Table | None:
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
    try:
        value_numbers = pa.array(numbers, DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        value_numbers = decimal_column(pa.array(
            [None if d is None else V.number_text(d) for d in numbers], pa.string()))
    return pa.table({
        "filing_id": pa.array(cols["filing_id"], pa.string()),
        "concept": pa.array(cols["concept"], pa.string()),
        "value_number": value_numbers,
        "value_text": pa.array(cols["value_text"], pa.string()),
        "unit": pa.array(cols["unit"], pa.string()),
        "period_start": pa.array(cols["period_start"], pa.date32()),
        "period_end": pa.array(cols["period_end"], pa.date32()),
        **{c: pa.nulls(len(cols["filing_id"]), t) for c, t in FACT_OPTIONAL.items()
           if c not in cols},
    })


def insert_filings(con: duckdb.DuckDBPyConnection, items: list[tuple[_File, list[int]]]
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
                ("load_id", f.result.load_id),
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
    own = ["unit" in f.parsed.facts_table.column_names for f, _ in arrow_items]  # type: ignore[union-attr]
    full = [item for item, o in zip(arrow_items, own, strict=True) if o]
    arrow_items = [item for item, o in zip(arrow_items, own, strict=True) if not o]
    for facts in (_vendor_facts(arrow_items, []), _vendor_facts(full, []),
                  _list_facts(list_items)):
        if facts is not None and facts.num_rows:
            # One chunk per column: DuckDB's Arrow scan takes the GIL for each chunk it
            # reads, and while the main thread parses (holding the GIL) each take waits
            # for a switch interval (5 ms); a batch of per-file slices has hundreds.
            _insert(con, "raw.facts", FACT_COLUMNS, facts.combine_chunks())


def _reject_kind(r: RejectRecord) -> str:
    if r.is_filing:
        return "filing"
    if r.record_index is None and r.concept is None:
        return "file"
    return "value"


def insert_rejects(con: duckdb.DuckDBPyConnection, files: list[_File]) -> None:
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


def insert_log(con: duckdb.DuckDBPyConnection, files: list[_File]) -> None:
    _insert(con, "raw.load_log", LOG_COLUMNS, pa.table(
        {c: pa.array([getattr(f.result, c) for f in files], LOG_TYPES[c]) for c in LOG_COLUMNS}))


class _Writer:
    """Owns the connection after setup: dedupes filings against raw.filings, writes
    batches in one transaction each, retries a failed batch file by file."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.known: set[str] = {
            r[0] for r in con.execute("select filing_id from raw.filings").fetchall()}
        self.summary = LoadSummary()
        self.failures: list[str] = []
        pause = os.environ.get(PAUSE_ENV)
        self.pause_after = int(pause) if pause else None

    def write(self, batch: list[_File]) -> None:
        clock = time.perf_counter()
        cpu = time.thread_time()
        try:
            self._write(batch)
        finally:
            _tick(self.summary.timings, "write", clock)
            _tick(self.summary.timings, "write_cpu", cpu, time.thread_time)

    def _write(self, batch: list[_File]) -> None:
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

    def _transaction(self, batch: list[_File]) -> None:
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
        if self.pause_after is None:
            insert_filings(con, [(f, f.new) for f in batch])
        else:
            for f in batch:
                self._paused(f)
        insert_rejects(con, batch)
        insert_log(con, batch)
        con.execute("commit")
        self.known |= claimed
        for f in batch:
            self.summary.add(f.result)

    def _paused(self, f: _File) -> None:
        """Test hook (LOADER_PAUSE_AFTER_FILINGS=N): write one filing at a time and, in
        the first file with more than N new filings, stop (sleep) after its N-th, inside
        the transaction, so a test can SIGKILL the process there."""
        for n, i in enumerate(f.new, start=1):
            insert_filings(self.con, [(f, [i])])
            if n == self.pause_after and len(f.new) > n:
                print(f"{PAUSED_MARKER} {f.result.source_file} after {n} filings", flush=True)
                time.sleep(3600)

    def _rollback(self) -> None:
        try:
            self.con.execute("rollback")
        except duckdb.Error:
            pass

    def _failed(self, f: _File, exc: BaseException) -> None:
        self.failures.append(f"{f.result.source_file}: {type(exc).__name__}: {exc}")


class _Pipeline:
    """Main thread: read, hash, parse, batch. Writer thread: `_Writer.write` per batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> None:
        self.root = seeds_dir.resolve()
        self.last_sha: dict[str, str | None] = dict(con.execute(
            "select source_file, arg_max(sha256, load_id) from raw.load_log "
            "group by source_file").fetchall())
        self.next_load_id = int(con.execute(
            "select coalesce(max(load_id), 0) + 1 from raw.load_log").fetchone()[0])
        self.writer = _Writer(con)
        self.queue: queue.Queue[list[_File] | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="raw-writer", daemon=True)
        self.batch: list[_File | tuple[ParsedFile, int, str | None, datetime]] = []
        self.batch_facts = 0
        self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self.timings: dict[str, float] = {}
        self.extra_files = 0  # members of bulk zips read as input files, minus the zips

    def _drain(self) -> None:
        try:
            while (batch := self.queue.get()) is not None:
                self.writer.write(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            while self.queue.get() is not None:  # unblock the producer
                pass

    def run(self, files: list[Path]) -> LoadSummary:
        cpu = time.thread_time()
        self.thread.start()
        try:
            for path in files:
                self.add(path, path.name)
                if self.error is not None:
                    break
            self._flush()
            _tick(self.timings, "read_cpu", cpu, time.thread_time)
        finally:
            self.queue.put(None)
            self.thread.join()
            self.hasher.shutdown()
        if self.error is not None:
            raise self.error
        summary = self.writer.summary
        summary.files_seen = len(files) + self.extra_files
        summary.timings.update(self.timings)
        summary.timings["parse"] = summary.timings.get("parse", 0.0)
        return summary

    def add(self, path: Path, source_file: str) -> None:
        why = _outside(path, self.root)
        if why is None and source_file.endswith(".zip"):
            from pipeline.ingest import bulk

            if bulk.is_bulk(path):  # companyfacts.zip: every member is one input file
                self.extra_files -= 1  # the zip is not an input file; its members are
                for name, member, problem in bulk.members(path):
                    self.extra_files += 1
                    self.add_data(member, f"{source_file}/{name}", problem)
                return
        data: bytes | None = None
        if why is None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                why = f"cannot read the file ({exc.strerror or exc})"
        self.add_data(data, source_file, why)

    def add_data(self, data: bytes | None, source_file: str, why: str | None) -> None:
        """One input file's bytes (or why there are none): skip, parse, queue."""
        started = _now()
        load_id = self.next_load_id
        self.next_load_id += 1
        if data is None:
            parsed = file_reject(source_file, why or "unreadable")
            parsed.records = NOT_JUDGED
            self._queue((parsed, load_id, None, started))
            return
        previous = self.last_sha.get(source_file)
        sha: str | Future[str]
        if previous is not None:
            sha = sha256_hex(data)
            if sha == previous:
                self._queue(_File(FileResult(source_file, load_id, sha, "skipped_unchanged",
                                             started_at=started, finished_at=_now()), None))
                return
        else:  # never loaded: hash while parsing (hashlib releases the GIL)
            sha = self.hasher.submit(sha256_hex, data)
        clock = time.perf_counter()
        parsed = safe_parse(data, source_file)
        _tick(self.timings, "parse", clock)
        del data
        digest = sha if isinstance(sha, str) else sha.result()
        self._queue((parsed, load_id, digest, started))

    def _file(self, parsed: ParsedFile, load_id: int, sha: str | None, started: datetime
              ) -> _File:
        judged = parsed.records != NOT_JUDGED
        if not judged:
            parsed.records = 0
        whole_file = any(r.record_index is None and r.concept is None and not r.is_filing
                         for r in parsed.rejects)
        status = "rejected" if whole_file and not parsed.filings else "loaded"
        result = FileResult(
            parsed.source_file, load_id, sha if judged else None, status,
            filings=len(parsed.filings), facts=sum(f.fact_count for f in parsed.filings),
            rejects=len(parsed.rejects), records=parsed.records, keys=parsed.keys,
            started_at=started, finished_at=_now())
        return _File(result, parsed, [filing_id(f) for f in parsed.filings])

    def _queue(self, item: _File | tuple[ParsedFile, int, str | None, datetime]) -> None:
        self.batch.append(item)
        if isinstance(item, tuple):
            parsed = item[0]
            unfinished = parsed.unfinished
            self.batch_facts += (len(unfinished.builder.concepts) if unfinished is not None
                                 else sum(f.fact_count for f in parsed.filings))
        if self.batch_facts >= BATCH_FACTS or len(self.batch) >= BATCH_FILES:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            clock = time.perf_counter()
            finish_files([item[0] for item in self.batch if isinstance(item, tuple)],
                         cast=False)  # value_number cast by the writer (_vendor_facts)
            files = [item if isinstance(item, _File) else self._file(*item)
                     for item in self.batch]
            _tick(self.timings, "parse", clock)
            clock = time.perf_counter()
            self.queue.put(files)
            _tick(self.timings, "wait", clock)
        self.batch = []
        self.batch_facts = 0


def _tick(timings: dict[str, float], key: str, since: float,
          clock: Callable[[], float] = time.perf_counter) -> None:
    timings[key] = timings.get(key, 0.0) + clock() - since


# --------------------------------------------------------------------------- entry point

def open_warehouse(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Connect for writing, turning the usual environment failures into clear messages."""
    try:
        return connect(db_path)
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
    ensure_raw_schema(con)
    for table, column, kind in EXTRA_COLUMNS:
        con.execute(f"alter table {table} add column if not exists {column} {kind}")


def load_seeds(seeds_dir: Path, db_path: Path) -> LoadSummary:
    """Load every `*.json` directly in `seeds_dir` (sorted path order) into `db_path`.

    Opens and closes its own connection. Raises LoadError with a message naming the cause
    when the folder or the warehouse cannot be used, or when files could not be written
    (those files leave no rows; every other file is loaded).
    """
    seeds_dir = Path(seeds_dir)
    db_path = Path(db_path)
    clock = time.perf_counter()
    files = list_input_files(seeds_dir)
    con = open_warehouse(db_path)
    # Millions of short-lived containers (parsed JSON) make the cyclic GC rescan the
    # heap again and again; nothing here builds reference cycles, so pause it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            migrate(con)
        except duckdb.Error as exc:
            raise LoadError(f"cannot write the raw schema to {str(db_path)!r}: {exc}") from exc
        threads = con.execute("select current_setting('threads')").fetchone()[0]
        con.execute(f"set threads = {LOADER_THREADS:d}")
        try:
            pipeline = _Pipeline(con, seeds_dir)
            summary = pipeline.run(files)
        finally:
            try:
                con.execute(f"set threads = {int(threads):d}")
            except duckdb.Error:  # a failed load's own error is the one to report
                pass
    finally:
        con.close()
        if collecting:
            gc.enable()
    summary.seconds = time.perf_counter() - clock
    failures = pipeline.writer.failures
    if failures:
        raise LoadError(
            f"{len(failures)} file(s) could not be written to {str(db_path)!r} and were "
            "left out whole (no partial rows; the other files are loaded; the next run "
            "retries them): " + "; ".join(failures[:5]))
    return summary
