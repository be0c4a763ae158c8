"""Test fault injection: a whole `make run` (pipeline.cli run) paused inside the load.

`python -m tests.publish_pause N` runs `pipeline.cli run --verbose` in this process
with the loader's `insert_filings` replaced by tests.loader_pause's (one filing at a
time, printing PAUSED_MARKER after the N-th filing of the first file with more than N
new ones, then sleeping), so a test can SIGKILL the run in the middle of its build.
"""

from __future__ import annotations

import sys

from pipeline.ingest import write
from tests.loader_pause import paused_insert


def main(argv: list[str]) -> int:
    write.insert_filings = paused_insert(int(argv[0]))
    from pipeline import cli

    return cli.main(["run", "--verbose"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
