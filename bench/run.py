"""`make bench`: the scale benchmark, side by side with the JSON-parsing floor.

For each size (companies x years, default 100, 1,000 and 10,000 x 10) in a temp folder
with its own warehouse and DAGSTER_HOME:

1. generate the synthetic filings (bench.generate) and their manifest;
2. the floor: seconds to read and orjson-parse every file, nothing else (best of two
   warm passes, so the page cache is the same for every step after it);
3. extract + load: the real loader `pipeline.ingest.load.load_seeds` on a fresh
   warehouse, facts per second and the ratio to the floor;
4. `dbt build` (every seed, model and test) on that warehouse, in a subprocess;
5. end to end: `python -m pipeline.cli run` (what `make run` runs) in a subprocess on a
   fresh warehouse, wall seconds and peak RSS of the whole process tree (Dagster, the
   loader, the dbt subprocess) sampled every 50 ms; the asset-check seconds and the
   per-step times come from that run's Dagster event log;
6. incremental: one filing of one of the N files edited (a disclosure value, so the
   statements do not change), the same command again;
7. whether `marts.tieout_results` fails exactly the injected errors of the manifest.

It prints one table, writes `bench/results.json` (merged by size with earlier
results, with the machine: cores, memory, versions, date) and prints the markdown table
for the README. It is a script, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench import generate as gen
from pipeline import config, warehouse

RESULTS = Path(__file__).with_name("results.json")
DEFAULT_SIZES = (100, 1000, 10_000)
SAMPLE_SECONDS = 0.05

# Targets of the scale issue (2 cores), at 1,000 companies x 10 years unless noted.
TARGETS = {
    "load_facts_per_s": 1_500_000,
    "e2e_seconds": 60.0,
    "incremental_seconds": 15.0,
    "peak_rss_bytes_10000": 4 * 1024**3,
}


# --------------------------------------------------------------------------- measuring


class TreeSampler:
    """Peak RSS of a process and all its descendants, sampled on a thread.

    The sum over the tree counts pages shared between processes more than once, so it
    is an upper bound of what the tree holds, which is what a memory budget needs.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        if total > self.peak:
            self.peak = total
            self.peak_processes = len(procs)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass
class Timed:
    seconds: float = 0.0
    peak_rss: int = 0


@contextmanager
def timed(pid: int | None = None) -> Iterator[Timed]:
    out = Timed()
    sampler = TreeSampler(pid or os.getpid())
    started = time.perf_counter()
    with sampler:
        yield out
    out.seconds = time.perf_counter() - started
    out.peak_rss = sampler.peak


def run_sampled(cmd: Sequence[str], env: dict[str, str], cwd: Path,
                log: Path) -> tuple[int, float, int, int]:
    """Run `cmd`, sampling its process tree; (returncode, seconds, peak RSS, processes)."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        with sampler:
            code = proc.wait()
        seconds = time.perf_counter() - started
    return code, seconds, sampler.peak, sampler.peak_processes


# --------------------------------------------------------------------------- steps


def floor_seconds(seeds: Path) -> tuple[float, int]:
    """Best of two passes reading + orjson-parsing every file; (seconds, bytes)."""
    files = sorted(seeds.glob("*.json"))
    best = float("inf")
    size = 0
    for _ in range(2):
        started = time.perf_counter()
        size = 0
        for path in files:
            data = path.read_bytes()
            size += len(data)
            orjson.loads(data)
        best = min(best, time.perf_counter() - started)
    return best, size


def dbt_build(db: Path, work: Path) -> tuple[int, float, int, float]:
    """`dbt build` in a subprocess with its own target and log folders (other runs of
    the project's dbt may be writing dbt_project/target).

    `dbt parse` runs first and is timed apart: the profile names the warehouse path, so a
    new warehouse always costs one full parse, which `make run` does not pay (it reuses
    the prebuilt manifest and, for a given warehouse, dbt's partial parse).
    Returns (returncode, build seconds, peak RSS, parse seconds)."""
    from pipeline.resources import dbt_executable

    target = work / "dbt_target"
    target.mkdir(parents=True, exist_ok=True)
    env = warehouse.dbt_env()
    env.update({"WAREHOUSE_DB": str(db), "DBT_TARGET_PATH": str(target),
                "DBT_LOG_PATH": str(work / "dbt_logs")})
    common = ["--project-dir", str(config.DBT_PROJECT_DIR),
              "--profiles-dir", str(config.DBT_PROJECT_DIR)]
    _, parse_seconds, _, _ = run_sampled([dbt_executable(), "parse", *common], env,
                                         config.DBT_PROJECT_DIR, work / "dbt_parse.log")
    code, seconds, peak, _ = run_sampled([dbt_executable(), "build", *common], env,
                                         config.DBT_PROJECT_DIR, work / "dbt_build.log")
    return code, seconds, peak, parse_seconds


def slowest_dbt_nodes(work: Path, top: int = 10) -> list[dict[str, Any]]:
    """The slowest models and tests of the standalone build (dbt's run_results.json)."""
    path = work / "dbt_target" / "run_results.json"
    if not path.exists():
        return []
    results = orjson.loads(path.read_bytes()).get("results", [])
    rows = [{"node": r["unique_id"].split(".", 2)[-1] if r["unique_id"].startswith("model")
             else r["unique_id"], "seconds": round(r.get("execution_time") or 0.0, 2),
             "status": r.get("status")} for r in results]
    return sorted(rows, key=lambda r: -r["seconds"])[:top]


def profile_load(seeds: Path, work: Path, top: int = 15) -> list[dict[str, Any]]:
    """The loader under cProfile on a scratch warehouse: where its time goes."""
    import cProfile
    import pstats

    from pipeline.ingest.load import load_seeds

    db = work / "profile" / "financials.duckdb"
    profiler = cProfile.Profile()
    profiler.enable()
    load_seeds(seeds, db)
    profiler.disable()
    shutil.rmtree(db.parent, ignore_errors=True)
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(filename).name}:{line}({name})", "calls": calls,
                     "tottime": round(tottime, 3), "cumtime": round(cumtime, 3)})
    return sorted(rows, key=lambda r: -r["tottime"])[:top]


def prebuild_manifest(db: Path | None) -> float:
    """`python -m pipeline.dbt_parse` (what `make` runs before `make run`) for `db`.

    dbt's partial parse is keyed on the profile, which holds the warehouse path: a
    manifest parsed for another path makes every `dbt build` of the run parse the whole
    project again. A user's `make run` reuses the manifest `make` built for their
    warehouse, so the benchmark does the same for its temp warehouse (untimed), and
    puts the caller's one back at the end (`db=None`: this process's environment).
    """
    env = dict(os.environ)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        env["WAREHOUSE_DB"] = str(db)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.dbt_parse"], env=env, cwd=config.REPO_ROOT,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def cli_run(seeds: Path, db: Path, home: Path, log: Path) -> dict[str, Any]:
    """`python -m pipeline.cli run` as `make run` runs it, on the given paths."""
    env = dict(os.environ)
    config.quiet_telemetry()
    env.update({"SEEDS_DIR": str(seeds), "WAREHOUSE_DB": str(db), "DAGSTER_HOME": str(home),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1",
                "DAGSTER_DISABLE_TELEMETRY": "1"})
    cmd = [sys.executable, "-m", "pipeline.cli", "run"]
    code, seconds, peak, procs = run_sampled(cmd, env, config.REPO_ROOT, log)
    return {"returncode": code, "seconds": seconds, "peak_rss": peak, "processes": procs,
            "steps": step_seconds(home)}


def step_seconds(home: Path) -> dict[str, Any]:
    """Per-step wall seconds of the latest run in `home`, from its Dagster event log.

    A step that only evaluates asset checks (no materialization) counts as checks.
    """
    code = """
import orjson, sys
from dagster import DagsterEventType, DagsterInstance
with DagsterInstance.get() as instance:
    runs = instance.get_runs(limit=1)
    out = {}
    if runs:
        starts, ends, mats, checks, errors = {}, {}, set(), set(), {}
        logs = instance.all_logs(runs[0].run_id)
        marks = {}
        for rec in logs:
            msg = rec.user_message or ""
            if "Running dbt command" in msg:
                marks["dbt_command_start"] = rec.timestamp
            elif "Finished dbt command" in msg:
                marks["dbt_command_end"] = rec.timestamp
            ev = rec.dagster_event
            if ev is not None and ev.event_type == DagsterEventType.RUN_START:
                marks["run_start"] = rec.timestamp
        if logs:
            first, last = logs[0].timestamp, logs[-1].timestamp
            out["_run"] = {"seconds": last - first, "events": len(logs),
                           "before_run_start": marks.get("run_start", first) - first}
            if "dbt_command_start" in marks and "dbt_command_end" in marks:
                out["_run"]["dbt_command_seconds"] = (marks["dbt_command_end"]
                                                      - marks["dbt_command_start"])
        for rec in logs:
            ev, key = rec.dagster_event, rec.step_key
            if ev is None or key is None:
                continue
            t = ev.event_type
            if t == DagsterEventType.STEP_START:
                starts[key] = rec.timestamp
            elif t in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                ends[key] = rec.timestamp
                if t == DagsterEventType.STEP_FAILURE:
                    err = ev.step_failure_data.error if ev.step_failure_data else None
                    text = err.to_string() if err else (rec.message or "failed")
                    errors[key] = text[-1500:]
            elif t == DagsterEventType.ASSET_MATERIALIZATION:
                mats.add(key)
            elif t == DagsterEventType.ASSET_CHECK_EVALUATION:
                checks.add(key)
        for key in starts:
            if key in ends:
                out[key] = {"seconds": ends[key] - starts[key],
                            "checks_only": key in checks and key not in mats}
                if key in errors:
                    out[key]["error"] = errors[key]
    sys.stdout.write(orjson.dumps(out).decode())
"""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=config.REPO_ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    return orjson.loads(proc.stdout or "{}")


def checks_seconds(steps: dict[str, Any]) -> float | None:
    values = [s["seconds"] for s in steps.values()
              if isinstance(s, dict) and s.get("checks_only")]
    return sum(values) if values else None


def edit_one_file(seeds: Path, companies: int) -> str:
    """Change one disclosure value in the newest filing of the middle company's file.

    Disclosure concepts are unmapped, so the statements and tie-outs stay the same;
    the loader still sees a changed file with one changed filing.
    """
    path = seeds / f"{gen.symbol_for(companies // 2)}.json"
    records = orjson.loads(path.read_bytes())
    fillers = {name for name, kind in gen.FILLER_POOL if kind == "money"}
    body = records[0]["data"] if "data" in records[0] else records[0]
    for key, value in body.items():
        if key in fillers:
            body[key] = (f"{int(float(value)) + 1000}.000000" if isinstance(value, str)
                         else value + 1000)
            break
    else:  # pragma: no cover - every filing carries money disclosures
        raise RuntimeError(f"no disclosure value to edit in {path}")
    path.write_bytes(orjson.dumps(records))
    return path.name


def tieout_findings(db: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("""
            select symbol, fiscal_year, fiscal_period, rule_id
            from marts.tieout_results where status = 'fail'""").fetchall()
        statuses = dict(con.execute(
            "select status, count(*) from marts.tieout_results group by 1").fetchall())
        facts = con.execute("select count(*) from raw.facts").fetchone()[0]
        filings = con.execute("select count(*) from raw.filings").fetchone()[0]
    finally:
        con.close()
    found = {tuple(r) for r in rows}
    expected = set(gen.iter_expected_failures(manifest))
    return {
        "injected": len(expected),
        "failures": len(found),
        "missing": sorted(list(k) for k in expected - found)[:20],
        "unexpected": sorted(list(k) for k in found - expected)[:20],
        "exact": found == expected,
        "statuses": statuses,
        "raw_facts": facts,
        "raw_filings": filings,
    }


# --------------------------------------------------------------------------- one size


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def bench_size(companies: int, years: int, root: Path, seed: int, jobs: int,
               skip: set[str], profile: bool = False) -> dict[str, Any]:
    work = root / f"size_{companies}x{years}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seeds = work / "seeds"
    r: dict[str, Any] = {"companies": companies, "years": years,
                         "date": datetime.now(UTC).isoformat(timespec="seconds"),
                         "load_average_start": os.getloadavg()[0]}

    log(f"{companies} x {years}: generating")
    started = time.perf_counter()
    manifest = gen.generate(seeds, companies, years, seed=seed, jobs=jobs)
    r["generate_seconds"] = time.perf_counter() - started
    r.update(files=manifest["files"], filings=manifest["filings"], facts=manifest["keys"],
             amendments=manifest["amendments"], quarters=manifest["quarters"],
             injected=len(manifest["injected"]))

    log("floor: read + orjson.loads every file")
    r["floor_seconds"], r["bytes"] = floor_seconds(seeds)

    if "load" not in skip:
        from pipeline.ingest.load import load_seeds

        log("extract + load (pipeline.ingest.load.load_seeds)")
        db = work / "load" / "financials.duckdb"
        with timed() as t:
            summary = load_seeds(seeds, db)
        r["load_seconds"] = t.seconds
        r["load_peak_rss"] = t.peak_rss
        r["load_facts"] = int(getattr(summary, "facts", 0))
        r["load_facts_per_s"] = r["facts"] / t.seconds
        r["load_to_floor"] = t.seconds / r["floor_seconds"]
        if "dbt" not in skip:
            log("dbt build")
            code, seconds, peak, parse_seconds = dbt_build(db, work)
            r["dbt_parse_seconds"] = parse_seconds
            r["dbt_build_seconds"] = seconds
            r["dbt_build_ok"] = code == 0
            r["dbt_peak_rss"] = peak
            r["dbt_slowest"] = slowest_dbt_nodes(work)
        shutil.rmtree(db.parent, ignore_errors=True)
        if profile:
            log("extract + load again under cProfile (hotspots)")
            r["load_profile"] = profile_load(seeds, work)

    if "e2e" not in skip:
        db = work / "e2e" / "financials.duckdb"
        home = work / "dagster_home"
        log("prebuilding the dbt manifest for the temp warehouse (as make does)")
        r["prebuild_manifest_seconds"] = prebuild_manifest(db)
        log("end to end: python -m pipeline.cli run (fresh warehouse)")
        first = cli_run(seeds, db, home, work / "e2e_run.log")
        r["e2e_seconds"] = first["seconds"]
        r["e2e_ok"] = first["returncode"] == 0
        r["peak_rss"] = first["peak_rss"]
        r["peak_processes"] = first["processes"]
        r["e2e_steps"] = first["steps"]
        r["checks_seconds"] = checks_seconds(first["steps"])
        # the publish step (working database -> WAREHOUSE_DB) and the file readers open
        r["publish_seconds"] = (first["steps"].get("published_warehouse") or {}).get("seconds")
        r["warehouse_bytes"] = db.stat().st_size if db.exists() else None
        if r["e2e_ok"]:
            r["tieouts"] = tieout_findings(db, manifest)
        else:
            r["e2e_output"] = (work / "e2e_run.log").read_text(errors="replace")[-3000:]
        log("incremental: one file edited, same command again")
        r["edited_file"] = edit_one_file(seeds, companies)
        prebuild_manifest(db)  # again: other dbt runs may have replaced it meanwhile
        again = cli_run(seeds, db, home, work / "incremental_run.log")
        r["incremental_seconds"] = again["seconds"]
        r["incremental_ok"] = again["returncode"] == 0
        r["incremental_peak_rss"] = again["peak_rss"]
        r["incremental_steps"] = again["steps"]
        if not r["incremental_ok"]:
            r["incremental_output"] = (work / "incremental_run.log").read_text(
                errors="replace")[-3000:]
    r["load_average_end"] = os.getloadavg()[0]
    if "keep" not in skip:
        shutil.rmtree(work, ignore_errors=True)
    return r


# --------------------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    import dagster
    import duckdb

    try:
        from dbt.version import __version__ as dbt_version
    except ImportError:  # pragma: no cover
        dbt_version = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dbt_core": str(dbt_version),
        "dagster": dagster.__version__,
        "orjson": orjson.__version__,
        "warehouse_memory_limit": warehouse.memory_limit(),
        "warehouse_threads": warehouse.threads(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _fmt(value: Any, spec: str = ".1f", scale: float = 1.0, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value / scale:{spec}}{suffix}"


COLUMNS: tuple[tuple[str, str, Callable[[dict[str, Any]], str]], ...] = (
    ("companies x years", "size", lambda r: f"{r['companies']:,} x {r['years']}"),
    ("filings", "filings", lambda r: f"{r['filings']:,}"),
    ("facts", "facts", lambda r: f"{r['facts'] / 1e6:.2f} M"),
    ("floor s", "floor", lambda r: _fmt(r.get("floor_seconds"), ".2f")),
    ("load s", "load", lambda r: _fmt(r.get("load_seconds"), ".2f")),
    ("load facts/s", "rate", lambda r: _fmt(r.get("load_facts_per_s"), ".2f", 1e6, " M")),
    ("load / floor", "ratio", lambda r: _fmt(r.get("load_to_floor"), ".1f", 1, "x")),
    ("dbt build s", "dbt", lambda r: _fmt(r.get("dbt_build_seconds")) + (
        " FAILED" if r.get("dbt_build_ok") is False else "")),
    ("checks s", "checks", lambda r: _fmt(r.get("checks_seconds"), ".2f")),
    ("end-to-end s", "e2e", lambda r: _fmt(r.get("e2e_seconds")) + (
        " FAILED" if r.get("e2e_ok") is False else "")),
    ("publish s", "publish", lambda r: _fmt(r.get("publish_seconds"), ".1f")),
    ("warehouse file", "file", lambda r: _fmt(r.get("warehouse_bytes"), ".2f", 1e9, " GB")),
    ("peak RSS", "rss", lambda r: _fmt(r.get("peak_rss"), ".2f", 1024**3, " GB")),
    ("1-file incremental s", "incr", lambda r: _fmt(r.get("incremental_seconds")) + (
        " FAILED" if r.get("incremental_ok") is False else "")),
    ("tie-outs exact", "tie", lambda r: (
        "—" if "tieouts" not in r else
        f"{'yes' if r['tieouts']['exact'] else 'NO'} "
        f"({r['tieouts']['failures']}/{r['tieouts']['injected']})")),
)


def text_table(rows: list[dict[str, Any]]) -> str:
    cells = [[c[0] for c in COLUMNS]] + [[c[2](r) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = "| " + " | ".join(c[0] for c in COLUMNS) + " |"
    sep = "|" + "|".join("---:" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(c[2](r) for c in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def target_report(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_size = {r["companies"]: r for r in rows if r["years"] == 10}
    out: list[dict[str, Any]] = []

    def add(name: str, size: int, key: str, target: float, higher_is_better: bool,
            needs_ok: str | None = None) -> None:
        row = by_size.get(size, {})
        value = row.get(key)
        met = None if value is None else (value >= target if higher_is_better
                                          else value <= target)
        entry = {"target": name, "size": size, "measured": value, "target_value": target,
                 "met": met}
        if needs_ok and row.get(needs_ok) is False:
            # A failed run's time or memory says nothing about the target.
            entry.update(met=None, note=f"the run failed ({needs_ok} is false)")
        out.append(entry)

    add("extract + load >= 1.5 M facts/s", 1000, "load_facts_per_s",
        TARGETS["load_facts_per_s"], True)
    add("end-to-end <= 60 s", 1000, "e2e_seconds", TARGETS["e2e_seconds"], False, "e2e_ok")
    add("one-file incremental <= 15 s", 1000, "incremental_seconds",
        TARGETS["incremental_seconds"], False, "incremental_ok")
    add("peak RSS <= 4 GB", 10_000, "peak_rss", TARGETS["peak_rss_bytes_10000"], False,
        "e2e_ok")
    return out


def merge_results(new_rows: list[dict[str, Any]], fresh: bool,
                  path: Path = RESULTS) -> dict[str, Any]:
    previous: dict[str, Any] = {}
    if path.exists() and not fresh:
        previous = orjson.loads(path.read_bytes())
    keys = {(r["companies"], r["years"]) for r in new_rows}
    rows = [r for r in previous.get("sizes", [])
            if (r["companies"], r["years"]) not in keys] + new_rows
    rows.sort(key=lambda r: (r["years"], r["companies"]))
    report = {"machine": machine(), "sizes": rows, "targets": target_report(rows)}
    if previous.get("experiments"):  # one-off measurements written by hand, kept
        report["experiments"] = previous["experiments"]
    return report


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="companies per size, comma-separated (default 100,1000,10000)")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=gen.DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for generating (not for the pipeline)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the temp folders go (default: the system temp dir)")
    parser.add_argument("--skip", default="",
                        help="comma-separated steps to skip: load, dbt, e2e; 'keep' keeps "
                             "the temp folders")
    parser.add_argument("--profile", action="store_true",
                        help="also run the loader under cProfile and keep its top functions")
    parser.add_argument("--fresh", action="store_true",
                        help="drop earlier results of other sizes from results.json")
    parser.add_argument("--no-write", action="store_true", help="do not write results.json")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="results file to merge into and write (default %(default)s)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    config.quiet_telemetry()
    rows: list[dict[str, Any]] = []
    base = Path(tempfile.mkdtemp(prefix="bench_", dir=args.workdir))
    try:
        for companies in args.sizes:
            rows.append(bench_size(companies, args.years, base, args.seed, args.jobs, skip,
                                   args.profile))
            log(f"{companies} x {args.years}: done")
            print(text_table(rows), file=sys.stderr, flush=True)
    finally:
        if "e2e" not in skip:
            log("restoring the default dbt manifest")
            prebuild_manifest(None)
        if "keep" not in skip:
            shutil.rmtree(base, ignore_errors=True)
    report = merge_results(rows, args.fresh, args.results)
    if not args.no_write:
        args.results.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(text_table(report["sizes"]))
    print()
    for t in report["targets"]:
        status = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        note = f"; {t['note']}" if t.get("note") else ""
        print(f"target {t['target']} at {t['size']:,} companies: {status}"
              f" (measured {t['measured']}{note})")
    print()
    print(markdown_table(report["sizes"]))
    m = report["machine"]
    print(f"\nMachine: {m['cores']} cores ({m['cpu']}), {m['memory_bytes'] / 1024**3:.0f} GB RAM,"
          f" Python {m['python']}, DuckDB {m['duckdb']}, dbt-core {m['dbt_core']},"
          f" Dagster {m['dagster']}, {m['date']}")
    ok = all(r.get("e2e_ok", True) and r.get("dbt_build_ok", True) and
             r.get("tieouts", {}).get("exact", True) for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
