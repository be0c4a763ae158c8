"""Load every `$SEEDS_DIR/*.json` into raw.filings / raw.facts / raw.load_log / raw.rejects.

The orchestration: list the folder, skip unchanged files by SHA-256
(`skipped_unchanged`), parse (`parse.py`), batch, and hand batches to the writer
(`write.py`, one transaction per batch). Calls go one way: load -> parse -> readers
(`vendor.py`, `sec.py`), load -> write; nothing calls back.

Bad input never stops good input: a file that cannot be read is one reject row and a
`rejected` load_log row; readers reject single records and values with reasons.

Speed: the main thread reads and parses (Python, holds the GIL) while a writer thread
inserts the previous batch (Arrow -> DuckDB, which releases the GIL), so on two cores
parsing and writing overlap. The queue between them is short: memory stays bounded.
DuckDB runs one thread while loading (`write.LOADER_THREADS`): the parser has the
other core. With `LOADER_WORKERS` > 1 and enough JSON input, parsing moves to worker
processes (`workers.py`), handed back in the in-process order; Arrow memory comes from
jemalloc while loading (`cores.arrow_memory_pool`).
"""

from __future__ import annotations

import gc
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.ingest import bulk, workers
from pipeline.ingest.cores import arrow_memory_pool
from pipeline.ingest.model import ParsedFile
from pipeline.ingest.parse import (
    NOT_JUDGED,
    file_reject,
    filing_id,
    finish_files,
    parse_bytes,
    read_one,
    safe_parse,
    sha256_hex,
)
from pipeline.ingest.write import (
    LOADER_THREADS,
    FileResult,
    LoadError,
    LoadSummary,
    PendingFile,
    Writer,
    migrate,
    now,
    open_warehouse,
    tick,
)

# The public names of the loader, wherever they are defined.
__all__ = ["FileResult", "LoadError", "LoadSummary", "list_input_files", "load_seeds",
           "parse_bytes", "read_one"]

# A batch (one transaction) closes at this many facts or files; bounds memory.
BATCH_FACTS = int(os.environ.get("LOADER_BATCH_FACTS") or 500_000)
BATCH_FILES = 2_000
QUEUE_BATCHES = 2  # parsed batches waiting for the writer


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


class _Pipeline:
    """Main thread: read, hash, parse, batch. Writer thread: `Writer.write` per batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> None:
        self.root = seeds_dir.resolve()
        self.last_sha: dict[str, str | None] = dict(con.execute(
            "select source_file, arg_max(sha256, load_id) from raw.load_log "
            "group by source_file").fetchall())
        self.next_load_id = int(con.execute(
            "select coalesce(max(load_id), 0) + 1 from raw.load_log").fetchone()[0])
        self.writer = Writer(con)
        self.queue: queue.Queue[list[PendingFile] | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="raw-writer", daemon=True)
        self.batch: list[PendingFile | tuple[ParsedFile, int, str | None, datetime]] = []
        self.batch_facts = 0
        self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self.timings: dict[str, float] = {}
        self.extra_files = 0  # members of bulk zips read as input files, minus the zips
        self.pool: workers.OrderedPool | None = None

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
        count = workers.worker_count()
        if count > 1 and _parallel_bytes(files) >= workers.PARALLEL_MIN_BYTES:
            self.pool = workers.OrderedPool(count, self._parsed, self._queue)
        self.timings["workers"] = float(count if self.pool is not None else 1)
        self.thread.start()
        try:
            for path in files:
                self.add(path, path.name)
                if self.error is not None:
                    break
            if self.pool is not None:
                clock = time.perf_counter()
                self.pool.drain()
                tick(self.timings, "parse", clock)
            self._flush()
            tick(self.timings, "read_cpu", cpu, time.thread_time)
        finally:
            if self.pool is not None:
                self.pool.close()
                self.timings["worker_cpu"] = self.pool.worker_cpu
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
        if why is None and source_file.endswith(".zip") and bulk.is_bulk(path):
            # companyfacts.zip: every member is one input file
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
        started = now()
        load_id = self.next_load_id
        self.next_load_id += 1
        # with workers, everything goes through the pool's queue: the order (load ids,
        # batches, which file first presents a filing version) is the in-process order
        ready = self.pool.add_ready if self.pool is not None else self._queue
        if data is None:
            parsed = file_reject(source_file, why or "unreadable")
            parsed.records = NOT_JUDGED
            ready((parsed, load_id, None, started))
            return
        previous = self.last_sha.get(source_file)
        sha: str | Future[str]
        if previous is not None:
            sha = sha256_hex(data)
            if sha == previous:
                ready(PendingFile(FileResult(source_file, load_id, sha, "skipped_unchanged",
                                             started_at=started, finished_at=now()), None))
                return
        else:  # never loaded: hash while parsing (hashlib releases the GIL)
            sha = self.hasher.submit(sha256_hex, data)
        clock = time.perf_counter()
        if self.pool is not None and not source_file.endswith(".zip"):
            self.pool.add(data, source_file, (load_id, sha, started))
            tick(self.timings, "parse", clock)
            return
        if self.pool is not None:  # a data-set zip: parsed here, on threads, in turn
            self.pool.drain()  # (its facts are too big to wait in the pool's queue)
        parsed = safe_parse(data, source_file)
        tick(self.timings, "parse", clock)
        del data
        digest = sha if isinstance(sha, str) else sha.result()
        self._queue((parsed, load_id, digest, started))

    def _parsed(self, tag: tuple[int, str | Future[str], datetime], parsed: ParsedFile) -> None:
        """A file parsed by a worker, handed back in order (`workers.OrderedPool`)."""
        load_id, sha, started = tag
        digest = sha if isinstance(sha, str) else sha.result()
        self._queue((parsed, load_id, digest, started))

    def _file(self, parsed: ParsedFile, load_id: int, sha: str | None, started: datetime
              ) -> PendingFile:
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
            started_at=started, finished_at=now())
        return PendingFile(result, parsed, [filing_id(f) for f in parsed.filings])

    def _queue(self, item: PendingFile | tuple[ParsedFile, int, str | None, datetime]) -> None:
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
            files = [item if isinstance(item, PendingFile) else self._file(*item)
                     for item in self.batch]
            tick(self.timings, "parse", clock)
            clock = time.perf_counter()
            self.queue.put(files)
            tick(self.timings, "wait", clock)
        self.batch = []
        self.batch_facts = 0


def _parallel_bytes(files: list[Path]) -> int:
    """Input bytes that worker processes would parse: JSON files and bulk zips (a data-set
    zip is parsed in-process, on threads)."""
    total = 0
    for path in files:
        try:
            if path.name.endswith(".json"):
                total += path.stat().st_size
            elif path.name.endswith(".zip") and bulk.is_bulk(path):
                total += bulk.json_bytes(path)
        except OSError:
            continue
    return total


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
    arrow_pool = pa.default_memory_pool()
    pa.set_memory_pool(arrow_memory_pool())
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
        pa.set_memory_pool(arrow_pool)
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
