"""Normalized statements (issue 3): concept map, derivations, version precedence, provenance.

Two real warehouses: the session's seed warehouse (seeds/TROO.json, figures checked by hand
against the file) and one module warehouse built from tests/data/companies/ACMW_nested.json,
a second company written for these tests: the nested shape, other concept variants, the
concept-map traps, two quarters and two amendments (a partial one of FY2023 and a
cover-page-only one of FY2022).
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SEED_FILE, TEST_DATA, load, make_seeds_dir, query, run_dbt

ACMW_FILE = TEST_DATA / "companies" / "ACMW_nested.json"
SEEDS = REPO / "dbt_project" / "seeds"
STATEMENTS = ("balance_sheet", "income_statement", "cash_flow_statement")


def ident(name: str) -> str:
    """A quoted SQL identifier (table and column names come from this file and the seeds)."""
    return '"' + name.replace('"', '""') + '"'


def line(db: Path, symbol: str, year: int, item: str, period: str = "FY") -> dict[str, Any]:
    """One statement_lines row (provenance included) as a dict."""
    cols = ("value", "value_filing_id", "method", "source_concept", "derivation",
            "derivation_rule", "filing_id")
    sql = (f"select {', '.join(map(ident, cols))} from marts.statement_lines "  # noqa: S608
           "where symbol = ? and fiscal_year = ? and fiscal_period = ? and line_item = ?")
    rows = query(db, sql, (symbol, year, period, item))
    assert len(rows) == 1, (symbol, year, period, item, rows)
    return dict(zip(cols, rows[0], strict=True))


def mart_value(db: Path, table: str, column: str, symbol: str, year: int,
               period: str = "FY") -> Any:
    sql = (f"select {ident(column)} from marts.{ident(table)} "  # noqa: S608
           "where symbol = ? and fiscal_year = ? and fiscal_period = ?")
    rows = query(db, sql, (symbol, year, period))
    assert len(rows) == 1, (table, symbol, year, period)
    return rows[0][0]


def filing_id(db: Path, symbol: str, year: int, document_type: str, period: str = "FY") -> str:
    rows = query(db, "select filing_id from raw.filings where symbol = ? and fiscal_year = ? "
                 "and fiscal_period = ? and document_type = ?",
                 (symbol, year, period, document_type))
    assert len(rows) == 1
    return rows[0][0]


# --- the seed (TROO) -----------------------------------------------------------------------

SEED_2023 = [  # (mart, column, value) hand-checked against seeds/TROO.json
    ("balance_sheet", "total_assets", 70_345_000),            # assets
    ("balance_sheet", "total_current_liabilities", 4_723_000),  # liabilitiescurrent
    ("income_statement", "revenue", 3_569_000),               # revenues, not ...excludingtax
    ("income_statement", "cost_of_revenue", 2_793_000),       # costofgoodsandservicessold
    ("cash_flow_statement", "net_cash_operating", -6_538_000),
    ("cash_flow_statement", "capital_expenditure", 221_000),  # paymentstoacquireproductiveassets
    ("cash_flow_statement", "free_cash_flow", -6_759_000),    # -6,538,000 - 221,000
    ("cash_flow_statement", "cash_beginning_of_period", 2_950_000),  # 2022's closing cash
]


@pytest.mark.parametrize(("table", "column", "expected"), SEED_2023)
def test_seed_2023_values(seed_warehouse: Path, table: str, column: str, expected: int) -> None:
    assert mart_value(seed_warehouse, table, column, "TROO", 2023) == Decimal(expected)


def test_seed_raw_file_agrees_with_the_hand_figures() -> None:
    """The figures above are what the seed file says (not what the models say)."""
    by_year = {int(f["date"][:4]): f for f in json.loads(SEED_FILE.read_text())}
    y23, y22, y21 = by_year[2023], by_year[2022], by_year[2021]
    assert y23["assets"] == 70345000 and y23["liabilitiescurrent"] == 4723000
    assert y23["revenues"] == 3569000 and y23["costofgoodsandservicessold"] == 2793000
    assert y23["netcashprovidedbyusedinoperatingactivities"] == -6538000
    assert y23["paymentstoacquireproductiveassets"] == 221000
    assert "cashandcashequivalentsperiodincreasedecrease" not in y23
    assert y22["cashcashequivalentsrestrictedcashandrestrictedcashequivalents"] == 2950000
    assert y21["effectofexchangerateoncashandcashequivalents"] == -4000
    assert y21["assets"] - y21["assetscurrent"] == 64138000
    assert "assetsnoncurrent" not in y21


def test_seed_derived_values_carry_provenance(seed_warehouse: Path) -> None:
    db = seed_warehouse
    fcf = line(db, "TROO", 2023, "free_cash_flow")
    assert fcf["method"] == "derived" and fcf["source_concept"] is None
    assert fcf["derivation"] == "net_cash_operating - capital_expenditure"
    assert fcf["derivation_rule"] is None

    opening = line(db, "TROO", 2023, "cash_beginning_of_period")
    assert opening["method"] == "derived" and opening["derivation_rule"] is None
    assert "carried forward" in opening["derivation"]
    assert opening["value_filing_id"] == line(db, "TROO", 2022, "cash_end_of_period")[
        "value_filing_id"]

    tnca = line(db, "TROO", 2021, "total_noncurrent_assets")
    assert tnca["value"] == Decimal(64_138_000)
    assert tnca["method"] == "derived" and tnca["derivation_rule"] == "bs_assets_sum"
    assert tnca["derivation"] == "total_assets - total_current_assets"


def test_seed_reported_values_are_never_overwritten(seed_warehouse: Path) -> None:
    tnca = line(seed_warehouse, "TROO", 2023, "total_noncurrent_assets")
    assert tnca == {**tnca, "value": Decimal(59_675_000), "method": "reported",
                    "source_concept": "assetsnoncurrent", "derivation": None}
    # 2020: us-gaap `noncurrentassets` (51,667,000, a geographic disclosure) is not used
    tnca_2020 = line(seed_warehouse, "TROO", 2020, "total_noncurrent_assets")
    assert tnca_2020["value"] == Decimal(52_116_000 - 25_650_000)
    assert tnca_2020["method"] == "derived"
    # the first loaded year has no opening cash: not reported, nothing to carry forward
    assert mart_value(seed_warehouse, "cash_flow_statement", "cash_beginning_of_period",
                      "TROO", 2019) is None


def test_seed_fx_effect_from_two_spellings(seed_warehouse: Path) -> None:
    fx21 = line(seed_warehouse, "TROO", 2021, "fx_effect_on_cash")
    fx23 = line(seed_warehouse, "TROO", 2023, "fx_effect_on_cash")
    assert fx21["value"] == Decimal(-4_000)
    assert fx21["source_concept"] == "effectofexchangerateoncashandcashequivalents"
    assert fx23["value"] == Decimal(-1_000)
    assert fx23["source_concept"] == ("effectofexchangerateoncashcashequivalentsrestrictedcash"
                                      "andrestrictedcashequivalentsincludingdisposalgroupand"
                                      "discontinuedoperations")


def test_seed_cash_ranks_after_us_gaap_concepts(seed_warehouse: Path) -> None:
    assert line(seed_warehouse, "TROO", 2021, "cash_and_equivalents")["source_concept"] == (
        "cashandcashequivalentsatcarryingvalue")
    # 2023 reports no us-gaap cash-and-equivalents concept: the vendor's plain `cash`
    cash23 = line(seed_warehouse, "TROO", 2023, "cash_and_equivalents")
    assert (cash23["value"], cash23["source_concept"]) == (Decimal(3_113_000), "cash")


def test_seed_row_counts_and_single_version(seed_warehouse: Path) -> None:
    db = seed_warehouse
    for table in STATEMENTS:
        assert query(db, f"select count(*) from marts.{ident(table)}") == [(5,)]  # noqa: S608
    # statement_lines is exactly the non-NULL cells of the three marts
    cells = 0
    for statement in STATEMENTS:
        items = [r[0] for r in query(db, "select line_item from reference.line_items "
                                     "where statement = ?", (statement,))]
        counts = " + ".join(f"count({ident(c)})" for c in items)
        cells += query(db, f"select {counts} from marts.{ident(statement)}")[0][0]  # noqa: S608
    assert query(db, "select count(*) from marts.statement_lines") == [(cells,)]
    # one version per year: every reported value comes from the mart row's filing
    assert query(db, "select count(*) from marts.statement_lines where method = 'reported' "
                 "and value_filing_id <> filing_id") == [(0,)]
    assert query(db, "select distinct cash_flow_basis from marts.cash_flow_statement") == [
        ("period",)]


def test_seed_companies(seed_warehouse: Path) -> None:
    rows = query(seed_warehouse, "select source, symbol, cik, company_name, first_period_end, "
                 "last_period_end, filings from marts.companies")
    assert [tuple(map(str, r)) for r in rows] == [
        ("vendor", "TROO", "1412095", "TROOPS, Inc.", "2019-12-31", "2023-12-31", "5")]


def test_seed_concept_coverage_lists_unmapped_concepts(seed_warehouse: Path) -> None:
    seed_concepts = set().union(*(f.keys() for f in json.loads(SEED_FILE.read_text())))
    with (SEEDS / "concept_map.csv").open() as fh:
        mapped = {row["concept"] for row in csv.DictReader(fh)}
    rows = query(seed_warehouse, "select concept, line_item from marts.concept_coverage")
    assert {c for c, _ in rows} == seed_concepts
    assert {c for c, li in rows if li is None} == seed_concepts - mapped
    unmapped = {c for c, li in rows if li is None}
    # the traps stay unmapped; the totals they are mistaken for are mapped
    assert {"noncurrentassets", "longtermloanspayable", "generalandadministrativeexpense",
            "auditorname"} <= unmapped
    assert query(seed_warehouse, "select filings, statement, line_item, priority "
                 "from marts.concept_coverage where concept = 'revenues'") == [
        (5, "income_statement", "revenue", 10)]


def test_contract_types(seed_warehouse: Path) -> None:
    """Line items DECIMAL(38,10), fiscal_year INTEGER, period_end DATE, counts BIGINT."""
    types = dict(((t, c), d) for t, c, d in query(
        seed_warehouse, "select table_name, column_name, data_type "
        "from information_schema.columns where table_schema = 'marts'"))
    with (SEEDS / "line_items.csv").open() as fh:
        items = list(csv.DictReader(fh))
    # 67 + 20 industry-template and FAC line items (banks, insurers, comprehensive income,
    # continuing / discontinued cash flows, commitments, other operating income)
    assert len(items) == 87
    for item in items:
        assert types[(item["statement"], item["line_item"])] == "DECIMAL(38,10)", item
    for table in (*STATEMENTS, "statement_lines"):
        assert types[(table, "fiscal_year")] == "INTEGER"
        assert types[(table, "period_end")] == "DATE"
        assert types[(table, "filing_id")] == "VARCHAR"
    assert types[("statement_lines", "value")] == "DECIMAL(38,10)"
    assert types[("cash_flow_statement", "cash_flow_basis")] == "VARCHAR"
    assert types[("companies", "filings")] == "BIGINT"
    assert types[("companies", "industry_template")] == "VARCHAR"
    assert types[("concept_coverage", "filings")] == "BIGINT"


# --- a second company: nested shape, variants, quarters, amendments ------------------------

@pytest.fixture(scope="module")
def acmw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real loader, then `dbt build` of the statement marts and everything upstream
    (with their tests), not the whole project: that is the seed warehouse's job."""
    root = tmp_path_factory.mktemp("statements_acmw")
    db = root / "financials.duckdb"
    load(make_seeds_dir(root, [ACMW_FILE]), db)
    run_dbt(db, "build", "--indirect-selection", "cautious", "--select",
            *(f"+{m}" for m in (*STATEMENTS, "statement_lines", "companies",
                                "concept_coverage")))
    return db


def test_partial_amendment_wins_only_for_what_it_reports(acmw: Path) -> None:
    amendment = filing_id(acmw, "ACMW", 2023, "10-K/A")
    original = filing_id(acmw, "ACMW", 2023, "10-K")
    revenue = line(acmw, "ACMW", 2023, "revenue")
    assert (revenue["value"], revenue["value_filing_id"]) == (Decimal(5_100_000), amendment)
    for item, value in (("net_income_to_parent", 660_000), ("operating_income", 900_000),
                        ("pretax_income", 850_000), ("eps_basic", Decimal("0.66"))):
        got = line(acmw, "ACMW", 2023, item)
        assert (got["value"], got["value_filing_id"]) == (Decimal(value), amendment), item
    for item, value in (("cost_of_revenue", 3_000_000), ("total_assets", 6_000_000),
                        ("net_income_to_noncontrolling", 40_000),
                        ("net_cash_operating", 900_000)):
        got = line(acmw, "ACMW", 2023, item)
        assert (got["value"], got["value_filing_id"]) == (Decimal(value), original), item
    # the mart row's filing is the highest-precedence version reporting a line item
    for table in STATEMENTS:
        assert mart_value(acmw, table, "filing_id", "ACMW", 2023) == amendment
    # derivations combine the versions' values: restated revenue - original cost
    gross = line(acmw, "ACMW", 2023, "gross_profit")
    assert gross["value"] == Decimal(2_100_000)
    assert (gross["method"], gross["derivation_rule"]) == ("derived", "is_gross_profit")
    assert gross["value_filing_id"] == amendment
    # no profitloss: net income = to parent (amended) + to noncontrolling interest
    net = line(acmw, "ACMW", 2023, "net_income")
    assert (net["value"], net["derivation_rule"]) == (Decimal(700_000),
                                                      "is_net_income_attribution")


def test_cover_page_only_amendment_supplies_nothing(acmw: Path) -> None:
    cover = filing_id(acmw, "ACMW", 2022, "10-K/A")
    original = filing_id(acmw, "ACMW", 2022, "10-K")
    assert query(acmw, "select count(*) from marts.statement_lines where value_filing_id = ?",
                 (cover,)) == [(0,)]
    for table in STATEMENTS:
        assert mart_value(acmw, table, "filing_id", "ACMW", 2022) == original


def test_other_concept_variants_land_in_the_same_columns(acmw: Path) -> None:
    expected = [  # (year, period, line item, value, concept)
        (2022, "FY", "revenue", 4_500_000, "salesrevenuenet"),
        (2023, "FY", "cost_of_revenue", 3_000_000, "costofrevenue"),
        (2024, "Q1", "revenue", 1_300_000, "revenues"),
        (2024, "Q1", "cost_of_revenue", 780_000, "costofgoodssold"),
        (2024, "Q2", "cost_of_revenue", 820_000, "costofservices"),
        (2022, "FY", "capital_expenditure", 300_000, "paymentstoacquireproductiveassets"),
        (2023, "FY", "capital_expenditure", 350_000, "paymentstoacquirepropertyplantandequipment"),
        (2022, "FY", "fx_effect_on_cash", 5_000, "effectofexchangerateoncashandcashequivalents"),
        (2023, "FY", "fx_effect_on_cash", -10_000,
         "effectofexchangerateoncashcashequivalentsrestrictedcashandrestrictedcashequivalents"),
        (2022, "FY", "net_income", 500_000, "profitloss"),
        (2022, "FY", "total_equity", 2_900_000,
         "stockholdersequityincludingportionattributabletononcontrollinginterest"),
        # traps: the meaning wins over the name
        (2023, "FY", "long_term_debt", 1_500_000, "longtermdebtnoncurrent"),
        (2023, "FY", "cash_and_equivalents", 1_200_000, "cashandcashequivalentsatcarryingvalue"),
        (2023, "FY", "net_cash_operating", 900_000, "netcashprovidedbyusedinoperatingactivities"),
        (2023, "FY", "selling_general_administrative", 800_000,
         "sellinggeneralandadministrativeexpense"),
    ]
    for year, period, item, value, concept in expected:
        got = line(acmw, "ACMW", year, item, period)
        assert (got["value"], got["source_concept"], got["method"]) == (
            Decimal(value), concept, "reported"), (year, period, item)
    # not the geographic `noncurrentassets` (2,800,000): derived from the totals
    tnca = line(acmw, "ACMW", 2023, "total_noncurrent_assets")
    assert (tnca["value"], tnca["derivation_rule"]) == (Decimal(3_850_000), "bs_assets_sum")
    # no total equity reported in 2023: stockholders' equity + noncontrolling interest
    equity = line(acmw, "ACMW", 2023, "total_equity")
    assert (equity["value"], equity["derivation_rule"]) == (Decimal(3_200_000),
                                                            "bs_total_equity_sum")


def test_quarters_and_cash_flow_basis(acmw: Path) -> None:
    rows = query(acmw, "select fiscal_year, fiscal_period, cash_flow_basis, free_cash_flow, "
                 "cash_beginning_of_period from marts.cash_flow_statement "
                 "order by fiscal_year, fiscal_period")
    assert rows == [
        (2022, "FY", "period", Decimal(500_000), None),
        (2023, "FY", "period", Decimal(550_000), Decimal(1_010_000)),
        (2024, "Q1", "period", Decimal(160_000), None),
        # Q2 filed year-to-date (340,000 for six months): the quarter's own is
        # 340,000 - Q1's 160,000; the six months stay in marts.quarterly_flows
        (2024, "Q2", "period", Decimal(340_000 - 160_000), None),
    ]
    opening = line(acmw, "ACMW", 2023, "cash_beginning_of_period")
    assert opening["value_filing_id"] == filing_id(acmw, "ACMW", 2022, "10-K")
    assert query(acmw, "select fiscal_year, fiscal_period, period_end, currency "
                 "from marts.income_statement order by 1, 2") == [
        (2022, "FY", *query(acmw, "select date '2022-12-31', 'USD'")[0]),
        (2023, "FY", *query(acmw, "select date '2023-12-31', 'USD'")[0]),
        (2024, "Q1", *query(acmw, "select date '2024-03-31', 'USD'")[0]),
        (2024, "Q2", *query(acmw, "select date '2024-06-30', 'USD'")[0]),
    ]
    # balance sheets exist only where a balance sheet line is reported (not Q2)
    assert query(acmw, "select fiscal_year, fiscal_period from marts.balance_sheet "
                 "order by 1, 2") == [(2022, "FY"), (2023, "FY"), (2024, "Q1")]


def test_second_company_companies_row(acmw: Path) -> None:
    rows = query(acmw, "select source, symbol, cik, company_name, first_period_end, "
                 "last_period_end, filings from marts.companies")
    assert [tuple(map(str, r)) for r in rows] == [
        ("vendor", "ACMW", "0009999999", "Acme Widgets Corp.", "2022-12-31", "2024-06-30", "6")]
