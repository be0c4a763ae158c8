"""Accounting tie-outs as Dagster asset checks: one check per rule of the rules seed.

The rules are data (dbt_project/seeds/tieout_rules.csv) and dbt evaluates them into
`marts.tieout_results`; this module only reports them. Each rule becomes a check on
its statement's asset (`["marts", "balance_sheet"]`, ...) that passes when no filing
fails, carries the rule's severity, never blocks (a failure is a finding about the
data, not a broken pipeline) and runs after `marts.tieout_results` in the same run
(`additional_deps`). One op evaluates every selected rule with one query.
"""


import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from pipeline import config
from pipeline.lock import WarehouseLockResource

RULES_CSV = config.DBT_SEEDS_DIR / "tieout_rules.csv"
TIEOUT_RESULTS_KEY = AssetKey(["marts", "tieout_results"])
STATEMENTS = ("balance_sheet", "income_statement", "cash_flow_statement")
SEVERITIES = {"error": AssetCheckSeverity.ERROR, "warn": AssetCheckSeverity.WARN}
MAX_FAILING_ROWS = 50


@dataclass(frozen=True)
class TieoutRule:
    rule_id: str
    severity: str  # 'error' | 'warn'
    statement: str
    description: str

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(["marts", self.statement])

    @property
    def check_severity(self) -> AssetCheckSeverity:
        return SEVERITIES[self.severity]


def read_rules(path: Path = RULES_CSV) -> list[TieoutRule]:
    """One rule per distinct rule_id, in file order (a rule may span several term rows)."""
    if not path.exists():
        return []
    rules: dict[str, TieoutRule] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rule_id = (row.get("rule_id") or "").strip()
            if not rule_id or rule_id in rules:
                continue
            severity = (row.get("severity") or "").strip().lower()
            statement = (row.get("statement") or "").strip()
            if severity not in SEVERITIES or statement not in STATEMENTS:
                raise ValueError(f"{path}: rule {rule_id!r} has severity {severity!r} and "
                                 f"statement {statement!r}; expected one of "
                                 f"{sorted(SEVERITIES)} and {list(STATEMENTS)}")
            rules[rule_id] = TieoutRule(rule_id, severity, statement,
                                        (row.get("description") or "").strip())
    return list(rules.values())


def format_amount(value: Any) -> str:
    """Readable amounts for the markdown table: 38,014,000 rather than -38014000.0000000000."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        normal = value.normalize()
        if normal == normal.to_integral_value():
            return f"{int(normal):,}"
        return f"{normal:,f}"
    return str(value)


def failing_table(rows: Sequence[dict[str, Any]], total: int) -> str:
    """Markdown table of failing filings (capped; the rest is in marts.tieout_results)."""
    if not rows:
        return "No failing filings."
    header = ("| source | symbol | fiscal_year | fiscal_period | period_end | filing_id "
              "| lhs | rhs | difference | tolerance |")
    lines = [header, "|" + "---|" * 10]
    for r in rows[:MAX_FAILING_ROWS]:
        lines.append(
            f"| {r['source']} | {r['symbol']} | {r['fiscal_year']} | {r['fiscal_period']} "
            f"| {r['period_end']} | {r['filing_id']} | {format_amount(r['lhs'])} "
            f"| {format_amount(r['rhs'])} | {format_amount(r['difference'])} "
            f"| {format_amount(r['tolerance'])} |"
        )
    if total > MAX_FAILING_ROWS:
        lines.append(f"\n… and {total - MAX_FAILING_ROWS} more in marts.tieout_results.")
    return "\n".join(lines)


COUNTS_SQL = """
select rule_id, status, count(*) as n
from marts.tieout_results
where list_contains(?, rule_id)
group by all
"""

FAILING_SQL = """
select rule_id, source, symbol, fiscal_year, fiscal_period, period_end, filing_id,
       lhs, rhs, difference, tolerance,
       row_number() over (partition by rule_id
                          order by abs(difference) desc nulls last, symbol, fiscal_year,
                                   fiscal_period) as failure_rank
from marts.tieout_results
where status = 'fail' and list_contains(?, rule_id)
qualify failure_rank <= ?
order by rule_id, failure_rank
"""


def evaluate(con: Any, rules: Sequence[TieoutRule]) -> Iterator[AssetCheckResult]:
    """One AssetCheckResult per rule from marts.tieout_results."""
    ids = [r.rule_id for r in rules]
    counts: dict[tuple[str, str], int] = {
        (rule_id, status): n for rule_id, status, n in con.execute(COUNTS_SQL, [ids]).fetchall()
    }
    cur = con.execute(FAILING_SQL, [ids, MAX_FAILING_ROWS])
    cols = [d[0] for d in cur.description]
    failing: dict[str, list[dict[str, Any]]] = {}
    for row in cur.fetchall():
        record = dict(zip(cols, row, strict=True))
        failing.setdefault(record["rule_id"], []).append(record)
    for rule in rules:
        passed_n = counts.get((rule.rule_id, "pass"), 0)
        failed_n = counts.get((rule.rule_id, "fail"), 0)
        skipped_n = counts.get((rule.rule_id, "skipped"), 0)
        yield AssetCheckResult(
            asset_key=rule.asset_key,
            check_name=rule.rule_id,
            passed=failed_n == 0,
            severity=rule.check_severity,
            description=rule.description or None,
            metadata={
                "rule_id": rule.rule_id,
                "severity": rule.severity,
                "evaluated": MetadataValue.int(passed_n + failed_n),
                "passed": MetadataValue.int(passed_n),
                "failed": MetadataValue.int(failed_n),
                "skipped": MetadataValue.int(skipped_n),
                "failing_filings": MetadataValue.md(
                    failing_table(failing.get(rule.rule_id, []), failed_n)),
            },
        )


def build_tieout_checks(rules: Sequence[TieoutRule]) -> list[AssetChecksDefinition]:
    """A multi-check with one non-blocking spec per rule, after marts.tieout_results."""
    if not rules:
        return []
    by_name = {r.rule_id: r for r in rules}
    specs = [
        AssetCheckSpec(
            name=rule.rule_id,
            asset=rule.asset_key,
            additional_deps=[TIEOUT_RESULTS_KEY],
            blocking=False,
            description=(f"[{rule.severity.upper()}] {rule.description}".strip()
                         + " Passes when no filing fails; counts and failing filings in "
                           "the metadata (rows: marts.tieout_results)."),
            metadata={"severity": rule.severity, "statement": rule.statement},
        )
        for rule in rules
    ]

    @multi_asset_check(specs=specs, can_subset=True, name="tieout_checks",
                       description="Accounting tie-outs (one check per rule_id).")
    def tieout_checks(
        context: AssetCheckExecutionContext,
        duckdb: DuckDBResource,
        warehouse_lock: WarehouseLockResource,
    ) -> Iterator[AssetCheckResult]:
        del warehouse_lock  # held for the run, so the query never races a writer
        selected = [by_name[key.name] for key in context.selected_asset_check_keys
                    if key.name in by_name]
        selected.sort(key=lambda r: list(by_name).index(r.rule_id))
        with duckdb.get_connection() as con:
            results = list(evaluate(con, selected))
        yield from results

    return [tieout_checks]


TIEOUT_RULES = read_rules()
tieout_checks = build_tieout_checks(TIEOUT_RULES)
