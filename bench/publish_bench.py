"""`python -m bench.publish_bench`: what publishing the warehouse costs, by method.

Builds (or reuses, `--working`) a working database of N companies x Y years the way a
run does (bench.generate, the real loader, `dbt build`), then publishes it with each
method of pipeline/publish.py to its own folder, twice: once onto nothing, once over
the previous snapshot while a read-only connection holds it open (the case the
publish exists for; the reader's query must still answer from its snapshot).

- `copy`: checkpoint, byte copy of the file to a temp name beside $WAREHOUSE_DB,
  fsync, rename (the kernel's copy_file_range/sendfile);
- `database`: checkpoint, `ATTACH` a new file (storage v1.5.0) and
  `COPY FROM DATABASE` into it, fsync, rename.

Prints a table and writes bench/publish_results.json (one row per size and method,
with the machine). It is a script, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bench import generate as gen
from bench.run import dbt_build, log, machine
from pipeline import config, publish

RESULTS = Path(__file__).with_name("publish_results.json")
METHODS: tuple[publish.Method, ...] = ("copy", "database")


def build_working(companies: int, years: int, work: Path, jobs: int) -> Path:
    """Generate, load and `dbt build` a working database like a run's."""
    from pipeline.ingest.load import load_seeds

    seeds = work / "seeds"
    if not seeds.exists():
        log(f"generating {companies} x {years}")
        gen.main(["--companies", str(companies), "--years", str(years), "--out", str(seeds),
                  "--jobs", str(jobs)])
    working = work / "working" / "financials.duckdb"
    log("loading")
    load_seeds(seeds, working)
    log("dbt build")
    code, seconds, _, _ = dbt_build(working, work)
    if code != 0:
        raise SystemExit(f"dbt build failed ({work / 'dbt_build.log'})")
    log(f"dbt build {seconds:.0f} s")
    return working


def held_reader(db: Path) -> tuple[duckdb.DuckDBPyConnection, int]:
    con = duckdb.connect(str(db), read_only=True)
    return con, int(con.execute("select count(*) from raw.facts").fetchone()[0])  # type: ignore[index]


def bench_method(working: Path, out: Path, method: publish.Method,
                 repeat: int = 1) -> dict[str, Any]:
    published = out / method / "financials.duckdb"
    if published.parent.exists():
        shutil.rmtree(published.parent)
    first = publish.publish("bench-first", published, working, method=method)
    log(f"{method}: first publish {first.seconds:.1f} s, {first.bytes / 1e9:.2f} GB")
    reader, facts = held_reader(published)
    runs: list[float] = []
    try:
        for n in range(repeat):  # each over the previous snapshot, the reader still on the first
            second = publish.publish(f"bench-{n + 2}", published, working, method=method)
            runs.append(round(second.seconds, 2))
            log(f"{method}: publish under a reader {second.seconds:.1f} s")
        still = int(reader.execute("select count(*) from raw.facts").fetchone()[0])  # type: ignore[index]
        snapshot = reader.execute("select run_id from meta.snapshot").fetchone()[0]  # type: ignore[index]
    finally:
        reader.close()
    assert still == facts and snapshot == "bench-first", "the reader lost its snapshot"
    return {
        "method": method,
        "working_bytes": working.stat().st_size,
        "published_bytes": second.bytes,
        "first_seconds": round(first.seconds, 2),
        "seconds": sorted(runs)[len(runs) // 2],  # median
        "runs_seconds": runs,
        "facts": second.row_counts.get("raw.facts"),
        "reader_kept_snapshot": True,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| companies x years | raw facts | method | publish s (onto nothing) | "
             "publish s (over a held snapshot, median) | working file | published file |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['companies']:,} x {r['years']} | {r['facts']:,} | {r['method']} | "
            f"{r['first_seconds']:.1f} | {r['seconds']:.1f} | "
            f"{r['working_bytes'] / 1e9:.2f} GB | {r['published_bytes'] / 1e9:.2f} GB |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.publish_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--working", type=Path, default=None,
                        help="an existing working database of that size (skips the build)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeat", type=int, default=3,
                        help="publishes over a held snapshot, per method (the median is kept)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    config.quiet_telemetry()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="publish_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    working = args.working or build_working(args.companies, args.years, work, args.jobs)
    rows = []
    for method in args.methods.split(","):
        row = bench_method(working, work / "published", method,  # type: ignore[arg-type]
                           repeat=args.repeat)
        rows.append({"companies": args.companies, "years": args.years, **row,
                     "date": datetime.now(UTC).isoformat(timespec="seconds")})
        shutil.rmtree(work / "published" / method, ignore_errors=True)
    print(table(rows))
    if not args.no_write:
        old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": []}
        keep = [r for r in old.get("rows", [])
                if (r["companies"], r["years"], r["method"]) not in
                {(n["companies"], n["years"], n["method"]) for n in rows}]
        RESULTS.write_text(json.dumps({"machine": machine(), "rows": keep + rows}, indent=2)
                           + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
