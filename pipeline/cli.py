"""`python -m pipeline.cli run|sql|prepare-home`: what `make run`, `make sql` and `make dev` call.

`run` takes the warehouse's run lock, materializes every asset and asset check in
this process (DuckDB has one writer) against the DagsterInstance at DAGSTER_HOME, so
the run shows in the UI's history, then prints a summary. Exit status: 0 when the
pipeline ran, even if tie-outs failed (they are findings about the data); 1 when the
pipeline failed; 2 for a usage problem (missing SEEDS_DIR); 3 when another program
holds the DuckDB file; 75 when another run holds the lock and --no-wait was given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import config
from pipeline.lock import (
    EXIT_BUSY,
    LockBusy,
    WarehouseLocked,
    check_warehouse_writable,
    holder_info,
    is_lock_conflict,
    locked_message,
    run_lock,
    run_lock_is_free,
)

DAGSTER_YAML_TEMPLATE = Path(__file__).with_name("dagster.yaml")
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


def prepare_home() -> Path:
    """Create DAGSTER_HOME with this project's dagster.yaml unless one is there already."""
    home = config.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(DAGSTER_YAML_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def manifest_is_stale() -> bool:
    """True when a dbt file is newer than target/manifest.json (or there is none).

    The dbt assets are built from the manifest when the definitions are imported, while
    `dbt build` parses the project afresh: a model added since the last parse would
    reach Dagster as an unknown node. `make` re-parses first; a direct
    `python -m pipeline.cli run` does it here.
    """
    manifest = config.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for folder in ("models", "seeds", "macros", "tests", "snapshots"):
        for path in (config.DBT_PROJECT_DIR / folder).rglob("*"):
            if path.suffix in (".sql", ".yml", ".yaml", ".csv") and path.stat().st_mtime > built:
                return True
    for name in ("dbt_project.yml", "profiles.yml"):
        path = config.DBT_PROJECT_DIR / name
        if path.exists() and path.stat().st_mtime > built:
            return True
    return False


def ensure_manifest() -> int:
    if not manifest_is_stale():
        return 0
    from pipeline import dbt_parse

    print("make run: dbt files changed since the last parse; running `dbt parse` first.",
          file=sys.stderr, flush=True)
    return dbt_parse.main()


# --- what the warehouse says before and after a run ----------------------------------------


@dataclass
class LoadCounts:
    files: dict[str, int] = field(default_factory=dict)  # status -> files
    filings: int = 0
    facts: int = 0
    rejects: int = 0


@dataclass
class RuleCounts:
    rule_id: str
    severity: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    try:
        row = con.execute(sql, list(params)).fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def last_load_id(db: Path) -> int:
    if not db.exists():
        return 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(_scalar(con, "select max(load_id) from raw.load_log") or 0)
    finally:
        con.close()


def load_counts(con: duckdb.DuckDBPyConnection, after_load_id: int) -> LoadCounts:
    counts = LoadCounts()
    try:
        rows = con.execute(
            "select status, count(*), coalesce(sum(filings), 0), coalesce(sum(facts), 0), "
            "coalesce(sum(rejects), 0) from raw.load_log where load_id > ? group by status",
            [after_load_id],
        ).fetchall()
    except duckdb.CatalogException:
        return counts
    for status, files, filings, facts, rejects in rows:
        counts.files[status] = int(files)
        counts.filings += int(filings)
        counts.facts += int(facts)
        counts.rejects += int(rejects)
    return counts


def rule_counts(con: duckdb.DuckDBPyConnection) -> list[RuleCounts] | None:
    """Per-rule counts from marts.tieout_results, in the rules seed's order."""
    from pipeline.checks.tieouts import TIEOUT_RULES

    try:
        rows = con.execute(
            "select rule_id, any_value(severity), count(*) filter (where status = 'pass'), "
            "count(*) filter (where status = 'fail'), count(*) filter (where status = 'skipped') "
            "from marts.tieout_results group by rule_id"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    found = {r[0]: RuleCounts(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows}
    ordered = [found.pop(rule.rule_id, RuleCounts(rule.rule_id, rule.severity))
               for rule in TIEOUT_RULES]
    return ordered + [found[k] for k in sorted(found)]


# --- the summary -----------------------------------------------------------------------------


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def format_summary(
    *,
    ok: bool,
    run_id: str,
    seconds: float,
    seeds: Path,
    db: Path,
    loaded: LoadCounts,
    totals: dict[str, int | None],
    rules: list[RuleCounts] | None,
    checks: dict[str, int],
    failures: list[str],
    log_file: Path | None = None,
) -> str:
    lines = [
        f"make run: {'OK' if ok else 'FAILED'} in {seconds:.1f} s "
        f"(Dagster run {run_id[:8]}; history in the UI: make dev)",
        f"  seeds:     {seeds}",
        f"  warehouse: {db}",
        "",
    ]
    files = loaded.files
    seen = sum(files.values())
    lines.append(
        f"Files:    {seen} seen: {files.get('loaded', 0)} loaded, "
        f"{files.get('skipped_unchanged', 0)} unchanged (skipped), "
        f"{files.get('rejected', 0)} rejected"
    )
    lines.append(
        f"Filings:  {loaded.filings:,} loaded this run ({loaded.facts:,} facts); "
        f"{_n(totals.get('filings'))} filing versions, {_n(totals.get('facts'))} facts in raw"
    )
    lines.append(
        f"Rejected: {loaded.rejects:,} records this run; {_n(totals.get('rejects'))} in raw.rejects"
    )
    lines.append("")
    if rules is None:
        lines.append("Tie-outs: not evaluated (marts.tieout_results was not built).")
    else:
        width = max([len("rule_id"), *(len(r.rule_id) for r in rules)])
        lines.append("Tie-outs per rule (marts.tieout_results; failures are findings about "
                     "the data, not errors):")
        lines.append(f"  {'rule_id':<{width}}  severity   pass   fail  skipped")
        for r in rules:
            lines.append(f"  {r.rule_id:<{width}}  {r.severity:<8} {r.passed:>6} "
                         f"{r.failed:>6} {r.skipped:>8}")
        p, f, s = (sum(x.passed for x in rules), sum(x.failed for x in rules),
                   sum(x.skipped for x in rules))
        failing = sum(1 for r in rules if r.failed)
        lines.append(f"  {'total (' + str(len(rules)) + ' rules)':<{width}}  {'':<8} {p:>6} "
                     f"{f:>6} {s:>8}")
        lines.append(f"  {failing} of {len(rules)} rules have failing filings.")
    lines.append("")
    lines.append(
        f"Asset checks: {checks.get('total', 0)} evaluated, {checks.get('passed', 0)} passed, "
        f"{checks.get('failed', 0)} failed ({checks.get('failed_error', 0)} ERROR, "
        f"{checks.get('failed_warn', 0)} WARN)"
    )
    if failures:
        lines.append("")
        lines.append("Pipeline failures:")
        lines.extend(f"  {msg}" for msg in failures)
    if log_file is not None:
        lines.append(f"Log of this run (dbt and Dagster): {log_file}")
    return "\n".join(lines)


def check_counts(result: Any) -> dict[str, int]:
    from dagster import AssetCheckSeverity

    counts = {"total": 0, "passed": 0, "failed": 0, "failed_error": 0, "failed_warn": 0}
    for evaluation in result.get_asset_check_evaluations():
        counts["total"] += 1
        if evaluation.passed:
            counts["passed"] += 1
        else:
            counts["failed"] += 1
            key = ("failed_error" if evaluation.severity == AssetCheckSeverity.ERROR
                   else "failed_warn")
            counts[key] += 1
    return counts


def failure_messages(result: Any, db: Path) -> list[str]:
    messages: list[str] = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:  # the user code's own error
            error = error.cause
        text = f"{error.cls_name}: {error.message}" if error else (event.message or "failed")
        if is_lock_conflict(Exception(text)):
            text = locked_message(db, Exception(text))
        messages.append(f"{event.step_key}: {' '.join(text.split())[:800]}")
    if not messages and not result.success:
        messages.append("the run failed before any step (see the run's logs: make dev)")
    return messages


def _quiet_dagster(verbose: bool) -> None:
    """Dagster's warnings (beta APIs, ...) are for developers, not for a `make run` user."""
    if not verbose:
        warnings.filterwarnings("ignore")


@contextmanager
def captured_output(log_file: Path | None) -> Iterator[None]:
    """Send dbt's progress and Dagster's event log to `log_file` (stdout keeps the summary).

    With no file (--verbose) they go to stderr instead.
    """
    if log_file is None:
        with redirect_stdout(sys.stderr):
            yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as handle, redirect_stdout(handle), \
            redirect_stderr(handle):
        yield


def execute(log_file: Path | None) -> Any:
    """Run the warehouse job in this process against the instance at DAGSTER_HOME."""
    from dagster import DagsterInstance

    from pipeline.definitions import build_definitions
    from pipeline.jobs import WAREHOUSE_JOB_NAME

    with captured_output(log_file):
        defs = build_definitions()
        job = defs.resolve_job_def(WAREHOUSE_JOB_NAME)
        with DagsterInstance.get() as instance:
            return job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                tags={"warehouse/launched_by": "make run"},
            )


def cmd_run(*, wait: bool, verbose: bool) -> int:
    config.quiet_telemetry()
    _quiet_dagster(verbose)
    seeds, db = config.seeds_dir(), config.warehouse_db()
    home = prepare_home()
    # Absolute in the environment too: dbt runs with dbt_project/ as its working directory.
    os.environ.update({"SEEDS_DIR": str(seeds), "WAREHOUSE_DB": str(db),
                       "DAGSTER_HOME": str(home)})
    if not seeds.is_dir():
        print(f"make run: SEEDS_DIR {seeds} does not exist or is not a folder. Create it and "
              f"put the *.json filings there, or point SEEDS_DIR at the folder that has them.",
              file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    try:
        with run_lock(db, wait=wait):
            check_warehouse_writable(db)
            if ensure_manifest() != 0:
                print("make run: `dbt parse` failed; fix the dbt project (see above).",
                      file=sys.stderr)
                return EXIT_FAILED
            before = last_load_id(db)
            print(f"make run: materializing every asset and check over {seeds} into {db} ...",
                  file=sys.stderr, flush=True)
            log_file = None if verbose else home / "logs" / "make_run.log"
            result = execute(log_file)
            summary = summarize(result, seeds=seeds, db=db, before=before,
                                seconds=time.monotonic() - started, log_file=log_file)
    except LockBusy as error:
        print(f"make run: {error}", file=sys.stderr)
        return EXIT_BUSY
    except WarehouseLocked as error:
        print(f"make run: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except (duckdb.Error, OSError) as error:
        print(f"make run: cannot open the warehouse {db}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(summary, flush=True)
    return 0 if result.success else EXIT_FAILED


def _open_read_only(db: Path, attempts: int = 20) -> duckdb.DuckDBPyConnection:
    """Read-only connection, retrying briefly if a writer is just closing the file."""
    for attempt in range(attempts):
        try:
            return duckdb.connect(str(db), read_only=True)
        except duckdb.Error as error:
            if not is_lock_conflict(error) or attempt == attempts - 1:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def summarize(
    result: Any, *, seeds: Path, db: Path, before: int, seconds: float,
    log_file: Path | None = None,
) -> str:
    loaded: LoadCounts = LoadCounts()
    totals: dict[str, int | None] = {}
    rules: list[RuleCounts] | None = None
    if db.exists():
        try:
            con = _open_read_only(db)
        except duckdb.Error as error:  # another program grabbed the file after the run
            print(f"make run: could not read the summary: {error}", file=sys.stderr)
        else:
            try:
                loaded = load_counts(con, before)
                totals = {
                    "filings": _scalar(con, "select count(*) from raw.filings"),
                    "facts": _scalar(con, "select count(*) from raw.facts"),
                    "rejects": _scalar(con, "select count(*) from raw.rejects"),
                }
                rules = rule_counts(con)
            finally:
                con.close()
    return format_summary(
        ok=result.success, run_id=result.run_id, seconds=seconds, seeds=seeds, db=db,
        loaded=loaded, totals=totals, rules=rules, checks=check_counts(result),
        failures=failure_messages(result, db), log_file=log_file,
    )


# --- make sql ----------------------------------------------------------------------------------


def duckdb_cli() -> str:
    """The pip `duckdb-cli` of this venv (1.5.x, matching the file's storage version)."""
    beside = Path(sys.executable).parent / "duckdb"
    return str(beside) if beside.exists() else (shutil.which("duckdb") or "duckdb")


def cmd_sql(extra: Sequence[str]) -> int:
    db = config.warehouse_db()
    if not db.exists():
        print(f"make sql: no warehouse at {db} yet; run `make run` first "
              f"(or point WAREHOUSE_DB at one).", file=sys.stderr)
        return EXIT_USAGE
    if not run_lock_is_free(db):
        info = holder_info(db)
        print(f"make sql: a pipeline run (pid {info.get('pid', '?')}) is writing {db}; "
              f"DuckDB cannot open it read-only until it finishes. Try again shortly.",
              file=sys.stderr)
        return EXIT_BUSY
    binary = duckdb_cli()
    args = list(extra)
    if args and args[0] == "--":
        args = args[1:]
    os.execv(binary, [binary, "-readonly", *args, str(db)])
    return 0  # pragma: no cover - execv does not return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset and check, print a summary")
    run.add_argument("--no-wait", action="store_true",
                     help="exit at once (status 75) when another run holds the warehouse")
    run.add_argument("--verbose", "-v", action="store_true", help="show Dagster's event log")
    sub.add_parser("sql", help="the DuckDB command line on the warehouse, read-only; "
                               "further arguments go to duckdb (e.g. -c 'select 1')")
    sub.add_parser("prepare-home", help="create DAGSTER_HOME with this project's dagster.yaml")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sql"]:  # everything after `sql` belongs to duckdb, dashes included
        return cmd_sql(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(wait=not args.no_wait, verbose=args.verbose)
    home = prepare_home()
    print(f"DAGSTER_HOME={home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
