"""Quarters, trailing twelve months, as-reported vs most-recent and point in time (#16).

One warehouse built from real SEC company facts (Apple, Snowflake) and the seed. Every
figure asserted here was read by hand from the JSON (`facts -> us-gaap -> Concept ->
units -> USD` entries: start, end, val, accn, filed), the differences computed by hand.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import (
    SEED_FILE,
    TEST_DATA,
    build_warehouse,
    make_seeds_dir,
    query,
    query_dicts,
    run_dbt,
)

AAPL_FILE = TEST_DATA / "sec" / "AAPL_CIK0000320193.json"
SNOW_FILE = TEST_DATA / "sec" / "SNOW_companyfacts.json"
AAPL_CIK = "320193"

# Apple's 2009 restatement (revenue recognition for iPhone / Apple TV, 10-K/A of January
# 2010): fiscal 2009 revenue (SalesRevenueNet, 2008-09-28 .. 2009-09-26)
AAPL_10K_2009 = "0001193125-09-214859"  # filed 2009-10-27: 36,537,000,000
AAPL_10KA_2009 = "0001193125-10-012091"  # filed 2010-01-25: 42,905,000,000
# and the third quarter of fiscal 2009 (2009-03-29 .. 2009-06-27), restated only as the
# prior-year column of the next year's Q3 10-Q
AAPL_10Q_Q3_2009 = "0001193125-09-153165"  # filed 2009-07-22: 8,337,000,000
AAPL_10Q_Q3_2010 = "0001193125-10-162840"  # filed 2010-07-21: 9,734,000,000


CASH_END = "cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
NET_CHANGE = ("cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
              "periodincreasedecreaseincludingexchangerateeffect")
OPERATING = "netcashprovidedbyusedinoperatingactivities"


def _vendor(symbol: str, fiscal_year: int, period: str, end: str,
            data: dict[str, int]) -> dict[str, object]:
    return {"symbol": symbol, "fiscalYear": fiscal_year, "period": period,
            "reportedCurrency": "USD", "date": end, "data": data}


# Vendor quarters whose cash-flow basis only the data can tell: the same Q1 and the same
# Q2 operating cash flow of 70,000 on its own, filed year-to-date (VYTD) or as the
# quarter's own (VQTR); each company's cash rollforward says which. Snowflake's vendor Q2
# is the six-month figure of its own 10-Q (382,635,000 from 2023-02-01).
VENDOR_QUARTERS = [
    _vendor(symbol, 2023, "FY", "2023-12-31", {CASH_END: 1_000_000, OPERATING: 500_000})
    for symbol in ("VQTR", "VYTD")
] + [
    _vendor(symbol, 2024, "Q1", "2024-03-31",
            {CASH_END: 1_100_000, NET_CHANGE: 100_000, OPERATING: 80_000})
    for symbol in ("VQTR", "VYTD")
] + [
    _vendor("VQTR", 2024, "Q2", "2024-06-30",
            {CASH_END: 1_150_000, NET_CHANGE: 50_000, OPERATING: 70_000}),
    _vendor("VYTD", 2024, "Q2", "2024-06-30",
            {CASH_END: 1_150_000, NET_CHANGE: 150_000, OPERATING: 150_000}),
    _vendor("SNOW", 2024, "Q1", "2023-04-30", {OPERATING: 299_444_000}),
    _vendor("SNOW", 2024, "Q2", "2023-07-31", {OPERATING: 382_635_000}),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("time_dimensions")
    seeds = make_seeds_dir(root, (SEED_FILE, AAPL_FILE, SNOW_FILE))
    (seeds / "vendor_quarters.json").write_text(json.dumps(VENDOR_QUARTERS))
    return build_warehouse(seeds, root / "financials.duckdb")


@pytest.fixture(scope="module")
def aapl(db: Path) -> str:
    """Apple's symbol (the ticker or CIK##########, whichever the warehouse resolves)."""
    rows = query(db, "select distinct symbol from raw.filings where cik = ?", (AAPL_CIK,))
    assert len(rows) == 1
    return rows[0][0]


def _income(db: Path, symbol: str, item: str) -> dict[tuple[int, str], Decimal | None]:
    rows = query(db, f"select fiscal_year, fiscal_period, {item} from marts.income_statement "  # noqa: S608
                     "where source = 'sec' and symbol = ?", (symbol,))
    return {(fy, fp): v for fy, fp, v in rows}


# --- 1. discrete quarters ---------------------------------------------------------------

@pytest.mark.parametrize(("fiscal_year", "item", "expected"), [
    # FY - 9 months year-to-date; each equals the Q4 Apple itself discloses in its 10-K
    # (the 2010-06-27 .. 2010-09-25 column of the quarterly data)
    (2010, "revenue", 65_225_000_000 - 44_882_000_000),  # 20,343,000,000
    (2010, "net_income_to_parent", 14_013_000_000 - 9_705_000_000),  # 4,308,000,000
    (2019, "revenue", 260_174_000_000 - 196_134_000_000),  # 64,040,000,000
    (2020, "revenue", 274_515_000_000 - 209_817_000_000),  # 64,698,000,000
    (2024, "revenue", 391_035_000_000 - 296_105_000_000),  # 94,930,000,000
    (2024, "net_income_to_parent", 93_736_000_000 - 79_000_000_000),  # 14,736,000,000
])
def test_apple_q4_is_fy_minus_nine_months(db: Path, aapl: str, fiscal_year: int, item: str,
                                          expected: int) -> None:
    assert _income(db, aapl, item)[(fiscal_year, "Q4")] == Decimal(expected)
    line = query_dicts(db, """
        select method, source_concept, derivation, derivation_rule
        from marts.statement_lines
        where symbol = ? and fiscal_year = ? and fiscal_period = 'Q4' and line_item = ?""",
                       (aapl, fiscal_year, item))
    assert line == [{"method": "derived", "source_concept": None,
                     "derivation": f"FY - (Q1 + Q2 + Q3) of fiscal year {fiscal_year}",
                     "derivation_rule": None}]


def test_apple_q4_for_every_complete_year(db: Path, aapl: str) -> None:
    for item in ("revenue", "net_income_to_parent", "net_income"):
        values = _income(db, aapl, item)
        complete = sorted(fy for fy, fp in values if fp == "FY"
                          and all(values.get((fy, q)) is not None for q in ("Q1", "Q2", "Q3")))
        assert complete == list(range(2010, 2026)), item
        for fy in complete:
            nine_months = sum(values[(fy, q)] for q in ("Q1", "Q2", "Q3"))
            assert values[(fy, "Q4")] == values[(fy, "FY")] - nine_months, (item, fy)
    # per-share values and share counts are never differenced: no Q4 EPS unless reported
    assert query(db, """
        select count(*) filter (where eps_basic is not null),
               count(*) filter (where weighted_shares_basic is not null), count(*)
        from marts.income_statement where symbol = ? and fiscal_period = 'Q4'""",
                 (aapl,)) == [(0, 0, 16)]


def test_no_q4_where_a_quarter_is_missing(db: Path, aapl: str) -> None:
    # fiscal 2009: only the Q3 10-Q and the 10-K (and its amendment) are in company facts
    assert (2009, "Q4") not in _income(db, aapl, "revenue")
    row = query_dicts(db, """
        select value, year_to_date_value, quarter_method, null_reason
        from marts.quarterly_flows
        where symbol = ? and fiscal_year = 2009 and fiscal_period = 'Q4'
          and line_item = 'revenue'""", (aapl,))
    assert row == [{"value": None, "year_to_date_value": Decimal(42_905_000_000),
                    "quarter_method": "annual_difference",
                    "null_reason": "Q1 of fiscal year 2009 not loaded; "
                                   "Q2 of fiscal year 2009 not loaded"}]


def test_snow_quarters_from_year_to_date_cash_flows(db: Path) -> None:
    rows = query(db, """
        select fiscal_period, value, year_to_date_value, quarter_method, derivation
        from marts.quarterly_flows
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024
          and line_item = 'net_cash_operating'
        order by fiscal_period""")
    # 10-Q / 10-K year-to-date figures from 2023-02-01: 3M 299,444,000; 6M 382,635,000;
    # 9M 503,542,000; 12M 848,122,000
    assert rows == [
        ("Q1", Decimal(299_444_000), Decimal(299_444_000), "as_filed", None),
        ("Q2", Decimal(382_635_000 - 299_444_000), Decimal(382_635_000),
         "year_to_date_difference", "Q2 year-to-date (6 months) - Q1 of fiscal year 2024"),
        ("Q3", Decimal(503_542_000 - 382_635_000), Decimal(503_542_000),
         "year_to_date_difference",
         "Q3 year-to-date (9 months) - Q2 year-to-date (6 months) of fiscal year 2024"),
        ("Q4", Decimal(848_122_000 - 503_542_000), Decimal(848_122_000), "annual_difference",
         "FY - Q3 year-to-date (9 months) of fiscal year 2024"),
    ]
    # the cash-flow mart's quarters are the discrete ones, Q4 included
    mart = query(db, """
        select fiscal_period, cash_flow_basis, net_cash_operating, cash_beginning_of_period,
               cash_end_of_period
        from marts.cash_flow_statement
        where symbol = 'SNOW' and source = 'sec' and fiscal_year = 2024 order by 1""")
    assert mart == [
        ("FY", "period", Decimal(848_122_000), Decimal(956_731_000), Decimal(1_780_977_000)),
        ("Q1", "period", Decimal(299_444_000), Decimal(956_731_000), Decimal(670_839_000)),
        # opening cash of a year-to-date quarter: the previous quarter's closing cash
        ("Q2", "period", Decimal(83_191_000), Decimal(670_839_000), Decimal(773_380_000)),
        ("Q3", "period", Decimal(120_907_000), Decimal(773_380_000), Decimal(999_895_000)),
        ("Q4", "period", Decimal(344_580_000), None, None),
    ]


def test_vendor_cash_flow_basis_decided_from_the_data(db: Path) -> None:
    basis = query(db, """
        select f.symbol, b.cash_flow_basis, b.basis_evidence
        from intermediate.int_vendor__cash_flow_basis b
        join raw.filings f using (filing_id) order by 1""")
    assert basis == [("SNOW", "year_to_date", "sec_year_to_date_figure"),
                     ("VQTR", "period", "cash_rollforward"),
                     ("VYTD", "year_to_date", "cash_rollforward")]
    rows = query(db, """
        select symbol, value, year_to_date_value, quarter_method from marts.quarterly_flows
        where source = 'vendor' and fiscal_year = 2024 and fiscal_period = 'Q2'
          and line_item = 'net_cash_operating' order by 1""")
    assert rows == [
        ("SNOW", Decimal(382_635_000 - 299_444_000), Decimal(382_635_000),
         "year_to_date_difference"),
        ("VQTR", Decimal(70_000), Decimal(80_000 + 70_000), "as_filed"),
        ("VYTD", Decimal(150_000 - 80_000), Decimal(150_000), "year_to_date_difference"),
    ]


# --- 2. trailing twelve months ------------------------------------------------------------

def test_ttm_revenue_is_the_sum_of_its_four_quarters(db: Path, aapl: str) -> None:
    # Apple: 2010 Q4 (the first four discrete quarters) to 2026 Q1; Snowflake: 2022 Q4 on
    for symbol, windows in ((aapl, 62), ("SNOW", 14)):
        quarters = dict(((fy, fp), v) for fy, fp, v in query(db, """
            select fiscal_year, fiscal_period, value from marts.quarterly_flows
            where source = 'sec' and symbol = ? and line_item = 'revenue'""", (symbol,)))
        ttm = query(db, """
            select fiscal_year, fiscal_period, value, quarters from marts.ttm_flows
            where source = 'sec' and symbol = ? and line_item = 'revenue'
              and value is not null""", (symbol,))
        assert len(ttm) == windows
        for fy, fp, value, window in ttm:
            keys = [(int(q[:4]), q[5:]) for q in window]
            assert len(keys) == 4 and keys[-1] == (fy, fp)
            assert value == sum(quarters[k] for k in keys), (symbol, fy, fp)
    # Apple's TTM at Q4 is the fiscal year
    assert query(db, """
        select count(*), count(*) filter (where t.value = i.revenue)
        from marts.ttm_flows t join marts.income_statement i
          on i.source = t.source and i.symbol = t.symbol and i.fiscal_year = t.fiscal_year
         and i.fiscal_period = 'FY'
        where t.symbol = ? and t.fiscal_period = 'Q4' and t.line_item = 'revenue'
          and t.value is not null""", (aapl,)) == [(16, 16)]


def test_snow_ttm_spans_fiscal_years_correctly(db: Path) -> None:
    # Snowflake's fiscal year ends on 31 January: the TTM at fiscal 2024 Q2 (to 2023-07-31)
    # is fiscal 2023 Q3 + Q4 and fiscal 2024 Q1 + Q2
    row = query_dicts(db, """
        select ttm_start, period_end, value, quarters from marts.ttm_flows
        where symbol = 'SNOW' and source = 'sec' and fiscal_year = 2024
          and fiscal_period = 'Q2' and line_item = 'revenue'""")
    assert row == [{
        "ttm_start": date(2022, 8, 1), "period_end": date(2023, 7, 31),
        "value": Decimal(557_028_000 + (2_065_659_000 - 1_476_647_000)
                         + 623_599_000 + 674_018_000),  # 2,443,657,000
        "quarters": ["2023 Q3", "2023 Q4", "2024 Q1", "2024 Q2"],
    }]
    # every complete window is twelve months of consecutive quarters
    spans = query(db, """
        select fiscal_year, fiscal_period, ttm_start, period_end from marts.ttm_flows
        where symbol = 'SNOW' and source = 'sec' and line_item = 'revenue'
          and value is not null order by 1, 2""")
    assert len(spans) == 14
    for _, _, start, end in spans:
        assert start.day == 1 and (end - start).days in (364, 365)
    # fiscal 2021 Q4 has no Q1/Q2 (Snowflake listed in September 2020): no TTM revenue
    # until four discrete quarters exist
    reasons = query(db, """
        select fiscal_year, fiscal_period, value, null_reason from marts.ttm_flows
        where symbol = 'SNOW' and source = 'sec' and line_item = 'revenue'
          and value is null order by 1, 2""")
    assert reasons == [
        (2021, "Q3", None, "quarter(s) not loaded: 2020 Q4, 2021 Q1, 2021 Q2"),
        (2021, "Q4", None, "quarter(s) not loaded: 2021 Q1, 2021 Q2"),
        (2022, "Q1", None, "quarter(s) not loaded: 2021 Q2"),
        (2022, "Q2", None, "no revenue for 2021 Q4: Q1 of fiscal year 2021 not loaded; "
                           "Q2 of fiscal year 2021 not loaded"),
        (2022, "Q3", None, "no revenue for 2021 Q4: Q1 of fiscal year 2021 not loaded; "
                           "Q2 of fiscal year 2021 not loaded"),
    ]


def test_ttm_ratios(db: Path) -> None:
    r = query_dicts(db, """
        select balance_basis, null_reason, net_profit_margin, free_cash_flow_margin,
               return_on_assets, revenue_growth
        from marts.financial_ratios_ttm
        where symbol = 'SNOW' and source = 'sec' and fiscal_year = 2025
          and fiscal_period = 'Q4'""")[0]
    # TTM at fiscal 2025 Q4 = fiscal 2025: revenue 3,626,396,000
    ttm = dict(query(db, """
        select line_item, value from marts.ttm_flows
        where symbol = 'SNOW' and source = 'sec' and fiscal_year = 2025
          and fiscal_period = 'Q4'"""))
    assert ttm["revenue"] == Decimal(3_626_396_000)
    assert r["balance_basis"] == "average" and r["null_reason"] is None
    assert r["net_profit_margin"] == float(ttm["net_income_to_parent"]) / 3_626_396_000
    assert r["free_cash_flow_margin"] == float(ttm["free_cash_flow"]) / 3_626_396_000
    assert r["revenue_growth"] == (3_626_396_000 - 2_806_489_000) / 2_806_489_000
    assets = dict(query(db, """
        select fiscal_year, total_assets from marts.balance_sheet
        where symbol = 'SNOW' and source = 'sec' and fiscal_period = 'FY'"""))
    assert r["return_on_assets"] == float(ttm["net_income_to_parent"]) / float(
        (assets[2024] + assets[2025]) / 2)
    assert query(db, """
        select count(*) from marts.financial_ratios_ttm_long
        where symbol = 'SNOW' and fiscal_year = 2025 and fiscal_period = 'Q4'
          and ratio = 'net_profit_margin' and value = ?""", (r["net_profit_margin"],)) == [(1,)]
    # no window, no ratio: NULL with the reason
    assert query(db, """
        select null_reason, net_profit_margin from marts.financial_ratios_ttm
        where symbol = 'SNOW' and source = 'sec' and fiscal_year = 2022
          and fiscal_period = 'Q1'""") == [("quarter(s) not loaded: 2021 Q2", None)]


# --- 3 and 4. as reported, restatements, point in time -----------------------------------

def test_apple_2009_restatement(db: Path, aapl: str) -> None:
    rows = query_dicts(db, """
        select r.fiscal_year, r.fiscal_period, first_value, latest_value, first_accession,
               latest_accession, first_filed_date, latest_filed_date, days_between,
               latest_origin, first_filing.accession as first_filing_accession,
               latest_filing.accession as latest_filing_accession
        from marts.restatements r
        join raw.filings first_filing on first_filing.filing_id = r.first_filing_id
        join raw.filings latest_filing on latest_filing.filing_id = r.latest_filing_id
        where r.symbol = ? and line_item = 'revenue' and r.fiscal_year = 2009
        order by r.fiscal_period""", (aapl,))
    assert rows == [
        {"fiscal_year": 2009, "fiscal_period": "FY",
         "first_value": Decimal(36_537_000_000), "latest_value": Decimal(42_905_000_000),
         "first_accession": AAPL_10K_2009, "latest_accession": AAPL_10KA_2009,
         "first_filed_date": date(2009, 10, 27), "latest_filed_date": date(2010, 1, 25),
         "days_between": 90, "latest_origin": "own",
         "first_filing_accession": AAPL_10K_2009, "latest_filing_accession": AAPL_10KA_2009},
        {"fiscal_year": 2009, "fiscal_period": "Q3",
         "first_value": Decimal(8_337_000_000), "latest_value": Decimal(9_734_000_000),
         "first_accession": AAPL_10Q_Q3_2009, "latest_accession": AAPL_10Q_Q3_2010,
         "first_filed_date": date(2009, 7, 22), "latest_filed_date": date(2010, 7, 21),
         "days_between": 364, "latest_origin": "comparative",
         "first_filing_accession": AAPL_10Q_Q3_2009,
         "latest_filing_accession": AAPL_10Q_Q3_2010},
    ]
    # MR (the statement marts) shows the amended value, AR the first-reported one
    dims = query(db, """
        select dimension, value, filed_date from marts.statement_lines_dimensions
        where symbol = ? and fiscal_year = 2009 and fiscal_period = 'FY'
          and line_item = 'revenue' order by 1""", (aapl,))
    assert dims == [("AR", Decimal(36_537_000_000), date(2009, 10, 27)),
                    ("MR", Decimal(42_905_000_000), date(2010, 1, 25))]
    assert _income(db, aapl, "revenue")[(2009, "FY")] == Decimal(42_905_000_000)


@pytest.fixture(scope="module")
def point_in_time_sql(db: Path) -> str:
    """The point_in_time macro compiled by dbt with a bind parameter as the date (the SQL
    a backtest runs; `?` appears twice: bind the date twice)."""
    proc = run_dbt(db, "--quiet", "compile", "--inline",
                   "{{ point_in_time('cast(? as date)') }}")
    sql = proc.stdout.strip()
    assert re.match(r"(?is)^select \*\s+from .*statement_lines_history", sql), sql
    assert sql.count("?") == 2
    return sql


@pytest.mark.parametrize(("as_of", "fy_revenue", "q3_revenue"), [
    ("2010-01-25", 36_537_000_000, 8_337_000_000),  # the 10-K/A filed that day: not known yet
    ("2010-01-26", 42_905_000_000, 8_337_000_000),  # the amendment is known
    ("2010-07-21", 42_905_000_000, 8_337_000_000),  # the next Q3 10-Q filed that day
    ("2010-07-22", 42_905_000_000, 9_734_000_000),  # its restated prior-year column known
])
def test_point_in_time(db: Path, aapl: str, point_in_time_sql: str, as_of: str,
                       fy_revenue: int, q3_revenue: int) -> None:
    rows = query(db, f"select fiscal_period, value, count(*) over () "  # noqa: S608
                     f"from ({point_in_time_sql}) "
                     "where symbol = ? and fiscal_year = 2009 and line_item = 'revenue' "
                     "order by 1", (as_of, as_of, aapl))
    assert rows == [("FY", Decimal(fy_revenue), 2), ("Q3", Decimal(q3_revenue), 2)]


def test_point_in_time_sees_nothing_before_it_was_filed(db: Path, aapl: str,
                                                       point_in_time_sql: str) -> None:
    sql = point_in_time_sql
    # the 10-K for fiscal 2009 was filed on 2009-10-27: its figures are known the next day
    for as_of, expected in (("2009-10-27", 0), ("2009-10-28", 1)):
        assert query(db, f"select count(*) from ({sql}) where symbol = ? "  # noqa: S608
                         "and fiscal_year = 2009 and fiscal_period = 'FY' "
                         "and line_item = 'revenue'", (as_of, as_of, aapl)) == [(expected,)]
    # one value per (key, line item) on any date
    for as_of in ("2010-01-25", "2010-01-26", "2024-06-30"):
        assert query(db, f"select count(*) from (select 1 from ({sql}) "  # noqa: S608
                         "group by source, symbol, fiscal_year, fiscal_period, line_item "
                         "having count(*) > 1)", (as_of, as_of)) == [(0,)]


def test_run_summary_counts_null_q4_and_ttm(db: Path, aapl: str) -> None:
    import duckdb

    from pipeline.run_summary import dimension_null_lines

    con = duckdb.connect(str(db), read_only=True)
    try:
        lines = dimension_null_lines(con)
    finally:
        con.close()
    # NULL Q4 revenue: Apple's fiscal 2009 (no Q1/Q2 10-Q in company facts) and
    # Snowflake's fiscal 2021 (listed in September 2020); other lines also where one
    # quarter does not report them; the seed (annual filings only) has no Q4 candidates
    q4 = query(db, """
        select symbol, fiscal_year, null_reason from marts.quarterly_flows
        where fiscal_period = 'Q4' and quarter_method = 'annual_difference'
          and value is null and line_item = 'revenue' order by 1, 2""")
    assert [(s if s != aapl else "AAPL", fy, r) for s, fy, r in q4] == [
        ("AAPL", 2009, "Q1 of fiscal year 2009 not loaded; Q2 of fiscal year 2009 not loaded"),
        ("SNOW", 2021, "Q1 of fiscal year 2021 not loaded; Q2 of fiscal year 2021 not loaded"),
    ]  # CIK0000320193 and AAPL both sort before SNOW
    assert query(db, "select count(*) from marts.quarterly_flows "
                     "where symbol in ('VQTR', 'VYTD') and fiscal_period = 'Q4' "
                     "and null_reason = 'Q1 of fiscal year 2023 not loaded; Q2 of fiscal "
                     "year 2023 not loaded; Q3 of fiscal year 2023 not loaded'") == [(2,)]
    q4_null = query(db, """
        select count(*) from marts.quarterly_flows
        where fiscal_period = 'Q4' and quarter_method = 'annual_difference'
          and value is null and null_reason is not null""")[0][0]
    q4_total, ttm_null, ttm_total = query(db, """
        select (select count(*) from marts.quarterly_flows
                where fiscal_period = 'Q4' and quarter_method = 'annual_difference'),
               (select count(*) from marts.ttm_flows where value is null),
               (select count(*) from marts.ttm_flows)""")[0]
    assert 0 < q4_null < q4_total and 0 < ttm_null < ttm_total
    assert lines == [
        f"Quarters: {q4_null:,} of {q4_total:,} derived Q4 values NULL with a reason "
        f"(marts.quarterly_flows); TTM: {ttm_null:,} of {ttm_total:,} values NULL with a "
        "reason (marts.ttm_flows)"]


def test_ratios_in_both_dimensions(db: Path, aapl: str) -> None:
    rows = query(db, """
        select dimension, period_type, fiscal_period, value
        from marts.financial_ratios_dimensions_long
        where symbol = ? and fiscal_year = 2009 and ratio = 'net_profit_margin'
        order by 1, 2, 3""", (aapl,))
    assert rows == [
        # as first reported (10-K of 2009-10-27): 5,704,000,000 / 36,537,000,000
        ("AR", "FY", "FY", 5_704_000_000 / 36_537_000_000),
        ("AR", "Q", "Q3", 1_229_000_000 / 8_337_000_000),
        # most recent (10-K/A of 2010-01-25): 8,235,000,000 / 42,905,000,000; the Q3 10-Q
        # was never amended (its restatement is a later comparative: AR = MR here)
        ("MR", "FY", "FY", 8_235_000_000 / 42_905_000_000),
        ("MR", "Q", "Q3", 1_229_000_000 / 8_337_000_000),
        # a Q4 row exists for the cash flows (FY - the Q3 10-Q's nine months) but no Q4
        # revenue (no Q1/Q2 10-Q): no margin; no TTM window either
        ("MR", "Q", "Q4", None),
        ("MR", "TTM", "Q3", None),
        ("MR", "TTM", "Q4", None),
    ]
