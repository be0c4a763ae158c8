"""How many cores the loader parses on: `LOADER_WORKERS` (default: the machine's cores).

One setting for both kinds of parallel parsing: worker processes for the JSON readers
(`workers.py`) and threads for the Arrow work of the data-set reader (`fsds.py`, whose
kernels release the GIL). 1 means everything in-process on one core, as before.
"""

from __future__ import annotations

import os

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
