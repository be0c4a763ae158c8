"""Loader process settings: how many cores it parses on, and Arrow's allocator.

`LOADER_WORKERS` (default: the machine's cores).

One setting for both kinds of parallel parsing: worker processes for the JSON readers
(`workers.py`) and threads for the Arrow work of the data-set reader (`fsds.py`, whose
kernels release the GIL). 1 means everything in-process on one core, as before.
"""

from __future__ import annotations

import os
from typing import Any

WORKERS_ENV = "LOADER_WORKERS"


def worker_count() -> int:
    """`LOADER_WORKERS`, else the machine's cores; at least 1 (1 = in-process)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            return max(1, int(text))
        except ValueError:
            pass
    return max(1, os.cpu_count() or 1)


def arrow_memory_pool() -> Any:
    """The Arrow allocator for loading: jemalloc, else the system allocator.

    pyarrow's default (mimalloc) hands freed blocks back to the OS and takes new ones,
    and with transparent huge pages each new block is zeroed 2 MB at a time by the
    kernel: on the real-size data-set quarter that was 3.5 of 6.5 CPU-seconds of the
    reader (perf: `clear_page_erms`). jemalloc (or glibc) reuses its blocks: ~1 s of
    system time, same peak memory.
    """
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool()
