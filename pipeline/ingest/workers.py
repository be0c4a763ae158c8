"""Parsing in worker processes: JSON files and bulk companyfacts.zip members.

Why processes: the JSON readers (`vendor.py`, `sec.py`) run Python per fact and hold the
GIL, so threads cannot use a second core for them. A pool of `LOADER_WORKERS` processes
(default: the machine's cores; 1 = everything in-process, as before) parses chunks of
files; the loader's main process keeps the one DuckDB connection and its writer thread
(DuckDB has one writer per file), so every guarantee of `write.py` is unchanged: one
transaction per batch of whole files, a bad file is rejected alone, a crash leaves
nothing half loaded.

What crosses the process boundary is cheap to move: the input bytes one way; back, each
file's `ParsedFile` without per-fact Python lists (`compact`) and its facts as one Arrow
IPC stream (buffers, no per-value pickling). SEC company-facts filings, which the reader
builds as Python lists, become an Arrow table in the worker (the same columns and
values the writer's `_list_facts` builds), and their content address is computed there
with the same `parse.filing_id`, so ids and rows are identical whatever the worker
count.

Determinism: results are consumed in submission order (`OrderedPool`), and files that
need no parsing (unchanged, unreadable) wait in the same queue, so load_ids, batches and
which file first claims a filing version are the same as in-process.

Small inputs stay in-process (`PARALLEL_MIN_BYTES`): starting workers costs more than
parsing a few megabytes. SEC data-set zips (`fsds.py`) are always parsed in-process:
their reader is Arrow kernels that release the GIL and run on threads
(`fsds.FSDS_THREADS`), and their facts table is hundreds of megabytes.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from pipeline.ingest.cores import arrow_memory_pool, worker_count
from pipeline.ingest.model import ParsedFile
from pipeline.ingest.parse import filing_id, finish_files, safe_parse
from pipeline.ingest.write import facts_from_lists

# Below this many input bytes (JSON files, bulk zip members uncompressed) parse in-process.
PARALLEL_MIN_BYTES = int(os.environ.get("LOADER_PARALLEL_MIN_BYTES") or 24 << 20)
CHUNK_BYTES = 4 << 20  # input bytes per task: amortizes the IPC, bounds memory
CHUNK_FILES = 256
IN_FLIGHT_PER_WORKER = 2  # tasks queued per worker: keeps workers busy, memory bounded
__all__ = ["OrderedPool", "parse_chunk", "worker_count"]


# --------------------------------------------------------------------------- worker side

@contextmanager
def _without_main_module() -> Iterator[None]:
    """Start worker processes without re-running the parent's `__main__` in each of them.

    multiprocessing prepares a new process by importing the parent's main module (for
    `python -m pipeline.cli` that is Dagster and the whole pipeline: seconds per worker).
    The workers need only this module (the forkserver preloads it), so the main module's
    name and path are hidden while they start (`ProcessPoolExecutor` starts a process
    in `submit`, in the calling thread, when no worker is idle)."""
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__")
             if main is not None and k in main.__dict__}
    try:
        if main is not None:
            main.__spec__ = None
            main.__dict__.pop("__file__", None)
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def _init_worker(loader_pid: int) -> None:
    # parsed JSON is millions of short-lived containers and builds no cycles (load.py)
    gc.disable()
    pa.set_memory_pool(arrow_memory_pool())
    threading.Thread(target=_exit_with, args=(loader_pid,), daemon=True).start()


def _exit_with(loader_pid: int) -> None:
    """A worker ends when the loader process does (killed, crashed): it would otherwise
    wait on its task queue forever, since its siblings hold that pipe open too."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(loader_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            continue


def parse_chunk(items: list[tuple[bytes, str]]
                ) -> tuple[list[tuple[ParsedFile, pa.Buffer | None]], float]:
    """Parse and finish files in a worker; each comes back compacted with its facts as
    an Arrow IPC buffer, with the CPU seconds it took. The same calls as the in-process
    path (`safe_parse`, then `finish_files` with the writer casting value_number)."""
    cpu = time.process_time()
    files = [safe_parse(data, source_file) for data, source_file in items]
    del items
    finish_files(files, cast=False)
    return [(parsed, to_ipc(compact(parsed))) for parsed in files], time.process_time() - cpu


def compact(parsed: ParsedFile) -> pa.Table | None:
    """Take the facts out of `parsed` as one Arrow table (None if it has none) and drop
    the per-fact lists, so only Arrow buffers cross the process boundary.

    List-based filings (SEC company facts) get the table the writer would build from
    their lists, and their content address (`filing_id`) before the lists go.
    """
    table = parsed.facts_table
    parsed.facts_table = None
    if table is None and any(f.concepts for f in parsed.filings):
        table = _list_table(parsed)
        for f in parsed.filings:
            f.content_digest = filing_id(f)  # what the loader would compute from the lists
    for f in parsed.filings:
        if f.arrow_fact_count is None:
            f.arrow_fact_count = len(f.concepts)
        f.concepts, f.value_numbers, f.value_texts = [], [], []
        f.units, f.fact_starts, f.fact_ends = [], [], []
    return table


def _list_table(parsed: ParsedFile) -> pa.Table:
    """The columns `write._list_facts` builds from a filing's lists (without filing_id)."""
    cols: dict[str, list[Any]] = {c: [] for c in (
        "concept", "value_number", "value_text", "unit", "period_start", "period_end")}
    for f in parsed.filings:
        n = f.fact_count
        cols["concept"].extend(f.concepts)
        cols["value_text"].extend(f.value_texts)
        for column, values in (("value_number", f.value_numbers), ("unit", f.units),
                               ("period_start", f.fact_starts), ("period_end", f.fact_ends)):
            cols[column].extend(values or [None] * n)
    return facts_from_lists(cols, cols["value_number"])


def to_ipc(table: pa.Table | None) -> pa.Buffer | None:
    """An Arrow IPC stream of `table`: only the rows' bytes, also for a slice (pickling
    a sliced table would copy its whole parent buffers)."""
    if table is None:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def from_ipc(buffer: pa.Buffer | None) -> pa.Table | None:
    return None if buffer is None else pa.ipc.open_stream(buffer).read_all()


# --------------------------------------------------------------------------- main side

class OrderedPool:
    """Chunks of files parsed by worker processes, handed back in submission order.

    `add` takes a file to parse (bytes, name, an opaque tag) or an item that needs no
    parsing; `emit(tag, parsed)` / `emit_ready(item)` are called in exactly the order
    things were added. Should the pool break (a worker killed), the chunks not yet
    collected are parsed in-process: slower, same result.
    """

    def __init__(self, workers: int, emit: Callable[[Any, ParsedFile], None],
                 emit_ready: Callable[[Any], None]) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pipeline.ingest.workers"])
        self.executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker,
            initargs=(os.getpid(),))
        with _without_main_module():  # the workers start now, importing only this module
            for _ in range(workers):  # one process per submit while none is idle
                self.executor.submit(time.sleep, 0.1)
        self.limit = workers * IN_FLIGHT_PER_WORKER
        self.emit, self.emit_ready = emit, emit_ready
        # each slot: ("parse", data, source_file, tag) or ("ready", item)
        self.chunk: list[tuple[Any, ...]] = []
        self.chunk_bytes = 0
        self.worker_cpu = 0.0  # CPU seconds the workers spent parsing
        self.in_flight: deque[tuple[Future[Any] | None, list[tuple[Any, ...]]]] = deque()

    def add(self, data: bytes, source_file: str, tag: Any) -> None:
        self.chunk.append(("parse", data, source_file, tag))
        self.chunk_bytes += len(data)
        if self.chunk_bytes >= CHUNK_BYTES or len(self.chunk) >= CHUNK_FILES:
            self._submit()

    def add_ready(self, item: Any) -> None:
        if not self.chunk and not self.in_flight:
            self.emit_ready(item)  # nothing ahead of it
            return
        self.chunk.append(("ready", item))
        if len(self.chunk) >= CHUNK_FILES:  # e.g. a run of unchanged files: keep moving
            self._submit()

    def _submit(self) -> None:
        if not self.chunk:
            return
        slots, self.chunk, self.chunk_bytes = self.chunk, [], 0
        work = [(s[1], s[2]) for s in slots if s[0] == "parse"]
        future: Future[Any] | None = None
        if work and self.executor is not None:
            try:
                future = self.executor.submit(parse_chunk, work)
            except (BrokenProcessPool, RuntimeError):
                self.executor = None
        # the bytes stay referenced until collected: a broken pool re-parses them here
        self.in_flight.append((future, slots))
        while len(self.in_flight) > self.limit:
            self._collect()

    def _collect(self) -> None:
        future, slots = self.in_flight.popleft()
        results: list[tuple[ParsedFile, pa.Buffer | None]] | None = None
        if future is not None:
            try:
                results, cpu = future.result()
                self.worker_cpu += cpu
            except BrokenProcessPool:
                results = None
                self.executor = None
        if results is None and any(s[0] == "parse" for s in slots):
            results, _ = parse_chunk([(s[1], s[2]) for s in slots if s[0] == "parse"])
        done = iter(results or ())
        for slot in slots:
            if slot[0] == "ready":
                self.emit_ready(slot[1])
                continue
            parsed, facts = next(done)
            parsed.facts_table = from_ipc(facts)
            self.emit(slot[3], parsed)

    def drain(self) -> None:
        """Submit the open chunk and hand back everything, in order."""
        self._submit()
        while self.in_flight:
            self._collect()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

