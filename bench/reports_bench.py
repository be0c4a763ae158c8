"""Benchmark: build the HTML reports for N synthetic companies (target: 1,000 in <= 30 s).

The warehouse is the real one for synthetic input: the scale benchmark's generator
writes N companies x Y fiscal years of as-reported filings (quarters, amendments,
injected tie-out failures), the real loader loads them and dbt builds every model;
then the report build (pipeline.reports.build: read the marts, render every page,
swap the site in) is timed alone, `--repeat` times. The warehouse is kept in
`--work` so a second run skips straight to the timing (`--reuse`).

    .venv/bin/python bench/reports_bench.py --companies 1000
    .venv/bin/python bench/reports_bench.py --companies 50 --years 5   # a quick look
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import config  # noqa: E402
from pipeline.reports import build  # noqa: E402
from pipeline.resources import dbt_executable  # noqa: E402
from pipeline.warehouse import dbt_env, session  # noqa: E402

TARGET_SECONDS = 30.0


def generator() -> Any:
    return importlib.import_module("bench.generate")


def dbt(db: Path, *args: str) -> None:
    env = dbt_env(db)
    cmd = [dbt_executable(), *args, "--project-dir", str(config.DBT_PROJECT_DIR),
           "--profiles-dir", str(config.DBT_PROJECT_DIR)]
    proc = subprocess.run(cmd, cwd=config.DBT_PROJECT_DIR, env=env, text=True,
                          capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{proc.stdout[-4000:]}")


def prepare(work: Path, companies: int, years: int, jobs: int) -> tuple[Path, dict[str, float]]:
    """Generate, load and dbt-build a warehouse of `companies` synthetic companies."""
    from pipeline.ingest.load import load_seeds

    seeds, db = work / "seeds", work / "financials.duckdb"
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generator().generate(seeds, companies, years, jobs=jobs)
    timings["generate_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    load_seeds(seeds, db)
    timings["load_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    dbt(db, "seed")
    dbt(db, "run")  # the models only: the report reads them, dbt tests are not its cost
    timings["dbt_seconds"] = time.perf_counter() - started
    return db, timings


def mart_counts(db: Path) -> dict[str, int]:
    with session(db, read_only=True) as con:
        return {name: con.execute(sql).fetchone()[0] for name, sql in {  # type: ignore[index]
            "companies": "select count(*) from marts.companies",
            "annual_rows": "select count(*) from marts.income_statement "
                           "where fiscal_period = 'FY'",
            "statement_lines": "select count(*) from marts.statement_lines",
            "tieout_results": "select count(*) from marts.tieout_results",
        }.items()}


def site_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the synthetic warehouse (default: a temp folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the warehouse already in --work")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    config.quiet_telemetry()
    work = args.work or Path(tempfile.mkdtemp(prefix="reports-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "financials.duckdb"
    timings: dict[str, float] = {}
    if not (args.reuse and db.exists()):
        if db.exists():
            raise SystemExit(f"{db} exists: pass --reuse, or another --work")
        print(f"reports bench: generating, loading and building {args.companies} companies x "
              f"{args.years} years in {work} ...", file=sys.stderr, flush=True)
        db, timings = prepare(work, args.companies, args.years, args.jobs)
    counts = mart_counts(db)
    load_average = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    out = work / "reports"
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = build(db, out)
        runs.append({"seconds": time.perf_counter() - started, "read": result.read_seconds,
                     "render": result.render_seconds})
    best = min(r["seconds"] for r in runs)
    report = {
        "companies": counts["companies"], "years": args.years, **counts,
        **{k: round(v, 2) for k, v in timings.items()},
        "pages": result.pages, "site_bytes": site_bytes(out),
        "build_seconds": [round(r["seconds"], 2) for r in runs],
        "build_seconds_median": round(statistics.median(r["seconds"] for r in runs), 2),
        "read_seconds_best": round(min(r["read"] for r in runs), 2),
        "render_seconds_best": round(min(r["render"] for r in runs), 2),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "load_average_start": round(load_average, 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": best <= TARGET_SECONDS,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "index": str(result.index),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if report["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
