"""Page contents: the marts' rows turned into formatted cells, KPIs and charts.

Everything a template shows is prepared here as text (already formatted for people)
or as chart `Markup`; the templates only lay it out and escape it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape as html_escape
from typing import Any

from markupsafe import Markup

from pipeline.reports import charts, fmt, labels
from pipeline.reports.data import STATEMENTS, Company, ReportData, series
from pipeline.reports.paths import company_href

NOT_REPORTED = "not reported"
SEVERITY_ORDER = {"error": 0, "warn": 1}


def period_label(fiscal_year: int | None, fiscal_period: str | None) -> str:
    if fiscal_period == "FY":
        return f"FY{fiscal_year}"
    return f"{fiscal_period or '?'} {fiscal_year if fiscal_year is not None else ''}".strip()


def score_class(score: float | None) -> str:
    if score is None:
        return ""
    return "good" if score >= 0.95 else "mid" if score >= 0.75 else "bad"


def _is_negative(value: Any) -> bool:
    return isinstance(value, Decimal | float | int) and value < 0


def currencies(company: Company) -> dict[int, str]:
    """The reporting currency of each fiscal year (the first statement that says)."""
    out: dict[int, str] = {}
    for name, _ in STATEMENTS:
        for row in company.statements.get(name, []):
            if row.get("currency") and row["fiscal_year"] not in out:
                out[row["fiscal_year"]] = row["currency"]
    return out


def currency_text(company: Company) -> str:
    codes = sorted(set(currencies(company).values()))
    return ", ".join(codes) if codes else NOT_REPORTED


def _latest(company: Company, statement: str) -> dict[str, Any]:
    rows = company.statements.get(statement, [])
    return rows[-1] if rows else {}


# --- index ----------------------------------------------------------------------------------


def index_row(company: Company) -> dict[str, Any]:
    income = _latest(company, "income_statement")
    balance = _latest(company, "balance_sheet")
    years = company.fiscal_years
    quality = company.latest_annual_quality()
    score = quality["score"] if quality else None
    revenue = series(company.statements.get("income_statement", []), years, "revenue")
    spark_label = "Revenue by fiscal year: " + ", ".join(
        f"FY{y} {fmt.amount(v)}" for y, v in zip(years, revenue, strict=True) if v is not None)
    return {
        "source": company.source,
        "symbol": company.symbol,
        "name": company.name or "",
        "href": company_href(company.source, company.symbol),
        "latest_year": f"FY{years[-1]}" if years else fmt.MISSING,
        "currency": income.get("currency") or balance.get("currency") or "",
        "revenue": fmt.amount(income.get("revenue")),
        "net_income": fmt.amount(income.get("net_income")),
        "net_income_negative": _is_negative(income.get("net_income")),
        "total_assets": fmt.amount(balance.get("total_assets")),
        "score": fmt.score(score),
        "score_class": score_class(score),
        "failed": sum(int(q["rules_failed"] or 0) for q in company.quality),
        "sparkline": Markup(charts.sparkline(revenue, label=spark_label)),
    }


def rule_rows(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for rule in data.rules:
        rate = rule.pass_rate
        text = data.rule_text.get(rule.rule_id)
        rows.append({
            "rule_id": rule.rule_id, "severity": rule.severity, "passed": rule.passed,
            "failed": rule.failed, "skipped": rule.skipped, "rate": fmt.score(rate),
            "width": f"{(rate or 0) * 100:.1f}", "description": text.description if text else "",
        })
    return rows


def index_context(data: ReportData) -> dict[str, Any]:
    passed = sum(r.passed for r in data.rules)
    evaluated = passed + sum(r.failed for r in data.rules)
    return {
        "companies": [index_row(c) for c in data.companies],
        "filings": f"{sum(c.filings for c in data.companies):,}",
        "checks_passed": f"{passed:,}",
        "checks_evaluated": f"{evaluated:,}",
        "rules": rule_rows(data),
    }


# --- company page ---------------------------------------------------------------------------


def kpis(company: Company) -> list[dict[str, str]]:
    years = company.fiscal_years
    if not years:
        return []
    year = years[-1]
    income = company.annual("income_statement").get(year, {})
    balance = company.annual("balance_sheet").get(year, {})
    cash = company.annual("cash_flow_statement").get(year, {})
    currency = currencies(company).get(year)
    note = f"FY{year} \u00b7 {currency}" if currency else f"FY{year}"
    quality = company.latest_annual_quality()
    out = [
        {"label": "Revenue", "value": fmt.amount(income.get("revenue")), "note": note},
        {"label": "Operating income", "value": fmt.amount(income.get("operating_income")),
         "note": note},
        {"label": "Net income", "value": fmt.amount(income.get("net_income")), "note": note},
        {"label": "Total assets", "value": fmt.amount(balance.get("total_assets")), "note": note},
        {"label": "Free cash flow", "value": fmt.amount(cash.get("free_cash_flow")),
         "note": note},
    ]
    if quality:
        out.append({"label": "Quality score", "value": fmt.score(quality["score"]),
                    "note": f"{period_label(quality['fiscal_year'], quality['fiscal_period'])}: "
                            f"{quality['rules_passed']} of {quality['rules_evaluated']} "
                            f"rules pass"})
    return out


def _named(name: str, values: Sequence[float | None]) -> charts.Series:
    """A series; the legend says so when it has no value at all."""
    present = any(v is not None for v in values)
    return charts.Series(name if present else f"{name} (not reported)", values)


def company_charts(company: Company) -> list[dict[str, Any]]:
    years = company.fiscal_years
    labels_ = [str(y) for y in years]
    income = company.statements.get("income_statement", [])
    cash = company.statements.get("cash_flow_statement", [])
    codes = sorted(set(currencies(company).values()))
    unit = f"Amount ({', '.join(codes)})" if codes else "Amount (currency not reported)"
    ratios = company.ratios
    return [
        {"caption": "Revenue, operating income and net income by fiscal year (income statement).",
         "svg": Markup(charts.line_chart(
             "chart-income", "Revenue, operating income and net income", labels_,
             [_named("Revenue", series(income, years, "revenue")),
              _named("Operating income", series(income, years, "operating_income")),
              _named("Net income", series(income, years, "net_income"))],
             y_title=unit, axis=fmt.axis_amounts, value_format=fmt.amount))},
        {"caption": "Gross, operating and net margin (financial_ratios; net margin uses "
                    "net income to parent).",
         "svg": Markup(charts.line_chart(
             "chart-margins", "Margins", labels_,
             [_named("Gross margin", series(ratios, years, "gross_profit_margin")),
              _named("Operating margin", series(ratios, years, "operating_profit_margin")),
              _named("Net margin", series(ratios, years, "net_profit_margin"))],
             y_title="% of revenue", axis=fmt.axis_percents, value_format=fmt.percent))},
        {"caption": "Current ratio (current assets / current liabilities) and debt to equity.",
         "svg": Markup(charts.line_chart(
             "chart-liquidity", "Current ratio and debt to equity", labels_,
             [_named("Current ratio", series(ratios, years, "current_ratio")),
              _named("Debt to equity", series(ratios, years, "debt_to_equity"))],
             y_title="Multiple (x)", axis=fmt.axis_ratios, value_format=fmt.ratio))},
        {"caption": "Free cash flow: operating cash flow less capital expenditure.",
         "svg": Markup(charts.bar_chart(
             "chart-fcf", "Free cash flow", labels_, series(cash, years, "free_cash_flow"),
             name="Free cash flow", y_title=unit, axis=fmt.axis_amounts,
             value_format=fmt.amount))},
    ]


def statement_cell(line_attr: str, year: int, text: str, classes: str, title: str) -> str:
    """One statement <td>, built here rather than in the template: at 1,000 companies x
    1,800 cells a Jinja loop per cell was most of the build time.

    `line_attr` comes escaped (once per row); `text` is fmt's output (digits, commas,
    parentheses, a dash) and `classes` our own words, so only the provenance, which
    is data, is escaped per cell.
    """
    title_attr = f' title="{html_escape(title)}"' if title else ""
    return (f'<td class="{classes}" data-line="{line_attr}" data-year="{year:d}"'
            f"{title_attr}>{text}</td>")


def statement_tables(company: Company, data: ReportData) -> list[dict[str, Any]]:
    years = company.fiscal_years
    codes = currencies(company)
    tables = []
    for name, title in STATEMENTS:
        by_year = company.annual(name)
        shown = [y for y in years if y in by_year]
        head = [{"year": y, "currency": codes.get(y, "currency n/a"),
                 "period_end": by_year[y].get("period_end") or ""} for y in shown]
        rows = []
        for item in data.line_items.get(name, []):
            values = [by_year[y].get(item.name) for y in shown]
            if all(v is None for v in values):
                continue
            cells = []
            line_attr = html_escape(item.name)
            for year, value in zip(shown, values, strict=True):
                method, title_text = company.provenance.get((name, year, item.name), ("", ""))
                classes = "num"
                if value is None:
                    classes += " missing"
                elif _is_negative(value):
                    classes += " neg"
                if method == "derived":
                    classes += " derived"
                cells.append(statement_cell(line_attr, year, fmt.line_item(item.kind, value),
                                            classes, title_text))
            unit = {"per_share": " (per share)", "shares": " (shares)"}.get(item.kind, "")
            rows.append({"name": item.name, "label": labels.line_item(item.name) + unit,
                         "description": item.description, "total": item.name in labels.TOTALS,
                         "cells": Markup("".join(cells))})
        tables.append({"name": name, "title": title, "years": head, "rows": rows})
    return tables


def quality_rows(company: Company) -> list[dict[str, Any]]:
    return [{
        "period": period_label(q["fiscal_year"], q["fiscal_period"]),
        "period_end": q["period_end"] or "",
        "score": fmt.score(q["score"]), "score_class": score_class(q["score"]),
        "passed": q["rules_passed"], "failed": q["rules_failed"],
        "failed_count": int(q["rules_failed"] or 0), "skipped": q["rules_skipped"],
        "worst": q["worst_failed_severity"],
    } for q in company.quality]


def failure_rows(company: Company, data: ReportData) -> list[dict[str, Any]]:
    failed = list(company.failures)
    failed.sort(key=lambda t: (t["period_end"] or datetime.min.date(),
                               SEVERITY_ORDER.get(t["severity"], 9), t["rule_id"]))
    out = []
    for t in failed:
        rule = data.rule_text.get(t["rule_id"])
        out.append({
            "period": period_label(t["fiscal_year"], t["fiscal_period"]),
            "fiscal_year": t["fiscal_year"], "fiscal_period": t["fiscal_period"],
            "rule_id": t["rule_id"], "severity": t["severity"],
            "description": rule.description if rule else "",
            "lhs": fmt.amount(t["lhs"]), "rhs": fmt.amount(t["rhs"]),
            "difference": fmt.amount(t["difference"]), "tolerance": fmt.amount(t["tolerance"]),
            "detail": t["detail"] or "",
        })
    return out


def matrix_cell(cell: dict[str, Any] | None) -> str:
    """One status cell of the rule x period matrix (built here for speed, like the
    statement cells); the rule's detail is the hover text."""
    if cell is None:
        return "<td></td>"
    status = cell["status"]
    classes = f"status {status} {cell['severity']}" if status == "fail" else f"status {status}"
    return (f'<td><span class="{html_escape(classes)}" title="{html_escape(cell["detail"])}">'
            f"{html_escape(status)}</span></td>")


def matrix(company: Company, data: ReportData) -> dict[str, Any]:
    periods: list[tuple[Any, ...]] = []
    cells: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    for t in company.tieouts:
        period = (t["period_end"], t["fiscal_year"], t["fiscal_period"])
        if period not in periods:
            periods.append(period)
        cells[(t["rule_id"], period)] = {"status": t["status"], "severity": t["severity"],
                                         "detail": t["detail"] or t["status"]}
    order = {rule: i for i, rule in enumerate(data.rule_text)}
    rules = sorted({t["rule_id"] for t in company.tieouts}, key=lambda r: (order.get(r, 99), r))
    return {
        "periods": [period_label(p[1], p[2]) for p in periods],
        "rows": [{"rule_id": r, "cells": Markup("".join(
            matrix_cell(cells.get((r, p))) for p in periods))} for r in rules],
    }


def company_context(company: Company, data: ReportData) -> dict[str, Any]:
    return {
        "c": {
            "source": company.source, "symbol": company.symbol, "cik": company.cik,
            "name": company.name or company.symbol, "filings": company.filings,
            "first_period_end": company.first_period_end or fmt.MISSING,
            "last_period_end": company.last_period_end or fmt.MISSING,
            "currency_text": currency_text(company),
        },
        "kpis": kpis(company),
        "charts": company_charts(company),
        "statements": statement_tables(company, data),
        "quality": quality_rows(company),
        "failures": failure_rows(company, data),
        "matrix": matrix(company, data),
    }
