"""marts.financial_ratios and financial_ratios_long on real dbt builds.

The seed figures are read by hand from seeds/TROO.json (2023: assetscurrent 10,670,000,
liabilitiescurrent 4,723,000, revenues 3,569,000 / 3,875,000 in 2022, grossprofit 776,000,
netincomelossattributabletoparent -1,719,000 / -346,000 in 2022, stockholdersequity
60,579,000 / 62,204,000 in 2022). Edge cases (zero revenue, negative equity, zero
denominators, debt conventions, quarters with year-to-date cash flows) come from small
synthetic vendor filings written here, loaded and built once for the module.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import build_warehouse, query, query_dicts

GROWTH = ("revenue_growth", "net_income_growth", "total_assets_growth", "equity_growth",
          "operating_cash_flow_growth", "eps_growth")
# cash-flow ratios that mix a cash flow with another statement: NULL on year-to-date flows
MIXED_CASH_FLOW = ("operating_cash_flow_ratio", "operating_cash_flow_to_sales",
                   "free_cash_flow_margin", "cash_conversion", "capex_to_revenue",
                   "operating_cash_flow_per_share", "free_cash_flow_per_share")
NON_RATIO_COLUMNS = {"source", "symbol", "fiscal_year", "fiscal_period", "period_end",
                     "currency", "filing_id", "balance_basis", "flags", "tieout_failures"}


def _ratios(db: Path, symbol: str, year: int, period: str = "FY") -> dict[str, Any]:
    rows = query_dicts(db, "select * from marts.financial_ratios where symbol = ?"
                           " and fiscal_year = ? and fiscal_period = ?", [symbol, year, period])
    assert len(rows) == 1, (symbol, year, period, rows)
    return rows[0]


# --- the seed -------------------------------------------------------------------------


def test_seed_2023_ratios(seed_warehouse: Path) -> None:
    r = _ratios(seed_warehouse, "TROO", 2023)
    assert r["current_ratio"] == 10_670_000 / 4_723_000
    assert r["gross_profit_margin"] == 776_000 / 3_569_000
    assert r["net_profit_margin"] == -1_719_000 / 3_569_000
    assert r["revenue_growth"] == (3_569_000 - 3_875_000) / 3_875_000
    # a deeper loss is negative growth
    assert r["net_income_growth"] == (-1_719_000 - (-346_000)) / 346_000
    assert r["net_income_growth"] < 0
    assert r["balance_basis"] == "average"
    assert r["return_on_equity"] == -1_719_000 / ((60_579_000 + 62_204_000) / 2)
    assert r["return_on_assets"] == -1_719_000 / ((70_345_000 + 69_686_000) / 2)
    assert r["working_capital"] == 10_670_000 - 4_723_000
    # no debt concept is reported: debt ratios NULL, not zero
    assert r["debt_to_equity"] is None and r["debt_to_capital"] is None
    # 2022 reports no receivables, so the average (and turnover, DSO) is unknown
    assert r["receivables_turnover"] is None and r["days_sales_outstanding"] is None
    # free cash flow -6,759,000 = -6,538,000 - 221,000
    assert r["free_cash_flow_margin"] == -6_759_000 / 3_569_000
    assert r["capex_coverage"] == -6_538_000 / 221_000
    assert r["flags"] == ["negative_earnings", "negative_pretax_income"]
    assert r["tieout_failures"] == []


def test_seed_2019_first_year_has_no_growth_and_closing_balances(seed_warehouse: Path) -> None:
    r = _ratios(seed_warehouse, "TROO", 2019)
    assert r["balance_basis"] == "closing"
    assert all(r[g] is None for g in GROWTH)
    # closing balances: NI / stockholders' equity at 2019 year end
    assert r["return_on_equity"] == -19_402_000 / 120_430_000


def test_seed_receivables_turnover_and_days_sales_outstanding(seed_warehouse: Path) -> None:
    # 2021: revenue 3,683,000; receivables 8,000 at both 2020 and 2021 year ends
    r = _ratios(seed_warehouse, "TROO", 2021)
    assert r["receivables_turnover"] == 3_683_000 / 8_000
    assert r["days_sales_outstanding"] == 365 / (3_683_000 / 8_000)


def test_seed_tieout_failures_listed(seed_warehouse: Path) -> None:
    r = _ratios(seed_warehouse, "TROO", 2020)
    assert "bs_assets_equal_liabilities_and_equity" in r["tieout_failures"]
    assert r["tieout_failures"] == sorted(r["tieout_failures"])
    failed = query(seed_warehouse, "select list(rule_id order by rule_id) from"
                                   " marts.tieout_results where symbol = 'TROO'"
                                   " and fiscal_year = 2020 and status = 'fail'")[0][0]
    assert r["tieout_failures"] == failed


def test_long_table_matches_wide(seed_warehouse: Path) -> None:
    wide = query_dicts(seed_warehouse, "select * from marts.financial_ratios")
    ratio_names = [c for c in wide[0] if c not in NON_RATIO_COLUMNS]
    long = query(seed_warehouse, "select symbol, fiscal_year, fiscal_period, ratio, value"
                                 " from marts.financial_ratios_long")
    assert len(long) == len(wide) * len(ratio_names)
    values = {(s, y, p, name): v for s, y, p, name, v in long}
    for row in wide:
        for name in ratio_names:
            key = (row["symbol"], row["fiscal_year"], row["fiscal_period"], name)
            assert values[key] == row[name]
    assert values[("TROO", 2023, "FY", "current_ratio")] == 10_670_000 / 4_723_000


# --- synthetic edge cases ---------------------------------------------------------------


def _filing(symbol: str, year: int, period: str, date: str, data: dict[str, Any]
            ) -> dict[str, Any]:
    return {"symbol": symbol, "fiscalYear": year, "period": period,
            "reportedCurrency": "USD", "date": date, "data": data}


FILINGS = [
    # zero revenue
    _filing("RZERO", 2023, "FY", "2023-12-31", {
        "revenues": 0, "costofrevenue": 100_000, "grossprofit": -100_000,
        "operatingincomeloss": -300_000, "netincomeloss": -300_000,
        "assets": 1_000_000, "assetscurrent": 500_000, "liabilitiescurrent": 200_000,
        "stockholdersequity": 800_000, "accountsreceivablenetcurrent": 0,
        "netcashprovidedbyusedinoperatingactivities": -200_000,
        "paymentstoacquirepropertyplantandequipment": 0,
        "weightedaveragenumberofsharesoutstandingbasic": 1_000_000,
        "commonstocksharesoutstanding": 0}),
    # negative equity, two years; debt reported in full (2022) and in part (2023)
    _filing("RNEG", 2022, "FY", "2022-12-31", {
        "revenues": 1_000_000, "netincomeloss": -100_000, "assets": 500_000,
        "liabilities": 700_000, "stockholdersequity": -200_000,
        "debtcurrent": 100_000, "longtermdebtnoncurrent": 400_000}),
    _filing("RNEG", 2023, "FY", "2023-12-31", {
        "revenues": 1_200_000, "netincomeloss": -100_000, "assets": 400_000,
        "liabilities": 700_000, "stockholdersequity": -300_000, "debtcurrent": 300_000,
        "liabilitiescurrent": 0}),
    # quarters: Q1 cash flows are the quarter's own, Q2 cash flows are year-to-date
    _filing("RQTR", 2023, "Q1", "2023-03-31", {
        "revenues": 1_000_000, "netincomeloss": 100_000, "assets": 2_000_000,
        "stockholdersequity": 1_000_000, "assetscurrent": 800_000,
        "liabilitiescurrent": 400_000, "accountsreceivablenetcurrent": 250_000,
        "netcashprovidedbyusedinoperatingactivities": 150_000,
        "paymentstoacquirepropertyplantandequipment": 50_000}),
    _filing("RQTR", 2022, "Q2", "2022-06-30", {
        "revenues": 880_000, "netincomeloss": 88_000, "assets": 1_900_000,
        "stockholdersequity": 950_000, "accountsreceivablenetcurrent": 225_000,
        "netcashprovidedbyusedinoperatingactivities": 300_000}),
    _filing("RQTR", 2023, "Q2", "2023-06-30", {
        "revenues": 1_100_000, "netincomeloss": 110_000, "assets": 2_100_000,
        "stockholdersequity": 1_050_000, "assetscurrent": 840_000,
        "liabilitiescurrent": 420_000, "accountsreceivablenetcurrent": 275_000,
        "netcashprovidedbyusedinoperatingactivities": 330_000,
        "paymentstoacquirepropertyplantandequipment": 110_000}),
]


@pytest.fixture(scope="module")
def edge_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ratios")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / "ratio_edge_cases.json").write_text(json.dumps(FILINGS))
    return build_warehouse(seeds, root / "financials.duckdb")


def test_no_ratio_is_infinite_or_nan(edge_warehouse: Path) -> None:
    rows = query_dicts(edge_warehouse, "select * from marts.financial_ratios")
    assert len(rows) == len(FILINGS)
    for row in rows:
        for name, value in row.items():
            if name not in NON_RATIO_COLUMNS and value is not None:
                assert math.isfinite(value), (row["symbol"], name, value)


def test_zero_revenue_gives_nulls_and_a_flag(edge_warehouse: Path) -> None:
    r = _ratios(edge_warehouse, "RZERO", 2023)
    for name in ("gross_profit_margin", "operating_profit_margin", "net_profit_margin",
                 "operating_cash_flow_to_sales", "receivables_turnover",
                 "days_sales_outstanding", "ebit_margin", "capex_to_revenue"):
        assert r[name] is None, name
    assert r["flags"] == ["negative_earnings", "zero_revenue"]
    # zero denominators elsewhere: capex 0, shares outstanding 0
    assert r["capex_coverage"] is None
    assert r["book_value_per_share"] is None and r["cash_per_share"] is None
    # zero revenue over a real denominator is a plain zero
    assert r["revenue_per_share"] == 0.0
    assert r["asset_turnover"] == 0.0
    assert r["return_on_equity"] == -300_000 / 800_000
    assert r["current_ratio"] == 500_000 / 200_000


def test_negative_equity_is_computed_and_flagged(edge_warehouse: Path) -> None:
    first = _ratios(edge_warehouse, "RNEG", 2022)
    assert first["balance_basis"] == "closing"
    assert first["flags"] == ["negative_equity", "negative_earnings"]
    assert first["return_on_equity"] == -100_000 / -200_000
    # debt = 100,000 + 400,000
    assert first["debt_to_assets"] == 500_000 / 500_000
    assert first["debt_to_equity"] == 500_000 / -200_000

    r = _ratios(edge_warehouse, "RNEG", 2023)
    assert r["balance_basis"] == "average"
    assert r["flags"] == ["negative_equity", "negative_earnings"]
    # a loss over negative average equity reads as a positive return: flagged, not hidden
    assert r["return_on_equity"] == -100_000 / ((-200_000 + -300_000) / 2)
    assert r["return_on_assets"] == -100_000 / ((500_000 + 400_000) / 2)
    # long-term debt not reported: counts as zero
    assert r["debt_to_equity"] == 300_000 / -300_000
    # debt + equity = 0: NULL, not infinity
    assert r["debt_to_capital"] is None
    assert r["liabilities_to_equity"] == 700_000 / -300_000
    assert r["equity_growth"] == (-300_000 - (-200_000)) / 200_000
    assert r["revenue_growth"] == (1_200_000 - 1_000_000) / 1_000_000
    assert r["total_assets_growth"] == (400_000 - 500_000) / 500_000
    # prior net income -100,000, same loss: zero growth; current liabilities 0: NULL
    assert r["net_income_growth"] == 0.0
    assert r["current_ratio"] is None and r["cash_ratio"] is None


def test_quarter_with_its_own_cash_flows(edge_warehouse: Path) -> None:
    r = _ratios(edge_warehouse, "RQTR", 2023, "Q1")
    assert r["flags"] == ["quarterly_flows"]
    assert r["balance_basis"] == "closing"
    assert r["operating_cash_flow_to_sales"] == 150_000 / 1_000_000
    assert r["free_cash_flow_margin"] == (150_000 - 50_000) / 1_000_000
    assert r["operating_cash_flow_ratio"] == 150_000 / 400_000
    # a quarter has 365 / 4 = 91.25 days
    assert r["days_sales_outstanding"] == 91.25 / (1_000_000 / 250_000)
    assert r["return_on_equity"] == 100_000 / 1_000_000


def test_year_to_date_cash_flows_become_the_quarters_own(edge_warehouse: Path) -> None:
    """Q2's year-to-date cash flows (330,000 and capex 110,000 for six months) are
    differenced into the quarter's own (minus Q1's 150,000 and 50,000) before they meet
    the quarter's revenue; fiscal 2022 has no Q1, so its Q2 cash flows stay NULL."""
    r = _ratios(edge_warehouse, "RQTR", 2023, "Q2")
    assert r["flags"] == ["quarterly_flows"]
    assert r["operating_cash_flow_to_sales"] == 180_000 / 1_100_000
    assert r["free_cash_flow_margin"] == (180_000 - 60_000) / 1_100_000
    assert r["operating_cash_flow_ratio"] == 180_000 / 420_000
    assert r["cash_conversion"] == 180_000 / 110_000
    assert r["capex_coverage"] == 180_000 / 60_000
    # the prior year's Q2 has no discrete cash flow (no Q1 2022 to subtract): no growth
    assert r["operating_cash_flow_growth"] is None
    prior = _ratios(edge_warehouse, "RQTR", 2022, "Q2")
    for name in MIXED_CASH_FLOW:
        assert prior[name] is None, name
    # against the same fiscal period one year earlier
    assert r["balance_basis"] == "average"
    assert r["revenue_growth"] == (1_100_000 - 880_000) / 880_000
    assert r["return_on_equity"] == 110_000 / ((950_000 + 1_050_000) / 2)
    assert r["receivables_turnover"] == 1_100_000 / ((225_000 + 275_000) / 2)
    assert r["days_sales_outstanding"] == 91.25 / (1_100_000 / ((225_000 + 275_000) / 2))
