"""The fixed cost of a run (issue #17, part 4), before and after, on one machine state.

`python -m bench.fixedcost_bench --before DIR [--parts seed,1000]` runs the same
commands with this checkout ("after") and with DIR ("before": an export of an earlier
commit, e.g. `git archive <commit> | tar -x -C DIR`, then `python -m pipeline.dbt_parse`
there), one after the other, with this venv's Python:

- seed: `make run`'s two commands (`python -m pipeline.dbt_parse`, then
  `python -m pipeline.cli run`) in each checkout on its own default warehouse, deleted
  first (the first run after install), then twice more with nothing changed (no-op);
- 1000: 1,000 companies x 10 years generated once (bench.generate, default seed), then
  per checkout in a temp folder: first run, no-op run, one file edited
  (bench.run.edit_one_file), the run again, with the per-step seconds of that run from
  its Dagster event log (bench.run.step_seconds).

Each figure is wall seconds of the whole process with the load average at its start:
the machine is shared, so compare only figures taken in the same session. Results go
to bench/fixedcost_results.json (README "Fixed cost of a run").
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
from pathlib import Path
from typing import Any

from bench import generate as gen
from bench.run import edit_one_file, step_seconds

AFTER = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("fixedcost_results.json")
PATH_VARS = ("WAREHOUSE_DB", "SEEDS_DIR", "DAGSTER_HOME", "DBT_TARGET_PATH", "DBT_LOG_PATH")


def base_env(**paths: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PATH_VARS}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="False", DO_NOT_TRACK="1",
               DAGSTER_DISABLE_TELEMETRY="1", **paths)
    return env


def make_run(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """What `make run` runs, in `root`; wall seconds and the summary's first line."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    parse = subprocess.run([sys.executable, "-m", "pipeline.dbt_parse"], cwd=root, env=env,
                           capture_output=True, text=True, check=False)
    run = subprocess.run([sys.executable, "-m", "pipeline.cli", "run"], cwd=root, env=env,
                         capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    summary = next((line for line in run.stdout.splitlines() if line.startswith("make run:")),
                   run.stderr[-300:])
    ok = parse.returncode == 0 and run.returncode == 0
    print(f"  {root.name}: {seconds:.1f} s (load {load:.2f}) {summary}", file=sys.stderr,
          flush=True)
    return {"seconds": round(seconds, 2), "ok": ok, "load_average": round(load, 2),
            "summary": summary}


def seed_part(root: Path) -> dict[str, Any]:
    folder = root / "warehouse"
    for name in (".build", "dagster_home", "snapshots"):
        shutil.rmtree(folder / name, ignore_errors=True)
    for path in folder.glob("financials.duckdb*"):
        path.unlink()
    env = base_env()
    return {"first": make_run(root, env), "noop": [make_run(root, env) for _ in range(2)]}


def size_part(root: Path, seeds: Path, work: Path) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(seeds, work / "seeds")
    home = work / "dagster_home"
    env = base_env(SEEDS_DIR=str(work / "seeds"), DAGSTER_HOME=str(home),
                   WAREHOUSE_DB=str(work / "warehouse" / "financials.duckdb"))
    first = make_run(root, env) | {"steps": step_seconds(home)}
    noop = make_run(root, env)
    edit_one_file(work / "seeds", 1000)
    one_file = make_run(root, env) | {"steps": step_seconds(home)}
    return {"first": first, "noop": noop, "one_file": one_file}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixedcost_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True,
                        help="an exported earlier checkout (its dbt manifest parsed)")
    parser.add_argument("--parts", default="seed,1000")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    roots = {"after": AFTER, "before": args.before.resolve()}
    out: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "cores": os.cpu_count(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="fixedcost_") as tmp:
        for part in parts:
            seeds = Path(tmp) / "seeds_1000"
            if part == "1000" and not seeds.exists():
                gen.generate(seeds, 1000, 10, seed=gen.DEFAULT_SEED, jobs=os.cpu_count() or 1)
            for label, root in roots.items():
                print(f"{part}: {label}", file=sys.stderr, flush=True)
                result = (seed_part(root) if part == "seed"
                          else size_part(root, seeds, Path(tmp) / label))
                out["runs"].setdefault(label, {})[part] = result
    args.results.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
