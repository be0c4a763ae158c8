"""Test fault injection: the real loader, paused inside a write transaction.

`python -m tests.loader_pause N SEEDS_DIR DB` runs `load_seeds` with the writer's
`insert_filings` replaced by one that writes one filing at a time and, in the first
file with more than N new filings, prints PAUSED_MARKER after its N-th and sleeps, so
a test can SIGKILL the process at a known point inside the open transaction. The hook
lives here, not in the production writer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from pipeline.ingest import write

PAUSED_MARKER = "LOADER PAUSED"


def paused_insert(after: int) -> Callable[[duckdb.DuckDBPyConnection, list[Any]], None]:
    """`write.insert_filings`, one filing at a time, pausing after the `after`-th."""
    real = write.insert_filings

    def insert(con: duckdb.DuckDBPyConnection, items: list[Any]) -> None:
        for f, positions in items:
            for n, i in enumerate(positions, start=1):
                real(con, [(f, [i])])
                if n == after and len(positions) > n:
                    print(f"{PAUSED_MARKER} {f.result.source_file} after {n} filings",
                          flush=True)
                    time.sleep(3600)

    return insert


def main(argv: list[str]) -> int:
    after, seeds, db = int(argv[0]), Path(argv[1]), Path(argv[2])
    write.insert_filings = paused_insert(after)
    from pipeline.ingest.load import load_seeds

    s = load_seeds(seeds, db)
    print("DONE", s.files_loaded, s.new_filings, s.new_facts, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
