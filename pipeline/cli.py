"""`python -m pipeline.cli run|sql|prepare-home`: what `make run`, `make sql` and `make dev` call.

`run` takes the warehouse's run lock, materializes every asset and asset check in
this process (DuckDB has one writer) against the DagsterInstance at DAGSTER_HOME, so
the run shows in the UI's history, then prints a summary. Exit status: 0 when the
pipeline ran, even if tie-outs failed (they are findings about the data); 1 when the
pipeline failed; 2 for a usage problem (missing SEEDS_DIR); 3 when another program
holds the working database (`<warehouse>/.build/`, which no reader should open: readers
of $WAREHOUSE_DB never block a run, see pipeline/publish.py); 75 when another run
holds the lock and --no-wait was given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import duckdb

from pipeline import config
from pipeline.lock import (
    EXIT_BUSY,
    LockBusy,
    WarehouseLocked,
    check_warehouse_writable,
    run_lock,
)
from pipeline.noop import FULL_REFRESH_TAG
from pipeline.publish import ensure_working
from pipeline.run_summary import last_load_id, summarize

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


def ensure_manifest() -> int:
    from pipeline.dbt_parse import manifest_is_stale, prepare_manifest

    if not manifest_is_stale():
        return 0
    print("make run: dbt files changed since the last parse; running `dbt parse` first.",
          file=sys.stderr, flush=True)
    try:
        prepare_manifest()
    except Exception as error:  # noqa: BLE001 - reported, and the run stops
        print(f"make run: {error}", file=sys.stderr)
        return 1
    return 0


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


def execute(log_file: Path | None, *, full_refresh: bool = False) -> Any:
    """Run the warehouse job in this process against the instance at DAGSTER_HOME.

    `full_refresh` tags the run so the dbt asset builds even when nothing changed
    (pipeline/noop.py); the tag works the same from the UI's launchpad.
    """
    from pipeline.definitions import build_definitions
    from pipeline.jobs import WAREHOUSE_JOB_NAME

    with captured_output(log_file):
        defs = build_definitions()
        job = defs.resolve_job_def(WAREHOUSE_JOB_NAME)
        return _execute(job, tags={"warehouse/launched_by": "make run",
                                   **({FULL_REFRESH_TAG: "true"} if full_refresh else {})})


def execute_load_only(log_file: Path | None) -> Any:
    """The no-op run: only the load and its checks (pipeline/noop.py decided nothing
    changed); the UI shows the run with the tag `warehouse/dbt_build`."""
    from pipeline.noop import SKIP_REASON, load_only_job

    with captured_output(log_file):
        return _execute(load_only_job(), tags={"warehouse/launched_by": "make run",
                                               "warehouse/dbt_build": SKIP_REASON})


def _execute(job: Any, tags: dict[str, str]) -> Any:
    from dagster import DagsterInstance

    from pipeline.dagster_storage import fast_event_log

    with DagsterInstance.get() as instance:
        fast_event_log(instance)  # same run history, written without an fsync per event
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            tags=tags,
        )


def _nothing_changed(build: Path, db: Path, seeds: Path) -> bool:
    """No input file and no dbt file changed since the last published build, and
    fetching is off (a fetch could bring new files during the run)."""
    from pipeline.fetch.settings import parse_bool
    from pipeline.noop import precheck

    if parse_bool("FETCH_ENABLED", os.environ.get("FETCH_ENABLED")):
        return False
    try:
        decision = precheck(build, db, seeds, config.DBT_PROJECT_DIR)
    except (duckdb.Error, OSError):
        return False
    return decision.skip


def cmd_run(*, wait: bool, verbose: bool, full_refresh: bool = False) -> int:
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
    with ExitStack() as stack:
        try:
            stack.enter_context(run_lock(db, wait=wait))
        except LockBusy as error:
            print(f"make run: {error}", file=sys.stderr)
            return EXIT_BUSY
        except OSError as error:
            print(f"make run: cannot create the lock file beside the warehouse {db}: {error}. "
                  f"Is {db.parent} writable?", file=sys.stderr)
            return EXIT_FAILED
        build = config.build_db(db)
        try:
            ensure_working(db, build)  # first run after an upgrade: start from the published file
            check_warehouse_writable(build)
            before = last_load_id(build)
        except WarehouseLocked as error:
            print(f"make run: {error}", file=sys.stderr)
            return EXIT_LOCKED
        except (duckdb.Error, OSError) as error:
            print(f"make run: cannot open the warehouse {db}: {error}", file=sys.stderr)
            return EXIT_FAILED
        if ensure_manifest() != 0:
            print("make run: `dbt parse` failed; fix the dbt project (see above).",
                  file=sys.stderr)
            return EXIT_FAILED
        skip = not full_refresh and _nothing_changed(build, db, seeds)
        doing = ("no input or dbt file changed: loading and checking raw only, dbt build "
                 "skipped" if skip else "materializing every asset and check")
        print(f"make run: {doing} over {seeds} into {db} ...", file=sys.stderr, flush=True)
        log_file = None if verbose else home / "logs" / "make_run.log"
        result = (execute_load_only(log_file) if skip
                  else execute(log_file, full_refresh=full_refresh))
        summary = summarize(result, seeds=seeds, db=build, published=db, before=before,
                            seconds=time.monotonic() - started, log_file=log_file,
                            dbt_skipped=skip or None)
    print(summary, flush=True)
    return 0 if result.success else EXIT_FAILED


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
    # No wait for a run in progress: runs write the working database and replace this
    # file atomically at their end, so the CLI reads a consistent snapshot meanwhile.
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
    run.add_argument("--full-refresh", action="store_true",
                     help="run `dbt build` even when no input file and no dbt file changed")
    sub.add_parser("sql", help="the DuckDB command line on the warehouse, read-only; "
                               "further arguments go to duckdb (e.g. -c 'select 1')")
    sub.add_parser("prepare-home", help="create DAGSTER_HOME with this project's dagster.yaml")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sql"]:  # everything after `sql` belongs to duckdb, dashes included
        return cmd_sql(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(wait=not args.no_wait, verbose=args.verbose,
                       full_refresh=args.full_refresh)
    home = prepare_home()
    print(f"DAGSTER_HOME={home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
