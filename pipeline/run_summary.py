"""The `make run` summary: files, filings, rejects, tie-outs per rule, asset checks.

Counts come from the warehouse (raw.load_log rows written by this run, totals of raw,
marts.tieout_results per rule) and from the Dagster run (asset check evaluations,
failed steps), so the summary says what the run did, not what it intended to do.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import warehouse
from pipeline.lock import is_lock_conflict, locked_message

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
    con = warehouse.connect(db, read_only=True)
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
    dbt_skipped: bool = False,
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
    if dbt_skipped:
        lines.append("dbt:      no new data; dbt build skipped (upstream unchanged); "
                     "the published snapshot is unchanged")
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


def dbt_build_skipped(result: Any) -> bool:
    """The dbt asset found nothing changed (pipeline/noop.py) and built nothing."""
    from pipeline.noop import SKIP_REASON

    for event in result.get_asset_observation_events():
        observation = event.asset_observation_data.asset_observation
        entry = observation.metadata.get("dbt_build")
        if entry is not None and getattr(entry, "value", entry) == SKIP_REASON:
            return True
    return False


def dimension_null_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Q4 and TTM values that could not be computed (a quarter missing, not consecutive):
    NULL with a reason in marts.quarterly_flows / marts.ttm_flows, counted so a run says
    how much of the quarterly picture is incomplete rather than silently leaving holes."""
    try:
        q4_null, q4_total = con.execute(
            "select count(*) filter (where value is null), count(*) from marts.quarterly_flows "
            "where fiscal_period = 'Q4' and quarter_method = 'annual_difference'"
        ).fetchone() or (0, 0)
        ttm_null, ttm_total = con.execute(
            "select count(*) filter (where value is null), count(*) from marts.ttm_flows"
        ).fetchone() or (0, 0)
    except duckdb.CatalogException:
        return []
    if not q4_total and not ttm_total:  # annual filings only: nothing to say
        return []
    return [
        f"Quarters: {q4_null:,} of {q4_total:,} derived Q4 values NULL with a reason "
        "(marts.quarterly_flows); "
        f"TTM: {ttm_null:,} of {ttm_total:,} values NULL with a reason (marts.ttm_flows)"
    ]


def _open_read_only(db: Path, attempts: int = 20) -> duckdb.DuckDBPyConnection:
    """Read-only connection, retrying briefly if a writer is just closing the file."""
    for attempt in range(attempts):
        try:
            return warehouse.connect(db, read_only=True)
        except duckdb.Error as error:
            if not is_lock_conflict(error) or attempt == attempts - 1:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def publication_lines(run_id: str, published: Path) -> list[str]:
    """Which snapshot readers of the published file now see (meta.snapshot in it)."""
    from pipeline.publish import published_snapshot

    snap = published_snapshot(published)
    if snap is None:
        return [f"Published: nothing; no snapshot at {published} yet (readers have none)."]
    when = f"{snap['published_at']:%Y-%m-%d %H:%M:%S} UTC"
    counts = snap["row_counts"]
    size = published.stat().st_size
    if snap["run_id"] != run_id:
        return [f"Published: nothing this run; readers keep the snapshot of run "
                f"{snap['run_id'][:8]} published {when}."]
    marts = sum(1 for t in counts if t.startswith("marts."))
    return [
        f"Published: run {run_id[:8]} at {when} to {published} ({size / 1e6:,.1f} MB); "
        f"new connections see it, open ones keep their snapshot",
        f"  rows: {counts.get('raw.filings', 0):,} filings, {counts.get('raw.facts', 0):,} "
        f"facts, {counts.get('raw.rejects', 0):,} rejects in raw; {marts} marts tables "
        f"(marts.tieout_results {counts.get('marts.tieout_results', 0):,} rows)",
    ]


def summarize(
    result: Any, *, seeds: Path, db: Path, before: int, seconds: float,
    log_file: Path | None = None, published: Path | None = None,
    dbt_skipped: bool | None = None,
) -> str:
    """The summary of a run that wrote `db` (the working database) and, when it got that
    far, published it to `published` ($WAREHOUSE_DB, shown as the warehouse)."""
    loaded: LoadCounts = LoadCounts()
    totals: dict[str, int | None] = {}
    rules: list[RuleCounts] | None = None
    dimensions: list[str] = []
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
                dimensions = dimension_null_lines(con)
            finally:
                con.close()
    text = format_summary(
        ok=result.success, run_id=result.run_id, seconds=seconds, seeds=seeds,
        db=published or db, loaded=loaded, totals=totals, rules=rules,
        checks=check_counts(result), failures=failure_messages(result, db), log_file=log_file,
        dbt_skipped=dbt_skipped if dbt_skipped is not None else dbt_build_skipped(result),
    )
    lines = text.splitlines()
    # the Q4/TTM NULL counts before the log file's line, which stays last
    at = next((i for i, line in enumerate(lines) if line.startswith("Log of this run")),
              len(lines))
    lines = [*lines[:at], *dimensions, *lines[at:]]
    if published is None:
        return "\n".join(lines)
    at = lines.index("") + 1  # after the header block (make run / seeds / warehouse)
    return "\n".join([*lines[:at], *publication_lines(result.run_id, published), "",
                      *lines[at:]])
