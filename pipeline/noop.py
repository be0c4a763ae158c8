"""No-op detection: skip `dbt build` when neither the inputs nor the dbt project changed.

A scheduled run that finds nothing new should finish in seconds, not rebuild every
model. The dbt asset asks `decide()` before it starts dbt; `dbt build` is skipped only
when all of these hold (state, not "this run", so a failed or partial run is never
mistaken for a complete one):

* the last dbt build recorded in `meta.builds` of the working database succeeded, and
  it built the whole project (a run that built one mart from the UI does not count);
* no file load since then (`raw.load_log` rows with status 'loaded' or 'rejected', the
  only loads that add filing versions, re-present old ones or add rejects);
* the dbt project's content hash (models, seeds, macros, tests, dbt_project.yml,
  profiles.yml) equals the one stored with that build;
* the published file is that build's snapshot (a build whose publish failed is
  published by the next run, which rebuilds: `meta.snapshot` names the run);
* the run was not started with `--full-refresh` (tag `warehouse/full_refresh`).

`meta.builds` is written by the dbt asset: a 'running' row before dbt starts (so a
killed build never counts as a success) and 'success' when it ends well.

When dbt does run, it runs incrementally (only the companies loaded after the last
successful build are recomputed, see dbt_project/macros/incremental/) unless
`full_refresh_reason()` names a reason to pass `--full-refresh`: requested, no
successful build of the whole project yet, or a dbt project hash since that build that
differs from the current one (a changed concept map, rule, model or macro; also a build
of a different project that crashed half-way after the last success).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

FULL_REFRESH_TAG = "warehouse/full_refresh"
SKIP_REASON = "skipped: upstream unchanged"
# What dbt reads: a change to any of these can change a model, seed or test.
PROJECT_FOLDERS = ("models", "seeds", "macros", "tests")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")

BUILDS_DDL = """
create schema if not exists meta;
create table if not exists meta.builds (
    run_id        varchar not null,   -- the Dagster run of the dbt build
    started_at    timestamp not null default current_timestamp,
    status        varchar not null,   -- 'running' | 'success'
    full_build    boolean not null,   -- every dbt node of the project was selected
    project_hash  varchar not null,   -- project_hash() of the dbt project at that build
    max_load_id   bigint not null     -- last 'loaded'/'rejected' raw.load_log row it saw
);
"""

LAST_LOAD_SQL = (
    "select coalesce(max(load_id), 0) from raw.load_log where status in ('loaded', 'rejected')"
)


def project_hash(project_dir: Path) -> str:
    """sha256 over the relative paths and bytes of every file dbt reads (sorted)."""
    digest = hashlib.sha256()
    files = [project_dir / name for name in PROJECT_FILES if (project_dir / name).is_file()]
    for folder in PROJECT_FOLDERS:
        root = project_dir / folder
        if root.is_dir():
            files += [p for p in root.rglob("*") if p.is_file()]
    for path in sorted(files):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Decision:
    skip: bool
    reason: str  # why it skips or why it builds, for the log and the UI
    project_hash: str
    max_load_id: int
    last_build_run_id: str | None = None
    full_refresh: bool = True  # when building: `dbt build --full-refresh`, else incremental
    refresh_reason: str = ""   # why full, or what the incremental build recomputes


def _last_load(con: duckdb.DuckDBPyConnection) -> int:
    try:
        row = con.execute(LAST_LOAD_SQL).fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0


def _last_build(con: duckdb.DuckDBPyConnection) -> tuple[str, str, bool, str, int] | None:
    try:
        return con.execute(
            "select run_id, status, full_build, project_hash, max_load_id from meta.builds "
            "order by started_at desc limit 1").fetchone()
    except duckdb.CatalogException:
        return None


def full_refresh_reason(con: duckdb.DuckDBPyConnection, current_hash: str,
                        requested: bool) -> str | None:
    """Why this build must rebuild every model (`--full-refresh`), or None: incremental.

    Incremental models recompute the companies loaded after the watermark of the last
    successful build of the whole project; that is only right if every model was last
    built by the same dbt project. So every build since that success (a crashed one
    included: it may have rebuilt some tables with its own project) must carry the
    current project hash.
    """
    if requested:
        return "full refresh requested"
    try:
        rows = con.execute(
            "select project_hash, status = 'success' and full_build from meta.builds "
            "where started_at >= (select max(started_at) from meta.builds "
            "where status = 'success' and full_build)").fetchall()
    except duckdb.CatalogException:
        return "no previous dbt build recorded"
    if not any(ok for _, ok in rows):
        return "no previous successful build of the whole dbt project"
    if any(stored != current_hash for stored, _ in rows):
        return "dbt project changed since the last successful build"
    return None


def published_run_id(published: Path) -> str | None:
    from pipeline.publish import published_snapshot

    try:
        snap = published_snapshot(published)
    except duckdb.Error:
        return None
    return None if snap is None else str(snap["run_id"])


def decide(con: duckdb.DuckDBPyConnection, *, project_dir: Path, published: Path,
           full_refresh: bool, full_selection: bool) -> Decision:
    """Whether this run's `dbt build` can be skipped, and why (see the module doc)."""
    current = project_hash(project_dir)
    loads = _last_load(con)
    refresh = full_refresh_reason(con, current, full_refresh)

    def build(reason: str, last: str | None = None) -> Decision:
        how = refresh or "incremental: the companies of loads after the last successful build"
        return Decision(False, reason, current, loads, last, refresh is not None, how)

    if full_refresh:
        return build("full refresh requested")
    if not full_selection:
        return build("part of the dbt project selected")
    last = _last_build(con)
    if last is None:
        return build("no previous dbt build recorded")
    run_id, status, full_build, stored_hash, stored_loads = last
    if status != "success" or not full_build:
        return build("the last dbt build did not complete", run_id)
    if stored_hash != current:
        return build("dbt project changed (models, seeds, macros or tests)", run_id)
    if loads != stored_loads:
        return build("new or changed input files since the last build", run_id)
    if published_run_id(published) != run_id:
        return build("the last build was not published", run_id)
    return Decision(True, SKIP_REASON, current, loads, run_id, False, "")


def record_start(con: duckdb.DuckDBPyConnection, run_id: str, decision: Decision,
                 full_build: bool) -> None:
    """A 'running' row: until it turns 'success', no later run may skip dbt."""
    con.execute(BUILDS_DDL)
    con.execute(
        "insert into meta.builds (run_id, status, full_build, project_hash, max_load_id) "
        "values (?, 'running', ?, ?, ?)",
        [run_id, full_build, decision.project_hash, decision.max_load_id])


def record_success(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    con.execute("update meta.builds set status = 'success' where run_id = ? "
                "and status = 'running'", [run_id])
    # keep the table small: only the latest rows matter
    con.execute("delete from meta.builds where started_at < "
                "(select min(started_at) from (select started_at from meta.builds "
                "order by started_at desc limit 20))")


# --- `make run`'s pre-check: a no-op run that never plans the dbt assets -------------------
#
# Planning a run of the whole graph writes one event per asset and check (about 300 at
# the seed), and importing dagster-dbt (dbt-core) takes seconds: most of a no-op run's
# cost. When the CLI can tell beforehand that nothing changed, it runs only the load
# (which records the unchanged files) and its checks; the dbt step of the full job makes
# the same decision itself for runs started by the UI, the schedule or the sensor.


def inputs_unchanged(con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> bool:
    """Every `*.json` of SEEDS_DIR has the content of its last load (the loader's own
    skip rule: the latest sha256 per file in raw.load_log). A file removed from SEEDS_DIR
    changes nothing: raw keeps its history and the loader writes no row for it."""
    try:
        last = dict(con.execute(
            "select source_file, arg_max(sha256, load_id) from raw.load_log "
            "group by source_file").fetchall())
    except duckdb.CatalogException:
        return False
    files = sorted(p for p in seeds_dir.iterdir() if p.name.endswith(".json"))
    if any(p.name not in last for p in files):
        return False
    root = seeds_dir.resolve()
    for path in files:
        if path.is_symlink() or path.resolve().parent != root or last[path.name] is None:
            return False  # the loader re-judges these every run
        if hashlib.sha256(path.read_bytes()).hexdigest() != last[path.name]:
            return False
    return True


def precheck(working: Path, published: Path, seeds_dir: Path, project_dir: Path) -> Decision:
    """The no-op decision before the run starts (read-only; nothing is recorded)."""
    from pipeline import warehouse

    if not working.exists():
        return Decision(False, "no working database yet", "", 0)
    con = warehouse.connect(working, read_only=True)
    try:
        if not inputs_unchanged(con, seeds_dir):
            return Decision(False, "new or changed input files", "", 0)
        return decide(con, project_dir=project_dir, published=published,
                      full_refresh=False, full_selection=True)
    finally:
        con.close()


def load_only_job() -> Any:
    """`warehouse_job` reduced to the fetch and load assets and the raw checks.

    Same job name, so the run sits in the job's history in the UI; it never imports
    dagster-dbt. Only `make run` uses it, after `precheck()` said nothing changed.
    """
    from dagster import Definitions, define_asset_job, in_process_executor

    from pipeline.assets.fetch import fetched_filings, fetcher_resource
    from pipeline.assets.raw import raw_tables
    from pipeline.jobs import WAREHOUSE_JOB_NAME
    from pipeline.resources import duckdb_resource, seeds_resource

    job = define_asset_job(
        name=WAREHOUSE_JOB_NAME, executor_def=in_process_executor,
        description=f"Load $SEEDS_DIR into raw.* only: dbt build {SKIP_REASON}.",
        tags={"warehouse": "load_only"})
    defs = Definitions(
        assets=[fetched_filings, raw_tables], jobs=[job],
        resources={"duckdb": duckdb_resource(), "seeds": seeds_resource(),
                   "fetcher": fetcher_resource()},
        executor=in_process_executor)
    return defs.resolve_job_def(WAREHOUSE_JOB_NAME)
