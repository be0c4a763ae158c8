"""The no-op figure of issue #17: `make run` twice, nothing changed, time of the second.

`python -m bench.noop_bench [--companies 0,1000] [--years 10]`: for each size (0 = the
repository's seed, `seeds/`), in a temp folder with its own SEEDS_DIR, WAREHOUSE_DB and
DAGSTER_HOME, run `python -m pipeline.cli run` (what `make run` runs) once to build,
then again with nothing changed (`--repeat` times), and report the wall seconds of
each no-op run, the summary's own seconds, and the load average at the time (the
machine is shared). Results merge into bench/noop_results.json by size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import generate as gen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("noop_results.json")
SKIP_LINE = "dbt build skipped (upstream unchanged)"


def cli_run(work: Path) -> tuple[float, str]:
    env = dict(os.environ)
    env.update({"SEEDS_DIR": str(work / "seeds"),
                "WAREHOUSE_DB": str(work / "warehouse" / "financials.duckdb"),
                "DAGSTER_HOME": str(work / "dagster_home")})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run"], cwd=work, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"make run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def bench_size(companies: int, years: int, root: Path, repeat: int) -> dict[str, Any]:
    work = root / f"noop_{companies}x{years}"
    shutil.rmtree(work, ignore_errors=True)
    seeds = work / "seeds"
    seeds.mkdir(parents=True)
    if companies == 0:
        for path in (ROOT / "seeds").glob("*.json"):
            shutil.copy(path, seeds / path.name)
    else:
        gen.generate(seeds, companies, years, jobs=os.cpu_count() or 1)
    first, _ = cli_run(work)
    runs = []
    for _ in range(repeat):
        load = os.getloadavg()
        seconds, out = cli_run(work)
        if SKIP_LINE not in out:
            raise RuntimeError(f"the second run was not a no-op:\n{out}")
        reported = float(out.split(" in ", 1)[1].split(" s", 1)[0])
        runs.append({"wall_seconds": round(seconds, 2), "summary_seconds": reported,
                     "load_average_1m": round(load[0], 2)})
    best = min(r["wall_seconds"] for r in runs)
    return {"size": "seed" if companies == 0 else f"{companies}x{years}",
            "files": len(list(seeds.glob("*.json"))), "first_run_seconds": round(first, 1),
            "noop_runs": runs, "noop_best_wall_seconds": best,
            "target_seconds": 5 if companies == 0 else 8,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.noop_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", default="0",
                        help="comma-separated sizes; 0 = the repository's seed")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for companies in (int(c) for c in args.companies.split(",")):
            row = bench_size(companies, args.years, Path(tmp), args.repeat)
            results[row["size"]] = row
            print(json.dumps(row), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
