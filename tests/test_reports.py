"""The HTML reports over the seed warehouse, checked in headless Chromium (offline).

One Chromium run per page (index, TROO): the DOM the browser built is parsed and its
cells compared with the marts (SQL) and with hand-checked figures from the seed:
TROO's 2023 total assets are 70,345,000 and its 2020 balance sheet does not balance
(total assets 52,116,000 against liabilities and equity 90,130,000: difference
(38,014,000) beyond a tolerance of 1: the 2020 filing's loans, 201,647,726, make its
rounding unit 1).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from pipeline.reports import build, charts, fmt, pages, site, templates
from pipeline.reports.data import Company, ReportData, RuleSummary
from pipeline.reports.paths import company_filename, company_href, reports_dir
from tests.browser import Node, PageRun, ensure_chromium, parse, run_page
from tests.helpers import query, query_dicts

TROO = ("vendor", "TROO")
CHART_IDS = ("chart-income", "chart-margins", "chart-liquidity", "chart-fcf")
STATEMENTS = ("income_statement", "balance_sheet", "cash_flow_statement")


# --- fixtures: one build, one Chromium run per page ---------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


@pytest.fixture(scope="module")
def built(seed_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> site.BuildResult:
    out = tmp_path_factory.mktemp("report_site") / "reports"
    return build(seed_warehouse, out)


@pytest.fixture(scope="module")
def troo_run(chromium: str, built: site.BuildResult,
             tmp_path_factory: pytest.TempPathFactory) -> PageRun:
    page = built.out_dir / company_href(*TROO)
    return run_page(chromium, page, tmp_path_factory.mktemp("chromium_troo"))


@pytest.fixture(scope="module")
def index_run(chromium: str, built: site.BuildResult,
              tmp_path_factory: pytest.TempPathFactory) -> PageRun:
    return run_page(chromium, built.index, tmp_path_factory.mktemp("chromium_index"))


@pytest.fixture(scope="module")
def troo(troo_run: PageRun) -> Node:
    return parse(troo_run.dom)


@pytest.fixture(scope="module")
def index(index_run: PageRun) -> Node:
    return parse(index_run.dom)


def statement_text(value: Decimal | None, decimals: int | None = None) -> str:
    """How a statement prints a number, computed independently of pipeline.reports.fmt:
    whole units, or cents where the value has a fraction (a tolerance of 1.5)."""
    if value is None:
        return "\u2014"
    if decimals is None:
        decimals = 0 if value == value.to_integral_value() else 2
    text = f"{abs(value):,.{decimals}f}"
    return f"({text})" if value < 0 else text


# --- the TROO page ------------------------------------------------------------------------


def test_troo_2023_total_assets(troo: Node, seed_warehouse: Path) -> None:
    cell = troo.find("td", data_line="total_assets", data_year="2023")
    assert cell.text() == "70,345,000"
    # provenance on hover: the concept and the filing version that supplied the value
    [(concept, filing_id)] = query(seed_warehouse, """
        select source_concept, value_filing_id from marts.statement_lines
        where symbol = 'TROO' and fiscal_year = 2023 and fiscal_period = 'FY'
          and line_item = 'total_assets'""")
    assert cell.attrs["title"] == f"Reported: {concept} | filing {filing_id}"
    assert concept == "assets"


def test_troo_derived_value_says_how(troo: Node) -> None:
    cell = troo.find("td", data_line="total_noncurrent_assets", data_year="2019")
    assert cell.text() == "(46,210,000)"  # 1,018,000 - 47,228,000: the 2019 data is dirty
    assert "derived" in cell.attrs["class"].split()
    assert cell.attrs["title"].startswith(
        "Derived: total_assets - total_current_assets (identity bs_assets_sum) | filing ")


def test_troo_2020_balance_sheet_failure(troo: Node) -> None:
    row = troo.find("tr", data_rule="bs_assets_equal_liabilities_and_equity", data_year="2020")
    assert "fail" in row.attrs["class"].split() and "error" in row.attrs["class"].split()
    cells = {td.attrs["data-col"]: td.text() for td in row.find_all("td")
             if "data-col" in td.attrs}
    assert cells == {"lhs": "52,116,000", "rhs": "90,130,000", "difference": "(38,014,000)",
                     "tolerance": "1"}
    explanation = row.find("td", class_="detail").text()
    assert "total_assets 52116000 = total_liabilities_and_equity 90130000; difference " \
           "-38014000 beyond tolerance 1 = (1 + 1) x unit 1 / 2" in explanation
    assert "The balance sheet balances: total assets equal total liabilities and equity." \
        in explanation  # the rule's description (reference.tieout_rules)


def test_troo_failures_are_exactly_the_marts(troo: Node, seed_warehouse: Path) -> None:
    expected = query_dicts(seed_warehouse, """
        select fiscal_year, rule_id, lhs, rhs, difference, tolerance from marts.tieout_results
        where symbol = 'TROO' and status = 'fail'""")
    rows = troo.find("table", id="failures").find_all("tr", class_="fail")
    shown = {(int(r.attrs["data-year"]), r.attrs["data-rule"]):
             {td.attrs["data-col"]: td.text() for td in r.find_all("td") if "data-col" in td.attrs}
             for r in rows}
    # 25 rules: the continuing + discontinued identity fails too in 2019 and 2020
    assert len(rows) == len(expected) == 18
    for e in expected:
        assert shown[(e["fiscal_year"], e["rule_id"])] == {
            col: statement_text(e[col]) for col in ("lhs", "rhs", "difference", "tolerance")}


def test_troo_statements_equal_the_marts(troo: Node, seed_warehouse: Path) -> None:
    """Every annual line-item cell of the three statements is the mart's value."""
    kinds = dict(query(seed_warehouse, "select line_item, value_kind from reference.line_items"))
    checked = 0
    for statement in STATEMENTS:
        table = troo.find("table", data_statement=statement)
        rows = query_dicts(seed_warehouse, f"select * from marts.{statement} "  # noqa: S608
                           "where symbol = 'TROO' and fiscal_period = 'FY'")
        for row in rows:
            for item, kind in kinds.items():
                if item not in row:
                    continue
                cells = table.find_all("td", data_line=item, data_year=str(row["fiscal_year"]))
                if all(r.get(item) is None for r in rows):
                    assert cells == [], item  # a line nobody reports is not shown
                    continue
                [cell] = cells
                decimals = 2 if kind == "per_share" else 0
                assert cell.text() == statement_text(row[item], decimals), (statement, item)
                checked += 1
    assert checked > 200
    # a few cells by hand, from the seed
    income = troo.find("table", data_statement="income_statement")
    assert income.find("td", data_line="revenue", data_year="2023").text() == "3,569,000"
    assert income.find("td", data_line="net_income", data_year="2020").text() == "(67,918,000)"
    assert income.find("td", data_line="eps_basic", data_year="2020").text() == "(0.69)"
    cash = troo.find("table", data_statement="cash_flow_statement")
    assert cash.find("td", data_line="free_cash_flow", data_year="2023").text() == "(6,759,000)"


def test_troo_charts_are_drawn(troo: Node) -> None:
    for chart_id in CHART_IDS:
        svg = troo.find("svg", id=chart_id)
        assert "chart" in svg.attrs["class"] and svg.attrs["data-empty"] == "false"
        marks = [n for g in svg.find_all("g", class_="series") for n in g.iter()
                 if n.tag in ("polyline", "circle", "rect")]
        assert marks, chart_id
        assert svg.find_all("text", class_="axis-title"), chart_id  # labelled axes
    # five fiscal years: a bar per year, the two negative ones red
    bars = troo.find("svg", id="chart-fcf").find("g", class_="series").find_all("rect")
    assert len(bars) == 5
    assert [b.attrs["fill"] == charts.NEGATIVE for b in bars] == [False, False, False, True,
                                                                   True]
    revenue = troo.find("svg", id="chart-income").find_all("g", data_series="Revenue")[0]
    assert len(revenue.find_all("circle")) == 5
    assert revenue.find_all("title")[-1].text() == "Revenue, 2023: 3,569,000"
    # debt to equity is NULL for every TROO year (no debt reported): the legend says so
    liquidity = troo.find("svg", id="chart-liquidity")
    assert liquidity.find_all("g", data_series="Debt to equity (not reported)")


def test_no_request_leaves_the_machine(troo_run: PageRun, index_run: PageRun,
                                       troo: Node, index: Node) -> None:
    assert troo_run.remote_requests == [] and index_run.remote_requests == []
    for dom in (troo, index):
        for node in dom.iter():
            for name, value in node.attrs.items():
                if name in ("xmlns", "xmlns:xlink"):
                    continue  # a namespace name, never fetched
                assert "http:" not in value and "https:" not in value, (node.tag, name, value)
        assert not dom.find_all("script")


def test_the_offline_check_can_fail(chromium: str, tmp_path: Path) -> None:
    """The net-log check sees a page that does ask for a remote resource."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://203.0.113.7/pixel.png">', encoding="utf-8")
    run = run_page(chromium, page, tmp_path / "chromium")
    assert run.remote_requests == ["http://203.0.113.7/pixel.png"]


# --- the index ------------------------------------------------------------------------------


def test_index_lists_troo(index: Node, built: site.BuildResult) -> None:
    row = index.find("tr", data_source="vendor", data_symbol="TROO")
    cells = [td.text().strip() for td in row.find_all("td")]
    assert cells[:8] == ["TROO TROOPS, Inc.", "vendor", "FY2023", "3,569,000", "(1,719,000)",
                         "70,345,000", "100%", "18"]
    link = row.find("a")
    assert link.attrs["href"] == company_href(*TROO)
    assert (built.out_dir / link.attrs["href"]).is_file()
    spark = row.find("svg", class_="sparkline")
    assert spark.find_all("polyline") and "FY2023 3,569,000" in spark.attrs["aria-label"]
    # pass rate per rule: bs_assets_equal_liabilities_and_equity passes 3 of 5 filings
    rule = [r for r in index.find("table", id="rules").find_all("tr")
            if "bs_assets_equal_liabilities_and_equity" in r.text()][0]
    assert [td.text().strip() for td in rule.find_all("td")][2:6] == ["3", "2", "0", "60%"]


# --- the build: files, escaping, atomic swap --------------------------------------------------


def test_build_result(built: site.BuildResult) -> None:
    assert (built.companies, built.pages, built.tieout_rows) == (1, 2, 125)  # 5 x 25 rules
    assert sorted(p.name for p in built.out_dir.iterdir()) == [
        "companies", "index.html", "manifest.json"]
    assert (built.full, built.pages_rendered, built.pages_unchanged) == (True, 1, 0)
    assert not [p for p in built.out_dir.parent.iterdir() if p.name.startswith(".")]


def hostile_company() -> Company:
    failed = {"fiscal_year": 2023, "fiscal_period": "FY", "period_end": None,
              "rule_id": "<rule>", "severity": "warn", "lhs": Decimal(1), "rhs": Decimal(2),
              "difference": Decimal(-1), "tolerance": Decimal(0), "status": "fail",
              "detail": "<img src=x onerror=alert(1)>"}
    return Company(source="vendor", symbol='<script>alert("x")</script>/../../etc',
                   cik="1 & 2", name="Evil \"Quotes\" & <b>Tags</b>", first_period_end=None,
                   last_period_end=None, filings=1,
                   statements={"income_statement": [{
                       "source": "vendor", "symbol": "x", "fiscal_year": 2023,
                       "fiscal_period": "FY", "currency": "<USD>", "period_end": None,
                       "revenue": Decimal("-5")}]},
                   tieouts=[failed], failures=[failed])


def test_hostile_input_is_escaped_and_named_safely() -> None:
    company = hostile_company()
    data = ReportData(companies=[company], line_items={}, rules=[], rule_text={})
    html = templates.render("company.html", root="../", built_at="now", warehouse="w",
                            **pages.company_context(company, data))
    assert "<script" not in html and "<img" not in html and "<b>Tags" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # failure row, matrix title
    assert "&lt;USD&gt;" in html
    index_html = templates.render("index.html", root="", built_at="now", warehouse="w",
                                  **pages.index_context(data))
    assert "<script" not in index_html and "<b>Tags" not in index_html
    assert f'href="{company_href(company.source, company.symbol)}"' in index_html
    name = company_filename(company.source, company.symbol)
    assert "/" not in name and ".." not in name and name.endswith(".html")
    # names differing only in case (or in unsafe characters) never share a file
    assert company_filename("vendor", "ab") != company_filename("vendor", "AB")
    assert company_filename("vendor", "a/b") != company_filename("vendor", "a?b")


def test_failed_build_keeps_the_previous_site(seed_warehouse: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports"
    first = build(seed_warehouse, out)
    before = first.index.read_text(encoding="utf-8")

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(site, "render_site", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build(seed_warehouse, out)
    assert first.index.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no temp folder left
    monkeypatch.undo()
    (out / "stale.html").write_text("old", encoding="utf-8")
    build(seed_warehouse, out)  # a rebuild replaces the folder: nothing stale survives
    assert not (out / "stale.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_reports_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REPORTS_DIR", raising=False)
    assert reports_dir(tmp_path / "w" / "financials.duckdb") == tmp_path / "w" / "reports"
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "elsewhere"))
    assert reports_dir(tmp_path / "w" / "financials.duckdb") == tmp_path / "elsewhere"


def test_number_formats() -> None:
    assert fmt.amount(Decimal("-38014000.0000000000")) == "(38,014,000)"
    assert fmt.amount(Decimal("70345000.0000000000")) == "70,345,000"
    assert fmt.amount(Decimal("12.5")) == "12.50"
    assert fmt.amount(None) == "\u2014"
    assert fmt.line_item("per_share", Decimal("-0.6923")) == "(0.69)"
    assert fmt.percent(-0.1234) == "(12.3%)" and fmt.percent(float("nan")) == "\u2014"
    assert fmt.ratio(2.2591573152657207) == "2.26x"
    assert fmt.axis_amounts([-5e5, 0.0, 5e5, 1e6]) == ["\u22120.5M", "0", "0.5M", "1.0M"]
    assert fmt.axis_percents([0.0, 0.025, 0.05]) == ["0%", "2.5%", "5.0%"]
    assert charts.nice_ticks(0, 70e6) == [0.0, 2e7, 4e7, 6e7, 8e7]
    assert charts.nice_ticks(-38e6, 90e6) == [-5e7, 0.0, 5e7, 1e8]


# --- the Dagster asset ---------------------------------------------------------------------------


def test_reports_asset_lineage_and_job() -> None:
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey("reports"))
    assert node.group_name == "reports" and node.is_executable
    for name in ("balance_sheet", "income_statement", "cash_flow_statement", "statement_lines",
                 "financial_ratios", "tieout_results", "filing_quality", "companies"):
        assert AssetKey(["marts", name]) in node.parent_keys, name
    job = defs.resolve_job_def("warehouse_job")
    assert AssetKey("reports") in set(job.asset_layer.executable_asset_keys)


def test_reports_asset_materializes(seed_warehouse: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.assets.reports import reports

    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "site"))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([reports], instance=instance, resources={
            "duckdb": DuckDBResource(database=str(seed_warehouse))})
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = event.materialization.metadata
    assert meta["index"].value == str(tmp_path / "site" / "index.html")
    assert meta["open"].value == (tmp_path / "site" / "index.html").as_uri()
    assert (meta["companies"].value, meta["pages"].value,
            meta["tieout_rows"].value) == (1, 2, 125)
    assert (meta["full_build"].value, meta["pages_rendered"].value,
            meta["pages_unchanged"].value, meta["pages_removed"].value) == (True, 1, 0, 0)
    table = meta["tieout_pass_rate_per_rule"].value
    assert "| `bs_assets_equal_liabilities_and_equity` | error | 3 | 2 | 0 | `" \
           "████████████░░░░░░░░` 60% |" in table
    assert (tmp_path / "site" / company_href(*TROO)).is_file()
    assert os.access(tmp_path / "site" / "index.html", os.R_OK)


def test_rule_summary_pass_rate() -> None:
    assert RuleSummary("r", "warn", 3, 2, 0).pass_rate == 0.6
    assert RuleSummary("r", "warn", 0, 0, 4).pass_rate is None


def test_parallel_render_writes_the_same_pages(seed_warehouse: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked workers (used from PARALLEL_FROM companies) write what one process writes."""
    serial = build(seed_warehouse, tmp_path / "serial")
    monkeypatch.setattr(site, "PARALLEL_FROM", 1)
    monkeypatch.setenv("REPORTS_JOBS", "2")
    parallel = build(seed_warehouse, tmp_path / "parallel")
    assert parallel.pages == serial.pages == 2

    def page(result: site.BuildResult) -> str:
        text = (result.out_dir / company_href(*TROO)).read_text(encoding="utf-8")
        return text[:text.index("<footer>")]  # the footer carries the build time

    assert page(parallel) == page(serial)


def test_company_without_annual_rows_renders() -> None:
    """A companies row with no statement yet: a page with empty (labelled) charts."""
    company = Company("sec", "EMPTY", None, None, None, None, 0)
    data = ReportData(companies=[company], line_items={}, rules=[], rule_text={})
    html = templates.render("company.html", root="../", built_at="now", warehouse="w",
                            **pages.company_context(company, data))
    dom = parse(html)
    assert [svg.attrs["data-empty"] for svg in dom.find_all("svg", class_="chart")] == [
        "true"] * 4
    assert html.count("No data reported") == 4
    assert html.count("No annual (FY) filing reports this statement.") == 3
