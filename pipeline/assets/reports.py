"""The `reports` asset: the static HTML site over the marts (pipeline.reports).

Downstream of the marts it reads, so the lineage shows what a page is made of and a
full run (`make run`) rebuilds the site after dbt. It only reads the warehouse
(read-only connection, closed before returning), but it takes the warehouse's run
lock (re-entrant: inside `make run` the run already holds it), so `make report`
alone waits for a running pipeline instead of failing on DuckDB's file lock.
"""

# (no `from __future__ import annotations`: Dagster inspects the context annotation)

from collections.abc import Sequence

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from pipeline import config
from pipeline.lock import run_lock
from pipeline.reports import build
from pipeline.reports.data import RuleSummary
from pipeline.reports.paths import reports_dir

MARTS = ("companies", "income_statement", "balance_sheet", "cash_flow_statement",
         "statement_lines", "financial_ratios", "tieout_results", "filing_quality")
REFERENCE = ("line_items", "tieout_rules")
DEPS = [AssetKey(["marts", name]) for name in MARTS] + [
    AssetKey(["reference", name]) for name in REFERENCE]
BAR_WIDTH = 20


def pass_rate_markdown(rules: Sequence[RuleSummary]) -> str:
    """Tie-out pass rate per rule as a markdown table with a text bar (Dagster renders it)."""
    lines = ["| rule | severity | pass | fail | skipped | pass rate |",
             "|---|---|--:|--:|--:|---|"]
    for r in rules:
        rate = r.pass_rate
        if rate is None:
            bar = "not evaluated"
        else:
            filled = round(rate * BAR_WIDTH)
            bar = f"`{'█' * filled}{'░' * (BAR_WIDTH - filled)}` {rate:.0%}"
        lines.append(f"| `{r.rule_id}` | {r.severity} | {r.passed} | {r.failed} | "
                     f"{r.skipped} | {bar} |")
    return "\n".join(lines)


@asset(
    name="reports",
    group_name="reports",
    deps=DEPS,
    kinds={"html"},
    description=(
        "Static HTML reports under <warehouse folder>/reports (or $REPORTS_DIR): an index "
        "of companies (latest figures, quality score, revenue sparkline) and one page per "
        "company (statements by fiscal year with provenance on hover, SVG charts, tie-out "
        "results). No JavaScript, no network: pages open from file://. Incremental: only "
        "the pages whose rows changed are rendered again (pages_rendered / pages_unchanged "
        "/ pages_removed)."
    ),
)
def reports(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
    # Read the database the run built (the DuckDB resource: the working database), write
    # beside the published file users open, under the run lock named after that file.
    db = config.resolve_path(duckdb.database)
    published = config.published_db(db)
    out_dir = reports_dir(published)
    with run_lock(published, wait=True, on_wait=context.log.warning):
        result = build(db, out_dir)
    context.log.info(
        f"Reports: {'full build' if result.full else 'incremental'}, {result.pages} pages in "
        f"{out_dir}: {result.pages_rendered} rendered, {result.pages_unchanged} unchanged, "
        f"{result.pages_removed} removed (read {result.read_seconds:.1f} s, "
        f"render {result.render_seconds:.1f} s)")
    return MaterializeResult(metadata={
        "index": MetadataValue.path(str(result.index)),
        "open": MetadataValue.url(result.index.as_uri()),
        "companies": result.companies,
        "pages": result.pages,
        "tieout_rows": result.tieout_rows,
        "full_build": result.full,
        "pages_rendered": result.pages_rendered,
        "pages_unchanged": result.pages_unchanged,
        "pages_removed": result.pages_removed,
        "read_seconds": round(result.read_seconds, 2),
        "render_seconds": round(result.render_seconds, 2),
        "build_seconds": round(result.read_seconds + result.render_seconds, 2),
        "tieout_pass_rate_per_rule": MetadataValue.md(pass_rate_markdown(result.rules)),
    })
