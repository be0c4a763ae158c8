"""What the report shows, read from the marts in a few bulk queries.

One query per mart (not one per company): at 1,000 companies a per-company query
loop would spend more time in round trips than in rendering. Rows are grouped by
(source, symbol) in Python. The SQL is constant text; nothing from the data is ever
spliced into it. Values are passed through untouched (DECIMAL stays `Decimal`), so a
page shows exactly the mart's number, only formatted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipeline.warehouse import session

CompanyKey = tuple[str, str]  # (source, symbol)

STATEMENTS: tuple[tuple[str, str], ...] = (
    ("income_statement", "Income statement"),
    ("balance_sheet", "Balance sheet"),
    ("cash_flow_statement", "Cash flow statement"),
)

# Constant SQL, one per mart. Annual rows only for the statements and ratios (the
# page's tables and charts are by fiscal year); every period for the tie-outs. Each is a
# Part: its select (no order) and its order, so the same text serves the full read, the
# read of a few companies (site.py's incremental build) and the per-company digest.


@dataclass(frozen=True)
class Part:
    """One bulk read of a mart: `select` has source and symbol columns; rows sort by `order`."""

    name: str
    select: str
    order: str

    @property
    def sql(self) -> str:
        return f"{self.select} order by {self.order}"

    @property
    def keyed_sql(self) -> str:
        """The rows of the companies given as two parallel lists ($1 sources, $2 symbols)."""
        keys = ("(select unnest($1::varchar[]) as source, unnest($2::varchar[]) as symbol)"
                " k using (source, symbol)")  # the keys are parameters, never text
        return f"select * from ({self.select}) q semi join {keys} order by {self.order}"  # noqa: S608


_BY_YEAR = "source, symbol, fiscal_year"
STATEMENT_PARTS: dict[str, Part] = {
    name: Part(name, f"select * from marts.{name} where fiscal_period = 'FY'",  # noqa: S608
               _BY_YEAR)
    for name in ("income_statement", "balance_sheet", "cash_flow_statement")
}
STATEMENT_SQL: dict[str, str] = {name: part.sql for name, part in STATEMENT_PARTS.items()}

LINE_ITEMS_SQL = """
select table_name, column_name
from information_schema.columns
where table_schema = 'marts' and table_name in ('income_statement', 'balance_sheet',
      'cash_flow_statement') and data_type like 'DECIMAL%'
order by table_name, ordinal_position
"""

# The reference seeds say what each line item is (money, per share, shares) and what
# each rule checks; they are optional here so a report still renders without them.
LINE_ITEM_KINDS_SQL = """
select statement, line_item, value_kind, description from reference.line_items
"""

RULES_SQL = """
select rule_id, identity, description from reference.tieout_rules order by ordinal
"""

COMPANIES = Part("companies", """
select source, symbol, cik, company_name, first_period_end, last_period_end, filings
from marts.companies""", "source, symbol")

RATIOS = Part("ratios", """
select source, symbol, fiscal_year, gross_profit_margin, operating_profit_margin,
       net_profit_margin, current_ratio, debt_to_equity, free_cash_flow_margin
from marts.financial_ratios
where fiscal_period = 'FY'""", _BY_YEAR)

_BY_PERIOD = "source, symbol, period_end, fiscal_year, fiscal_period"
QUALITY = Part("quality", """
select source, symbol, fiscal_year, fiscal_period, period_end, filing_id,
       rules_evaluated, rules_passed, rules_failed, rules_skipped, worst_failed_severity, score
from marts.filing_quality""", _BY_PERIOD)

# Every (period, rule) for the status matrix (no amounts: converting 170,000 rows of
# DECIMALs to Python would cost seconds at 1,000 companies), and the failures in full.
TIEOUTS = Part("tieouts", """
select source, symbol, fiscal_year, fiscal_period, period_end, rule_id, severity, status, detail
from marts.tieout_results""", _BY_PERIOD + ", rule_id")

FAILURES = Part("failures", """
select source, symbol, fiscal_year, fiscal_period, period_end, filing_id, rule_id, severity,
       lhs, rhs, difference, rounding_unit, tolerance, status, detail
from marts.tieout_results
where status = 'fail'""", _BY_PERIOD + ", rule_id")

# The hover text of a statement cell, built in SQL so 700,000 provenance rows cross
# into Python as one short string each.
PROVENANCE = Part("provenance", """
select source, symbol, fiscal_year, statement, line_item, method,
       case when method = 'reported'
            then 'Reported: ' || coalesce(source_concept, 'concept not recorded')
            else 'Derived: ' || coalesce(derivation, 'formula not recorded')
                 || coalesce(' (identity ' || derivation_rule || ')', '')
       end || ' | filing ' || coalesce(value_filing_id, 'unknown') as title
from marts.statement_lines
where fiscal_period = 'FY'""", "source, symbol, fiscal_year, statement, line_item")

COMPANIES_SQL = COMPANIES.sql
RATIOS_SQL = RATIOS.sql
QUALITY_SQL = QUALITY.sql
TIEOUTS_SQL = TIEOUTS.sql
FAILURES_SQL = FAILURES.sql
PROVENANCE_SQL = PROVENANCE.sql

# What the index shows of every company (read in full on every build), and what only a
# company's own page shows (read only for the pages being rendered).
INDEX_PARTS: tuple[Part, ...] = (COMPANIES, *STATEMENT_PARTS.values(), QUALITY)
PAGE_PARTS: tuple[Part, ...] = (RATIOS, TIEOUTS, FAILURES, PROVENANCE)
ALL_PARTS: tuple[Part, ...] = INDEX_PARTS + PAGE_PARTS


def digest_sql(parts: Sequence[Part] = ALL_PARTS) -> str:
    """One query: per company, a digest of every row each part reads for its page.

    Per part, the sum of DuckDB's 64-bit row hashes and the row count (order-free and
    cheap: 0.3 s over the 1,000-company warehouse where md5 over the rows' text takes
    4.5 s); the parts' sums are then hashed together with md5. A DuckDB upgrade that
    changes `hash` only makes every page look changed, which is the safe direction.
    """
    per_part = " union all ".join(
        f"select source, symbol, '{part.name}' as part, "  # noqa: S608 - module constants
        f"sum(hash(q))::varchar || ':' || count(*) as h from ({part.select}) q "
        f"group by source, symbol" for part in parts)
    return (f"select source, symbol, md5(string_agg(part || '=' || h, ';' order by part)) "  # noqa: S608
            f"from ({per_part}) group by source, symbol order by source, symbol")


def read_digests(con: duckdb.DuckDBPyConnection) -> dict[CompanyKey, str]:
    """(source, symbol) -> digest of what that company's page renders (see digest_sql)."""
    return {(source, symbol): digest for source, symbol, digest in
            con.execute(digest_sql()).fetchall()}


RULE_SUMMARY_SQL = """
select rule_id, any_value(severity) as severity,
       count(*) filter (where status = 'pass') as passed,
       count(*) filter (where status = 'fail') as failed,
       count(*) filter (where status = 'skipped') as skipped
from marts.tieout_results
group by rule_id
order by rule_id
"""


@dataclass
class Company:
    """Everything one company page needs."""

    source: str
    symbol: str
    cik: str | None
    name: str | None
    first_period_end: date | None
    last_period_end: date | None
    filings: int
    statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)
    tieouts: list[dict[str, Any]] = field(default_factory=list)  # every rule, no amounts
    failures: list[dict[str, Any]] = field(default_factory=list)  # failed rules, with amounts
    # (statement, fiscal_year, line_item) -> (method, hover text)
    provenance: dict[tuple[str, int, str], tuple[str, str]] = field(default_factory=dict)

    @property
    def key(self) -> CompanyKey:
        return (self.source, self.symbol)

    @property
    def fiscal_years(self) -> list[int]:
        """Fiscal years with an annual row in any statement, ascending."""
        years = {row["fiscal_year"] for rows in self.statements.values() for row in rows}
        return sorted(years)

    def annual(self, statement: str) -> dict[int, dict[str, Any]]:
        return {row["fiscal_year"]: row for row in self.statements.get(statement, [])}

    def latest_annual_quality(self) -> dict[str, Any] | None:
        annual = [q for q in self.quality if q["fiscal_period"] == "FY"]
        return (annual or self.quality or [None])[-1]


@dataclass(frozen=True)
class LineItem:
    name: str
    kind: str  # 'monetary' | 'per_share' | 'shares'
    description: str


@dataclass(frozen=True)
class Rule:
    rule_id: str
    identity: str
    description: str


@dataclass
class RuleSummary:
    rule_id: str
    severity: str
    passed: int
    failed: int
    skipped: int

    @property
    def pass_rate(self) -> float | None:
        evaluated = self.passed + self.failed
        return self.passed / evaluated if evaluated else None


@dataclass
class ReportData:
    companies: list[Company]
    line_items: dict[str, list[LineItem]]
    rules: list[RuleSummary]
    rule_text: dict[str, Rule]

    @property
    def tieout_rows(self) -> int:
        return sum(len(c.tieouts) for c in self.companies)


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _group(rows: Iterable[dict[str, Any]]) -> dict[CompanyKey, list[dict[str, Any]]]:
    grouped: dict[CompanyKey, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[(row["source"], row["symbol"])].append(row)
    return grouped


def _optional(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []


def read_rule_text(con: duckdb.DuckDBPyConnection) -> dict[str, Rule]:
    """What each tie-out rule checks (reference.tieout_rules), in the seed's order."""
    return {r[0]: Rule(r[0], r[1] or "", r[2] or "") for r in _optional(con, RULES_SQL)}


def read_line_items(con: duckdb.DuckDBPyConnection) -> dict[str, list[LineItem]]:
    """Line-item columns of each statement mart in table order (the contract's order)."""
    kinds = {(st, li): (kind, desc) for st, li, kind, desc in _optional(con, LINE_ITEM_KINDS_SQL)}
    items: dict[str, list[LineItem]] = defaultdict(list)
    for table, column in con.execute(LINE_ITEMS_SQL).fetchall():
        kind, description = kinds.get((table, column), ("monetary", ""))
        items[table].append(LineItem(column, kind or "monetary", description or ""))
    return dict(items)


def _rows(con: duckdb.DuckDBPyConnection, part: Part,
          keys: Sequence[CompanyKey] | None) -> list[dict[str, Any]]:
    if keys is None:
        return _dicts(con, part.sql)
    cur = con.execute(part.keyed_sql, [[k[0] for k in keys], [k[1] for k in keys]])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def read_report_data(con: duckdb.DuckDBPyConnection,
                     page_keys: Iterable[CompanyKey] | None = None,
                     all_keys: Iterable[CompanyKey] = ()) -> ReportData:
    """Every company with its annual statements, ratios, quality, tie-outs and provenance.

    With `page_keys`, what only a company page shows (ratios, tie-outs, failures,
    provenance: most of the rows) is read for those companies only; the index's parts
    are read for all. `all_keys` (the digests' keys) adds a bare entry for a company
    that has rows only in a page part, as the full read does.
    """
    keys = None if page_keys is None else sorted(set(page_keys))
    companies = [
        Company(source=r["source"], symbol=r["symbol"], cik=r["cik"], name=r["company_name"],
                first_period_end=r["first_period_end"], last_period_end=r["last_period_end"],
                filings=int(r["filings"] or 0))
        for r in _dicts(con, COMPANIES.sql)
    ]
    by_key = {c.key: c for c in companies}

    def company_for(key: CompanyKey) -> Company:
        company = by_key.get(key)
        if company is None:  # a mart row without a companies row: show it anyway
            company = Company(source=key[0], symbol=key[1], cik=None, name=None,
                              first_period_end=None, last_period_end=None, filings=0)
            by_key[key] = company
            companies.append(company)
        return company

    def attach(rows: dict[CompanyKey, list[dict[str, Any]]], setter: Any) -> None:
        for key, group in rows.items():
            setter(company_for(key), group)

    for statement, part in STATEMENT_PARTS.items():
        attach(_group(_dicts(con, part.sql)),
               lambda c, g, s=statement: c.statements.__setitem__(s, g))
    attach(_group(_rows(con, RATIOS, keys)), lambda c, g: setattr(c, "ratios", g))
    attach(_group(_dicts(con, QUALITY.sql)), lambda c, g: setattr(c, "quality", g))
    attach(_group(_rows(con, TIEOUTS, keys)), lambda c, g: setattr(c, "tieouts", g))
    attach(_group(_rows(con, FAILURES, keys)), lambda c, g: setattr(c, "failures", g))
    for row in _rows(con, PROVENANCE, keys):
        company = by_key.get((row["source"], row["symbol"]))
        if company is not None:
            company.provenance[(row["statement"], row["fiscal_year"], row["line_item"])] = (
                row["method"], row["title"])
    for key in all_keys:
        company_for(key)
    companies.sort(key=lambda c: (c.source, c.symbol))
    rules = [RuleSummary(r["rule_id"], r["severity"], int(r["passed"]), int(r["failed"]),
                         int(r["skipped"])) for r in _dicts(con, RULE_SUMMARY_SQL)]
    return ReportData(companies=companies, line_items=read_line_items(con), rules=rules,
                      rule_text=read_rule_text(con))


def load(db_path: str | Path) -> ReportData:
    """Read the report's data from the warehouse file, read-only, closed before returning."""
    with session(db_path, read_only=True) as con:
        return read_report_data(con)


def series(rows: Sequence[dict[str, Any]], years: Sequence[int], column: str) -> list[
        float | None]:
    """One value per fiscal year (None where the year or the value is missing), as float."""
    by_year = {row["fiscal_year"]: row.get(column) for row in rows}
    out: list[float | None] = []
    for year in years:
        value = by_year.get(year)
        out.append(float(value) if isinstance(value, Decimal | float | int) else None)
    return out
