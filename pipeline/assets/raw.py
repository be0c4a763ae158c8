"""The extract + load asset: `$SEEDS_DIR/*.json` -> raw.filings / facts / load_log / rejects.

One multi-asset because one loader run writes the four tables together (a file's rows
land in one transaction). Its checks are the raw layer's guarantees, verified with
queries against what was written, so they also run in production:

* `raw_facts_unique`: raw.facts is unique on (filing_id, concept, unit, period_start,
  period_end), NULLs equal (the contract checks it with a query, not an index);
* `raw_filings_have_numeric_fact`: every accepted filing has at least one number, or a
  `warning` row in raw.rejects saying it was loaded without one;
* `raw_conservation`: per file, facts + rejected values = keys and filings + rejected
  filings = records (raw.load_log against raw.rejects), and every filing version has
  all its facts in raw.facts;
* `raw_rejects_present` (WARN): what the current inputs could not get in, with reasons.

The first three read only this run's loads (`load_id` above the last one before the
run; all of raw under `--full-refresh`) plus one whole-table invariant, so a run that
loads nothing checks in milliseconds (README: "Runs with nothing new").

The DuckDB connection is closed before the asset returns: dbt runs next in the same
process tree and DuckDB has one writer.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from pipeline.ingest.load import LoadError, LoadSummary, load_seeds
from pipeline.noop import FULL_REFRESH_TAG
from pipeline.publish import ensure_working_for
from pipeline.resources import SeedsResource
from pipeline.run_summary import last_load_id
from pipeline.warehouse import session

FILINGS = AssetKey(["raw", "filings"])
FACTS = AssetKey(["raw", "facts"])
LOAD_LOG = AssetKey(["raw", "load_log"])
REJECTS = AssetKey(["raw", "rejects"])
UPSTREAM = AssetKey("fetched_filings")
PREVIEW_ROWS = 20

CHECKS = [
    AssetCheckSpec("raw_facts_unique", asset=FACTS, description=(
        "raw.facts is unique on (filing_id, concept, unit, period_start, period_end, "
        "coreg, segments), NULLs compared as equal (coreg and segments: FSDS only).")),
    AssetCheckSpec("raw_filings_have_numeric_fact", asset=FILINGS, description=(
        "Every accepted filing version has at least one fact with a value_number, or a "
        "warning row in raw.rejects (kind 'warning') saying it has none.")),
    AssetCheckSpec("raw_conservation", asset=LOAD_LOG, description=(
        "Per file load: facts + rejected values = keys, filings + rejected filings = "
        "records, rejects = raw.rejects rows; every filing version has all its facts.")),
    AssetCheckSpec("raw_rejects_present", asset=REJECTS, description=(
        "WARN when the current version of an input file had rejects (reasons in metadata).")),
]

# Each check reads the filing versions and file loads newer than $after (this run's
# loads; 0 = everything): a filing version's rows are written once, by its first load,
# so older ones were checked by the run that wrote them. WHOLE_TABLE_SQL is the cheap
# invariant over all of raw that still catches a row lost or added outside the loader.

# Duplicate keys of raw.facts: GROUP BY compares NULLs as equal. coreg and segments
# (FSDS only, NULL elsewhere) are part of the key: a segment's or a co-registrant's
# figure is a different fact from the consolidated one.
UNIQUE_SQL = """
select filing_id, concept, unit, period_start, period_end, coreg, segments, count(*) as n
from raw.facts
where filing_id in (select filing_id from raw.filings where load_id > $after)
group by all
having count(*) > 1
order by n desc, filing_id, concept
limit 20
"""

NO_NUMBER_SQL = """
select f.filing_id, f.source_file, f.record_index, f.symbol, f.period_end
from raw.filings f
where f.load_id > $after
and not exists (
    select 1 from raw.facts x where x.filing_id = f.filing_id and x.value_number is not null
)
and not exists (  -- loaded on purpose, with a warning row (the vendor reader's choice)
    select 1 from raw.rejects r
    where r.kind = 'warning' and r.load_id = f.load_id and r.record_index = f.record_index
)
order by f.source_file, f.record_index
limit 20
"""

# Per file load attempt (not skips): the load_log counts against raw.rejects rows, and
# every filing version against its facts.
CONSERVATION_SQL = """
with rejected as (
    select load_id,
           count(*) as rejects,
           count(*) filter (where kind = 'value') as values_rejected,
           count(*) filter (where kind = 'filing') as filings_rejected
    from raw.rejects
    where load_id > $after
    group by load_id
),
logs as (
    select l.load_id, l.source_file, l.status, l.records, l.keys, l.filings, l.facts,
           l.rejects, coalesce(r.rejects, 0) as reject_rows,
           coalesce(r.values_rejected, 0) as values_rejected,
           coalesce(r.filings_rejected, 0) as filings_rejected
    from raw.load_log l
    left join rejected r using (load_id)
    where l.status in ('loaded', 'rejected') and l.load_id > $after
),
files as (
    select 'file' as level, source_file as item, load_id,
           concat_ws('; ',
               case when facts + values_rejected <> keys then
                   format('facts {} + rejected values {} <> keys {}',
                          facts, values_rejected, keys) end,
               case when filings + filings_rejected <> records then
                   format('filings {} + rejected filings {} <> records {}',
                          filings, filings_rejected, records) end,
               case when rejects <> reject_rows then
                   format('load_log rejects {} <> raw.rejects rows {}', rejects, reject_rows)
               end) as problem
    from logs
    where facts + values_rejected <> keys
       or filings + filings_rejected <> records
       or rejects <> reject_rows
       or keys is null or records is null
),
versions as (
    select 'filing' as level, f.filing_id as item, f.load_id,
           format('fact_count {} <> raw.facts rows {}', f.fact_count, count(x.filing_id))
               as problem
    from raw.filings f
    left join raw.facts x using (filing_id)
    where f.load_id > $after
    group by f.filing_id, f.load_id, f.fact_count
    having count(x.filing_id) <> f.fact_count
)
select * from files
union all
select * from versions
order by load_id, item
limit 50
"""

# Whole table, cheap (two aggregates): every fact row belongs to a filing version's
# fact_count, no more, no fewer.
WHOLE_TABLE_SQL = """
select (select count(*) from raw.facts) as facts,
       (select coalesce(sum(fact_count), 0) from raw.filings) as declared,
       (select count(*) from raw.filings) as filings
"""

# Rejects of the latest read of each file (a file fixed since has no current rejects).
CURRENT_REJECTS_SQL = """
with latest as (
    select source_file, max(load_id) as load_id
    from raw.load_log
    where status in ('loaded', 'rejected')
    group by source_file
)
select r.source_file, r.record_index, r.concept, r.kind, r.reason
from raw.rejects r
join latest using (source_file, load_id)
order by r.source_file, r.record_index nulls first, r.concept
"""

REJECT_PREVIEW_SQL = """
select source_file, record_index, concept, reason
from raw.rejects
order by load_id desc, source_file, record_index
limit 20
"""


def _md_table(rows: list[dict[str, Any]], limit: int = PREVIEW_ROWS) -> str:
    if not rows:
        return "_none_"
    columns = list(rows[0])

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 120 else text[:117] + "..."

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n_{len(rows) - limit} more rows_")
    return "\n".join(lines)


def _dicts(con: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params) if params else con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _summary_metadata(summary: LoadSummary) -> dict[str, Any]:
    files = [{"file": f.source_file, "status": f.status, "filings": f.filings,
              "facts": f.facts, "rejects": f.rejects, "new filings": f.new_filings}
             for f in summary.files]
    return {
        "files_seen": summary.files_seen,
        "files_loaded": summary.files_loaded,
        "files_skipped": summary.files_skipped,
        "files_rejected": summary.files_rejected,
        "filings": summary.filings,
        "facts": summary.facts,
        "rejects": summary.rejects,
        "new_filings": summary.new_filings,
        "new_facts": summary.new_facts,
        "load_seconds": MetadataValue.float(round(summary.seconds, 3)),
        "preview": MetadataValue.md(_md_table(files)),
    }


def run_checks(db_path: Path, after_load_id: int = 0) -> list[AssetCheckResult]:
    """The four raw checks, by query, on a connection closed before returning.

    They read the loads with `load_id > after_load_id` (the raw asset passes the last
    load_id before this run: a no-op run checks nothing new, in milliseconds) plus the
    whole-table invariant; 0 checks everything.
    """
    after = {"after": after_load_id}
    with session(db_path, read_only=True) as con:
        dupes = _dicts(con, UNIQUE_SQL, after)
        no_number = _dicts(con, NO_NUMBER_SQL, after)
        broken = _dicts(con, CONSERVATION_SQL, after)
        current = _dicts(con, CURRENT_REJECTS_SQL)
        total_facts, declared, filings_total = con.execute(WHOLE_TABLE_SQL).fetchone() or (0, 0, 0)
        counts = con.execute(
            "select (select count(*) from raw.facts x join raw.filings f using (filing_id) "
            "where f.load_id > $after), (select count(*) from raw.filings where load_id > $after), "
            "(select count(*) from raw.load_log where status in ('loaded', 'rejected') "
            "and load_id > $after)", after).fetchone()
    facts, filings, loads = counts if counts else (0, 0, 0)
    if total_facts != declared:
        broken.append({"level": "table", "item": "raw.facts", "load_id": None,
                       "problem": f"raw.facts rows {total_facts} <> sum of raw.filings."
                                  f"fact_count {declared}"})
    reasons: dict[str, int] = {}
    for row in current:
        reasons[row["kind"] or "?"] = reasons.get(row["kind"] or "?", 0) + 1
    files_with_rejects = sorted({r["source_file"] for r in current})
    return [
        AssetCheckResult(
            check_name="raw_facts_unique", asset_key=FACTS, passed=not dupes,
            metadata={"facts_checked": facts, "facts": total_facts,
                      "after_load_id": after_load_id, "duplicate_keys": len(dupes),
                      "examples": MetadataValue.md(_md_table(dupes))}),
        AssetCheckResult(
            check_name="raw_filings_have_numeric_fact", asset_key=FILINGS,
            passed=not no_number,
            metadata={"filings_checked": filings, "filings": filings_total,
                      "without_number": len(no_number),
                      "examples": MetadataValue.md(_md_table(no_number))}),
        AssetCheckResult(
            check_name="raw_conservation", asset_key=LOAD_LOG, passed=not broken,
            metadata={"file_loads_checked": loads, "filing_versions_checked": filings,
                      "whole_table_facts": total_facts, "whole_table_declared": declared,
                      "violations": len(broken),
                      "examples": MetadataValue.md(_md_table(broken))}),
        AssetCheckResult(
            check_name="raw_rejects_present", asset_key=REJECTS, passed=not current,
            severity=AssetCheckSeverity.WARN,
            metadata={"current_rejects": len(current),
                      "by_kind": MetadataValue.json(reasons),
                      "files": MetadataValue.json(files_with_rejects[:100]),
                      "reasons": MetadataValue.md(_md_table(
                          [{"file": r["source_file"], "record": r["record_index"],
                            "reason": r["reason"]} for r in current], limit=50))}),
    ]


@multi_asset(
    specs=[
        AssetSpec(FILINGS, deps=[UPSTREAM], group_name="raw", kinds={"duckdb", "python"},
                  description="One row per filing version (content-addressed filing_id)."),
        AssetSpec(FACTS, deps=[UPSTREAM], group_name="raw", kinds={"duckdb", "python"},
                  description="One row per fact of every accepted filing version."),
        AssetSpec(LOAD_LOG, deps=[UPSTREAM], group_name="raw", kinds={"duckdb", "python"},
                  description="One row per completed file load attempt."),
        AssetSpec(REJECTS, deps=[UPSTREAM], group_name="raw", kinds={"duckdb", "python"},
                  description="Whatever could not be accepted, with the reason."),
    ],
    check_specs=CHECKS,
    can_subset=False,
)
def raw_tables(
    context: AssetExecutionContext, duckdb: DuckDBResource, seeds: SeedsResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Load `$SEEDS_DIR/*.json` into the raw tables, then verify them."""
    db_path = Path(duckdb.database)
    seeds_dir = seeds.directory()
    ensure_working_for(db_path)  # an upgraded installation: start from the published file
    full = context.run.tags.get(FULL_REFRESH_TAG) == "true"
    before = 0 if full else last_load_id(db_path)  # checks read this run's loads only
    try:
        summary = load_seeds(seeds_dir, db_path)
    except LoadError as exc:
        raise Failure(description=str(exc)) from exc
    context.log.info(
        f"{summary.files_seen} files: {summary.files_loaded} loaded, {summary.files_skipped} "
        f"unchanged, {summary.files_rejected} rejected; {summary.new_filings} new filing "
        f"versions, {summary.new_facts} new facts, {summary.rejects} rejects "
        f"({summary.seconds:.2f} s)")
    base = _summary_metadata(summary)
    with session(db_path, read_only=True) as con:
        rows = dict(con.execute(
            "select 'filings', count(*) from raw.filings union all "
            "select 'facts', count(*) from raw.facts union all "
            "select 'load_log', count(*) from raw.load_log union all "
            "select 'rejects', count(*) from raw.rejects").fetchall())
        reject_preview = _dicts(con, REJECT_PREVIEW_SQL)
    for key, table in ((FILINGS, "filings"), (FACTS, "facts"), (LOAD_LOG, "load_log"),
                       (REJECTS, "rejects")):
        metadata = dict(base)
        metadata["dagster/row_count"] = rows.get(table, 0)
        if key == REJECTS:
            metadata["preview"] = MetadataValue.md(_md_table(reject_preview))
        yield MaterializeResult(asset_key=key, metadata=metadata)
    yield from run_checks(db_path, before)


raw_asset_checks: list[Any] = []  # the checks are part of `raw_tables` (check_specs)
