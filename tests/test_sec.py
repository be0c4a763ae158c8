"""SEC company facts (input shape 4): the reader on the real files, then the warehouse.

Parse-level tests run the reader on tests/data/sec/*.json (no dbt). Every figure asserted
here was read by hand from the raw JSON (`facts -> us-gaap -> Concept -> units -> USD`
entries of the named accession).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest import sec
from pipeline.ingest.model import FilingRecord, ParsedFile
from tests.helpers import TEST_DATA

SNOW_FILE = TEST_DATA / "sec" / "SNOW_companyfacts.json"
LPA_FILE = TEST_DATA / "sec" / "LPA_companyfacts_ifrs.json"

SNOW_10K_FY2024 = "0001640147-24-000101"
SNOW_10Q_LABELLED_FY = "0001640147-22-000044"
LPA_COVER_PAGE_AMENDMENT = "0001641172-25-002932"

# accession -> (form, fiscal_year, fiscal_period, period_start, period_end), from the
# accessions' duration facts: Snowflake's fiscal year ends on 31 January.
SNOW_PERIODS: dict[str, tuple[str, int, str, str, str]] = {
    "0001640147-20-000023": ("10-Q", 2021, "Q3", "2020-08-01", "2020-10-31"),
    "0001640147-21-000073": ("10-K", 2021, "FY", "2020-02-01", "2021-01-31"),
    "0001640147-21-000122": ("10-Q", 2022, "Q1", "2021-02-01", "2021-04-30"),
    "0001640147-21-000212": ("10-Q", 2022, "Q2", "2021-05-01", "2021-07-31"),
    "0001640147-21-000271": ("10-Q", 2022, "Q3", "2021-08-01", "2021-10-31"),
    "0001640147-22-000023": ("10-K", 2022, "FY", "2021-02-01", "2022-01-31"),
    "0001640147-22-000044": ("10-Q", 2023, "Q1", "2022-02-01", "2022-04-30"),  # fp says FY
    "0001640147-22-000084": ("10-Q", 2023, "Q2", "2022-05-01", "2022-07-31"),
    "0001640147-22-000100": ("10-Q", 2023, "Q3", "2022-08-01", "2022-10-31"),
    "0001640147-23-000030": ("10-K", 2023, "FY", "2022-02-01", "2023-01-31"),
    "0001640147-23-000102": ("10-Q", 2024, "Q1", "2023-02-01", "2023-04-30"),
    "0001640147-23-000199": ("10-Q", 2024, "Q2", "2023-05-01", "2023-07-31"),
    "0001640147-23-000260": ("10-Q", 2024, "Q3", "2023-08-01", "2023-10-31"),
    "0001640147-24-000101": ("10-K", 2024, "FY", "2023-02-01", "2024-01-31"),
    "0001640147-24-000135": ("10-Q", 2025, "Q1", "2024-02-01", "2024-04-30"),
    "0001640147-24-000207": ("10-Q", 2025, "Q2", "2024-05-01", "2024-07-31"),
    "0001640147-24-000250": ("10-Q", 2025, "Q3", "2024-08-01", "2024-10-31"),
    "0001640147-25-000052": ("10-K", 2025, "FY", "2024-02-01", "2025-01-31"),
    "0001640147-25-000110": ("10-Q", 2026, "Q1", "2025-02-01", "2025-04-30"),
}


def _parse(path: Path) -> ParsedFile:
    return sec.parse_company_facts(json.loads(path.read_bytes()), path.name)


@pytest.fixture(scope="module")
def snow() -> ParsedFile:
    return _parse(SNOW_FILE)


@pytest.fixture(scope="module")
def lpa() -> ParsedFile:
    return _parse(LPA_FILE)


def _by_accession(parsed: ParsedFile) -> dict[str, FilingRecord]:
    return {f.accession: f for f in parsed.filings if f.accession}


def _facts(filing: FilingRecord) -> dict[tuple[str, str | None, date | None, date | None],
                                           tuple[Decimal | None, str | None]]:
    return {
        (c, u, s, e): (n, t)
        for c, u, s, e, n, t in zip(filing.concepts, filing.units, filing.fact_starts,
                                    filing.fact_ends, filing.value_numbers,
                                    filing.value_texts, strict=True)
    }


def _entry(accn: str, end: str, val: Any, *, start: str | None = None, fy: int | None = 2024,
           fp: str | None = "FY", form: str = "10-K", filed: str = "2024-03-01") -> dict:
    e: dict[str, Any] = {"end": end, "val": val, "accn": accn, "fy": fy, "fp": fp,
                         "form": form, "filed": filed}
    if start is not None:
        e["start"] = start
    return e


def _doc(cik: Any, facts: dict[str, dict[str, dict[str, list[dict]]]]) -> dict:
    return {"cik": cik, "entityName": "Synthetic Co",
            "facts": {tax: {c: {"label": c, "units": units} for c, units in concepts.items()}
                      for tax, concepts in facts.items()}}


# --------------------------------------------------------------------------- real files

def test_snow_conservation_one_record_per_accession(snow: ParsedFile) -> None:
    assert snow.source_file == "SNOW_companyfacts.json"
    assert snow.records == 19 == len(snow.filings)
    assert snow.keys == 8163  # 23 dei + 8135 us-gaap + 5 srt fact entries
    assert sum(f.fact_count for f in snow.filings) + len(snow.rejects) == snow.keys
    assert snow.rejects == []
    assert len({f.accession for f in snow.filings}) == 19
    assert [f.record_index for f in snow.filings] == list(range(19))
    assert [f.filed_date for f in snow.filings] == sorted(f.filed_date for f in snow.filings)


def test_snow_filing_metadata(snow: ParsedFile) -> None:
    for f in snow.filings:
        assert (f.source, f.symbol, f.cik, f.company_name) == (
            "sec", "SNOW", "1640147", "SNOWFLAKE INC.")
        assert f.currency == "USD"
        assert f.is_amendment is False
    k = _by_accession(snow)[SNOW_10K_FY2024]
    assert (k.document_type, k.filed_date, k.fact_count) == ("10-K", date(2024, 3, 26), 587)


def test_snow_periods_from_the_statement_facts(snow: ParsedFile) -> None:
    got = {
        f.accession: (f.document_type, f.fiscal_year, f.fiscal_period,
                      str(f.period_start), str(f.period_end))
        for f in snow.filings
    }
    assert got == SNOW_PERIODS


def test_snow_10q_labelled_fy_is_first_quarter(snow: ParsedFile) -> None:
    """EDGAR says fp 'FY' on this 10-Q; its only durations are three months long."""
    raw = json.loads(SNOW_FILE.read_bytes())
    fps = {e["fp"] for units in raw["facts"]["us-gaap"].values()
           for entries in units["units"].values() for e in entries
           if e["accn"] == SNOW_10Q_LABELLED_FY}
    assert fps == {"FY"}
    f = _by_accession(snow)[SNOW_10Q_LABELLED_FY]
    assert (f.fiscal_year, f.fiscal_period, f.period_end) == (2023, "Q1", date(2022, 4, 30))


def test_snow_every_fact_keeps_its_own_context(snow: ParsedFile) -> None:
    k = _by_accession(snow)[SNOW_10K_FY2024]
    facts = _facts(k)
    d = date
    assert facts[("assets", "USD", None, d(2024, 1, 31))] == (Decimal(8223383000), "8223383000")
    assert facts[("assets", "USD", None, d(2023, 1, 31))][0] == 7722322000  # comparative
    revenue = "revenuefromcontractwithcustomerexcludingassessedtax"
    assert facts[(revenue, "USD", d(2023, 2, 1), d(2024, 1, 31))][0] == 2806489000
    assert facts[(revenue, "USD", d(2021, 2, 1), d(2022, 1, 31))][0] == 1219327000
    assert facts[("netincomeloss", "USD", d(2023, 2, 1), d(2024, 1, 31))][0] == -836097000
    cash = "cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
    assert facts[(cash, "USD", None, d(2023, 1, 31))][0] == 956731000  # opening cash
    # dei cover-page facts keep their later dates, and do not move period_end
    assert facts[("dei:entitycommonstocksharesoutstanding", "shares", None, d(2024, 3, 15))][
        0] == 334200000
    assert facts[("dei:entitypublicfloat", "USD", None, d(2023, 7, 31))][0] == 56600000000
    assert k.period_end == d(2024, 1, 31)
    units = Counter(k.units)
    assert {"USD", "shares", "USD/shares", "pure"} <= set(units)
    # per-share facts: a float in the JSON, the text as given
    eps = facts[("earningspersharebasic", "USD/shares", d(2023, 2, 1), d(2024, 1, 31))]
    assert eps == (Decimal("-2.55"), "-2.55")


def test_snow_concept_naming(snow: ParsedFile) -> None:
    concepts = {c for f in snow.filings for c in f.concepts}
    assert all(c == c.lower() for c in concepts)
    assert "assets" in concepts and "us-gaap:assets" not in concepts
    assert "srt:stockrepurchaseprogramauthorizedamount1" in concepts
    assert "dei:entitycommonstocksharesoutstanding" in concepts


def test_snow_facts_unique_on_raw_key(snow: ParsedFile) -> None:
    for f in snow.filings:
        keys = list(zip(f.concepts, f.units, f.fact_starts, f.fact_ends, strict=True))
        assert len(keys) == len(set(keys)), f.accession


def test_lpa_ifrs_filer(lpa: ParsedFile) -> None:
    assert (lpa.records, lpa.keys, len(lpa.rejects)) == (3, 768, 0)
    assert sum(f.fact_count for f in lpa.filings) == 768
    got = [(f.accession, f.document_type, f.is_amendment, f.fiscal_year, f.fiscal_period,
            str(f.period_start), str(f.period_end), f.currency, f.fact_count)
           for f in lpa.filings]
    assert got == [
        ("0001493152-24-016772", "20-F", False, 2023, "FY", "2023-01-01", "2023-12-31",
         "USD", 369),
        ("0001997711-25-000030", "20-F", False, 2024, "FY", "2024-01-01", "2024-12-31",
         "USD", 398),
        # cover page only: its one dei fact is dated 2025-04-02; the period is the one it amends
        (LPA_COVER_PAGE_AMENDMENT, "20-F/A", True, 2024, "FY", "2024-01-01", "2024-12-31",
         None, 1),
    ]
    for f in lpa.filings:
        assert (f.symbol, f.cik, f.company_name) == (
            "LPA", "0001997711", "Logistic Properties of the Americas")
    amendment = _by_accession(lpa)[LPA_COVER_PAGE_AMENDMENT]
    assert all(c.startswith("dei:") for c in amendment.concepts)
    concepts = {c for f in lpa.filings for c in f.concepts}
    assert "ifrs-full:assets" in concepts
    assert all(c.startswith(("ifrs-full:", "dei:")) for c in concepts)
    other_currencies = {u for f in lpa.filings for u in f.units} & {"COP", "CRC", "PEN"}
    assert other_currencies == {"COP", "CRC", "PEN"}  # kept with their own unit


# --------------------------------------------------------------------------- synthetic

def test_duplicates_and_unrepresentable_values_are_rejects_not_losses() -> None:
    a = "0000000042-24-000001"
    doc = _doc(42, {"us-gaap": {
        "Assets": {"USD": [_entry(a, "2023-12-31", 100), _entry(a, "2023-12-31", 100),
                           _entry(a, "2022-12-31", 90), _entry(a, "2022-12-31", 91)]},
        "assets": {"USD": [_entry(a, "2023-12-31", 100)]},  # same key after lowercasing
        "Revenues": {"USD": [_entry(a, "2023-12-31", 5, start="2023-01-01"),
                             _entry(a, "2023-12-31", float("nan"), start="2022-01-01"),
                             _entry(a, "2023-12-31", 1e40, start="2021-01-01")]},
        "Liabilities": {"USD": [{"end": "2023-12-31", "val": 1}]},  # no accession
    }})
    parsed = sec.parse_company_facts(doc, "x.json")
    assert (parsed.records, parsed.keys) == (1, 9)
    (f,) = parsed.filings
    assert f.fact_count + len(parsed.rejects) == parsed.keys
    facts = _facts(f)
    assert facts[("assets", "USD", None, date(2023, 12, 31))][0] == 100
    assert facts[("assets", "USD", None, date(2022, 12, 31))][0] == 91  # the later wins
    reasons = Counter(r.reason.split(": ", 1)[1] for r in parsed.rejects)
    identical = ("duplicate fact (same concept, unit and period in one accession; the later "
                 "entry is kept, the values are identical)")
    conflicting = ("duplicate fact (same concept, unit and period in one accession; the later "
                   "value wins, conflicting value)")
    assert reasons == {
        identical: 2,
        conflicting: 1,
        "not a finite number (nan)": 1,
        "out of DECIMAL(38,10) range (1e+40)": 1,
        "fact without accession number": 1,
    }
    assert {r.record_index for r in parsed.rejects if "duplicate" in r.reason} == {0}
    assert all(r.reason.startswith("file 'x.json'") for r in parsed.rejects)
    assert f.symbol == "CIK0000000042"  # not in the seed, no dei trading symbol


def test_malformed_levels_and_empty_accessions_are_counted() -> None:
    good = "0000000042-24-000001"
    empty = "0000000042-24-000002"
    doc = _doc(42, {"us-gaap": {
        "Assets": {"USD": [_entry(good, "2023-12-31", 1), _entry(empty, "31/12/2023", 2)]},
    }})
    doc["facts"]["srt"] = ["not", "an", "object"]
    parsed = sec.parse_company_facts(doc, "m.json")
    assert (parsed.records, parsed.keys, len(parsed.filings)) == (2, 3, 1)
    kinds = {(r.record_index, r.concept, r.is_filing) for r in parsed.rejects}
    assert kinds == {(None, "srt", False), (1, None, True), (1, "assets", False)}
    values = [r for r in parsed.rejects if not r.is_filing]
    assert parsed.filings[0].fact_count + len(values) == parsed.keys
    assert len(parsed.filings) + sum(r.is_filing for r in parsed.rejects) == parsed.records
    whole = sec.parse_company_facts({"cik": 42, "facts": []}, "w.json")
    assert (whole.records, whole.keys, whole.filings) == (0, 0, [])
    (r,) = whole.rejects
    assert (r.record_index, r.concept) == (None, None) and "'facts' is not an object" in r.reason


def test_symbol_from_dei_then_seed_then_cik(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    a = "0000000042-24-000001"
    facts = {"us-gaap": {"Assets": {"USD": [_entry(a, "2023-12-31", 1)]}},
             "dei": {"TradingSymbol": {"pure": [_entry(a, "2024-02-01", "syn")]}}}
    assert sec.parse_company_facts(_doc("0000000042", facts), "x.json").filings[0].symbol == "SYN"
    seed = tmp_path / "sec_companies.csv"
    seed.write_text("cik,symbol,company_name\n0000000042,SYNC,Synthetic Co\n")
    monkeypatch.setattr(sec, "COMPANIES_SEED", seed)
    # the filer's own dei trading symbol wins; the seed fills in where dei has none
    assert sec.parse_company_facts(_doc(42, facts), "x.json").filings[0].symbol == "SYN"
    no_dei = {"us-gaap": facts["us-gaap"]}
    assert sec.parse_company_facts(_doc(42, no_dei), "x.json").filings[0].symbol == "SYNC"
    assert sec.parse_company_facts(_doc(43, no_dei), "x.json").filings[0].symbol == \
        "CIK0000000043"
    # the shipped seed maps every shared SEC file and the 2009q3 banks and insurers
    assert sec.seed_symbols(sec.config.DBT_SEEDS_DIR / "sec_companies.csv") == {
        1640147: "SNOW", 1997711: "LPA", 320193: "AAPL", 1652044: "GOOGL", 1046179: "TSM",
        19617: "JPM", 70858: "BAC", 72971: "WFC", 831001: "C", 1099219: "MET", 80661: "PGR",
        20171: "CB", 896159: "ACE", 1067983: "BRK-B"}


def test_quarter_number_from_year_to_date_and_fiscal_year_check() -> None:
    """A 10-Q labelled FY with a six-month YTD is Q2; a 52/53-week year ending in early
    January keeps the filer's fy; an fy that contradicts the dates is replaced."""
    q = "0000000042-24-000002"
    k = "0000000042-24-000003"
    bad = "0000000042-24-000004"
    doc = _doc(42, {"us-gaap": {
        "Revenues": {"USD": [
            _entry(q, "2024-06-29", 10, start="2024-03-31", fp="FY", fy=2024, form="10-Q"),
            _entry(q, "2024-06-29", 20, start="2023-12-31", fp="FY", fy=2024, form="10-Q"),
            _entry(k, "2024-01-03", 70, start="2022-12-29", fp="FY", fy=2023, form="10-K"),
            _entry(bad, "2022-12-31", 70, start="2022-01-01", fp="FY", fy=2019, form="10-K/A"),
        ]},
    }})
    got = {f.accession: (f.fiscal_year, f.fiscal_period, str(f.period_start),
                         str(f.period_end), f.is_amendment)
           for f in sec.parse_company_facts(doc, "x.json").filings}
    assert got == {
        q: (2024, "Q2", "2024-03-31", "2024-06-29", False),
        k: (2023, "FY", "2022-12-29", "2024-01-03", False),
        bad: (2022, "FY", "2022-01-01", "2022-12-31", True),
    }


def test_tolerant_parse_duplicate_keys_and_nan() -> None:
    """What orjson refuses (NaN) or hides (a repeated key) still lands as rejects when
    the loader falls back to the tolerant parser."""
    from pipeline.ingest import values

    a = "0000000042-24-000001"
    text = (
        '{"cik": 42, "entityName": "Synthetic Co", "facts": {"us-gaap": {'
        '"Assets": {"units": {"USD": [{"end": "2023-12-31", "val": 1, "accn": "A", '
        '"fy": 2023, "fp": "FY", "form": "10-K", "filed": "2024-02-01"}]}},'
        '"Assets": {"units": {"USD": [{"end": "2023-12-31", "val": 123456789012345678901.75, '
        '"accn": "A", "fy": 2023, "fp": "FY", "form": "10-K", "filed": "2024-02-01"}, '
        '{"end": "2022-12-31", "val": NaN, "accn": "A", "fy": 2023, "fp": "FY", '
        '"form": "10-K", "filed": "2024-02-01"}]}}}}}'
    ).replace('"A"', f'"{a}"')
    parsed = sec.parse_company_facts(values.loads_tolerant(text), "t.json")
    assert (parsed.records, parsed.keys) == (1, 3)
    (f,) = parsed.filings
    assert f.fact_count == 1 and len(parsed.rejects) == 2
    assert f.value_numbers == [Decimal("123456789012345678901.75")]
    assert f.value_texts == ["123456789012345678901.75"]  # as written, no float rounding
    assert (f.cik, f.fiscal_year, f.fiscal_period) == ("42", 2023, "FY")
    assert sorted(r.reason.split(": ", 1)[1] for r in parsed.rejects) == [
        "duplicate key (a later value of the same key wins)", "not a finite number (NaN)"]


# --------------------------------------------------------------------------- warehouse

VENDOR_SNOW = [{
    # the same fiscal 2024 year as the vendor sells it (its revenue is off by 489,000)
    "symbol": "SNOW", "date": "2024-01-31", "period": "FY", "documentfiscalyearfocus": "2024",
    "assets": 8223383000, "revenuefromcontractwithcustomerexcludingassessedtax": 2806000000,
    "netincomeloss": -836097000,
}]
UNMAPPED_ACCN = "0000000042-24-000001"
UNMAPPED_FILER = {  # an IFRS filer whose concepts the concept map does not cover
    "cik": 42, "entityName": "Unmapped Co",
    "facts": {"ifrs-full": {"SomeUnmappedTotal": {"units": {"EUR": [
        {"start": "2023-01-01", "end": "2023-12-31", "val": 5, "accn": UNMAPPED_ACCN,
         "fy": 2023, "fp": "FY", "form": "20-F", "filed": "2024-03-01"},
    ]}}}},
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Both SEC files, a small vendor file for SNOW and an unmapped IFRS filer, loaded
    and dbt-built once. Returns (db path, dbt build stdout)."""
    from tests.helpers import load, make_seeds_dir, run_dbt

    root = tmp_path_factory.mktemp("sec_warehouse")
    seeds = make_seeds_dir(root, (SNOW_FILE, LPA_FILE))
    (seeds / "SNOW_vendor.json").write_text(json.dumps(VENDOR_SNOW))
    (seeds / "UNMAPPED_companyfacts.json").write_text(json.dumps(UNMAPPED_FILER))
    db = root / "financials.duckdb"
    load(seeds, db)
    proc = run_dbt(db, "build")
    return db, proc.stdout


def _one(db: Path, sql: str, params: tuple = ()) -> dict[str, Any]:
    from tests.helpers import query_dicts

    rows = query_dicts(db, sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def test_raw_load_of_company_facts(warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, _ = warehouse
    log = {r[0]: r[1:] for r in query(db, "select source_file, status, filings, facts, rejects "
                                          "from raw.load_log")}
    assert log["SNOW_companyfacts.json"] == ("loaded", 19, 8163, 0)
    assert log["LPA_companyfacts_ifrs.json"] == ("loaded", 3, 768, 0)
    dupes = query(db, """
        select count(*) from (
            select filing_id, concept, unit, period_start, period_end from raw.facts
            group by all having count(*) > 1)""")
    assert dupes == [(0,)]
    row = _one(db, """
        select f.symbol, f.cik, f.source, f.document_type, f.is_amendment, f.currency,
               f.period_start, f.period_end, f.fiscal_year, f.fiscal_period, f.filed_date,
               count(*) as facts, count(distinct fa.period_end) as fact_dates
        from raw.filings f join raw.facts fa using (filing_id)
        where f.accession = ? group by all""", (SNOW_10K_FY2024,))
    assert row == {
        "symbol": "SNOW", "cik": "1640147", "source": "sec", "document_type": "10-K",
        "is_amendment": False, "currency": "USD", "period_start": date(2023, 2, 1),
        "period_end": date(2024, 1, 31), "fiscal_year": 2024, "fiscal_period": "FY",
        "filed_date": date(2024, 3, 26), "facts": 587, "fact_dates": 8,
    }


def test_snow_fiscal_2024_10k(warehouse: tuple[Path, str]) -> None:
    db, _ = warehouse
    row = _one(db, """
        select b.period_end, b.currency, b.total_assets, i.revenue, i.net_income_to_parent,
               c.cash_beginning_of_period, c.cash_end_of_period, c.cash_flow_basis,
               f.accession
        from marts.balance_sheet b
        join marts.income_statement i using (source, symbol, fiscal_year, fiscal_period)
        join marts.cash_flow_statement c using (source, symbol, fiscal_year, fiscal_period)
        join raw.filings f on f.filing_id = b.filing_id
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024 and fiscal_period = 'FY'
        """)
    assert row == {
        "period_end": date(2024, 1, 31), "currency": "USD",
        "total_assets": Decimal("8223383000"), "revenue": Decimal("2806489000"),
        "net_income_to_parent": Decimal("-836097000"),
        # the 10-K's own instant at 2023-01-31, the day before the year starts
        "cash_beginning_of_period": Decimal("956731000"),
        "cash_end_of_period": Decimal("1780977000"),
        "cash_flow_basis": "period", "accession": SNOW_10K_FY2024,
    }


def test_snow_annual_and_quarter_rows(warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, _ = warehouse
    keys = query(db, """
        select fiscal_year, fiscal_period, period_end from marts.income_statement
        where source = 'sec' and symbol = 'SNOW' order by fiscal_year, fiscal_period""")
    filed = [(fy, fp, date.fromisoformat(end)) for _, fy, fp, _, end in SNOW_PERIODS.values()]
    # plus the derived fourth quarters (Q4 = FY - 9 months, ending with the fiscal year)
    # of the years with Q1-Q3 and FY (2021 has only its Q3 10-Q)
    derived_q4 = [(fy, "Q4", end) for fy, fp, end in filed if fp == "FY" and fy >= 2022]
    assert keys == sorted(filed + derived_q4)  # each accession's period exactly once
    assert [k[0] for k in keys if k[1] == "FY"] == [2021, 2022, 2023, 2024, 2025]
    assert len([k for k in keys if k[1] != "FY"]) == 14 + 4
    assert query(db, "select count(*) from marts.balance_sheet where source = 'sec' "
                     "and symbol = 'SNOW'") == [(19,)]
    # cash flows: fiscal 2021's Q4 too (FY - the Q3 10-Q's nine months year-to-date)
    assert query(db, "select count(*), count(*) filter (where fiscal_period = 'Q4') "
                     "from marts.cash_flow_statement where source = 'sec' "
                     "and symbol = 'SNOW'") == [(24, 5)]


def test_snow_quarters_discrete_from_year_to_date_cash_flows(warehouse: tuple[Path, str]) -> None:
    db, _ = warehouse
    q2 = _one(db, """
        select i.revenue, c.cash_flow_basis, c.net_cash_operating, c.capital_expenditure,
               c.cash_beginning_of_period, c.cash_end_of_period
        from marts.income_statement i
        join marts.cash_flow_statement c using (source, symbol, fiscal_year, fiscal_period)
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024 and fiscal_period = 'Q2'
        """)
    # the 10-Q's cash flows are six months from 2023-02-01 (net cash from operations
    # 382,635,000, capex 13,268,000, opening cash 956,731,000 at 2023-01-31); the quarter's
    # row is the discrete quarter: six months - the Q1 10-Q's three (299,444,000; 6,970,000)
    assert q2 == {
        "revenue": Decimal("674018000"),  # three months to 2023-07-31
        "cash_flow_basis": "period",
        "net_cash_operating": Decimal(382_635_000 - 299_444_000),
        "capital_expenditure": Decimal(13_268_000 - 6_970_000),
        "cash_beginning_of_period": Decimal("670839000"),  # Q1's closing cash, 2023-04-30
        "cash_end_of_period": Decimal("773380000"),
    }
    # the year-to-date figures as filed, kept apart
    assert _one(db, """
        select year_to_date_value, quarter_method from marts.quarterly_flows
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024
          and fiscal_period = 'Q2' and line_item = 'net_cash_operating'""") == {
        "year_to_date_value": Decimal("382635000"),
        "quarter_method": "year_to_date_difference"}
    # the 10-Q EDGAR labels fp 'FY' is fiscal 2023's first quarter, not a second FY row
    q1 = _one(db, """
        select i.period_end, i.revenue, c.cash_flow_basis, f.accession
        from marts.income_statement i
        join marts.cash_flow_statement c using (source, symbol, fiscal_year, fiscal_period)
        join raw.filings f on f.filing_id = i.filing_id
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2023 and fiscal_period = 'Q1'
        """)
    assert q1 == {"period_end": date(2022, 4, 30), "revenue": Decimal("422371000"),
                  "cash_flow_basis": "period", "accession": SNOW_10Q_LABELLED_FY}


def test_snow_tieouts_run_with_the_filings_own_opening_cash(warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, _ = warehouse
    rules = query(db, "select count(distinct rule_id) from marts.tieout_results")[0][0]
    per_key = query(db, """
        select fiscal_year, fiscal_period, count(*) from marts.tieout_results
        where source = 'sec' and symbol = 'SNOW' group by all""")
    # 19 filed periods + 5 derived fourth quarters (2021: cash flows only)
    assert len(per_key) == 24 and {n for _, _, n in per_key} == {rules}
    rollforward = query(db, """
        select t.fiscal_year, t.status, l.method, l.value
        from marts.tieout_results t
        join marts.statement_lines l using (source, symbol, fiscal_year, fiscal_period)
        where t.source = 'sec' and t.symbol = 'SNOW' and t.fiscal_period = 'FY'
          and t.rule_id = 'cf_cash_rollforward' and l.line_item = 'cash_beginning_of_period'
        order by 1""")
    assert rollforward == [
        (2021, "pass", "reported", Decimal("141976000")),
        (2022, "pass", "reported", Decimal("835193000")),
        (2023, "pass", "reported", Decimal("1102534000")),
        (2024, "pass", "reported", Decimal("956731000")),
        (2025, "pass", "reported", Decimal("1780977000")),
    ]
    statuses = dict(query(db, """
        select rule_id, status from marts.tieout_results
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024
          and fiscal_period = 'FY'"""))
    for rule in ("bs_assets_equal_liabilities_and_equity", "cf_net_change_in_cash",
                 "is_gross_profit", "is_net_income", "is_net_income_attribution"):
        assert statuses[rule] == "pass", rule
    # sums stay exact decimals: no DOUBLE round trip leaks into lhs / rhs
    assert query(db, """
        select lhs, rhs, difference from marts.tieout_results
        where source = 'sec' and symbol = 'SNOW' and fiscal_year = 2024
          and fiscal_period = 'FY' and rule_id = 'bs_assets_equal_liabilities_and_equity'
        """) == [(Decimal("8223383000"), Decimal("8223383000"), Decimal("0"))]


def test_vendor_and_sec_side_by_side(warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, _ = warehouse
    rows = query(db, """
        select source, total_assets, revenue
        from marts.balance_sheet join marts.income_statement
            using (source, symbol, fiscal_year, fiscal_period)
        where symbol = 'SNOW' and fiscal_year = 2024 and fiscal_period = 'FY' order by 1""")
    assert rows == [("sec", Decimal("8223383000"), Decimal("2806489000")),
                    ("vendor", Decimal("8223383000"), Decimal("2806000000"))]
    assert query(db, "select source, filings from marts.companies where symbol = 'SNOW' "
                     "order by 1") == [("sec", 19), ("vendor", 1)]


def test_lpa_ifrs_statements_mapped_amendment_supplies_nothing(
        warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, _ = warehouse
    row = _one(db, """
        select b.total_assets, i.revenue, i.net_income_to_parent, c.net_cash_operating,
               c.cash_beginning_of_period, c.cash_end_of_period, f.accession
        from marts.balance_sheet b
        join marts.income_statement i using (source, symbol, fiscal_year, fiscal_period)
        join marts.cash_flow_statement c using (source, symbol, fiscal_year, fiscal_period)
        join raw.filings f on f.filing_id = b.filing_id
        where source = 'sec' and symbol = 'LPA' and fiscal_year = 2024 and fiscal_period = 'FY'
        """)
    assert row == {
        "total_assets": Decimal("607019578"), "revenue": Decimal("43862372"),
        "net_income_to_parent": Decimal("-29285428"),
        "net_cash_operating": Decimal("19391563"),  # ifrs-full:CashFlowsFromUsedInOperations
        "cash_beginning_of_period": Decimal("35242363"),
        "cash_end_of_period": Decimal("28827347"),
        "accession": "0001997711-25-000030",  # the 20-F, not the later 20-F/A
    }
    assert query(db, """
        select count(*) from marts.statement_lines l
        join raw.filings f on f.filing_id = l.value_filing_id
        where f.accession = ?""", [LPA_COVER_PAGE_AMENDMENT]) == [(0,)]
    coverage = dict(query(db, """
        select accession, coverage from marts.filing_coverage
        where symbol = 'LPA'"""))
    assert coverage == {"0001493152-24-016772": "mapped", "0001997711-25-000030": "mapped",
                        LPA_COVER_PAGE_AMENDMENT: "cover_page_only"}
    statuses = dict(query(db, """
        select rule_id, status from marts.tieout_results
        where symbol = 'LPA' and fiscal_year = 2024 and rule_id in
            ('bs_assets_equal_liabilities_and_equity', 'cf_cash_rollforward',
             'cf_net_change_in_cash')"""))
    assert statuses == {"bs_assets_equal_liabilities_and_equity": "pass",
                        "cf_cash_rollforward": "pass", "cf_net_change_in_cash": "pass"}


def test_unmapped_taxonomy_is_flagged_not_silent(warehouse: tuple[Path, str]) -> None:
    from tests.helpers import query

    db, stdout = warehouse
    row = _one(db, """
        select symbol, taxonomies, statement_candidate_facts, statement_facts, coverage
        from marts.filing_coverage where accession = ?""", (UNMAPPED_ACCN,))
    assert row == {"symbol": "CIK0000000042", "taxonomies": "ifrs-full",
                   "statement_candidate_facts": 1, "statement_facts": 0,
                   "coverage": "taxonomy_not_mapped"}
    assert query(db, "select count(*) from marts.statement_lines "
                     "where symbol = 'CIK0000000042'") == [(0,)]
    # the warn test names the problem in the dbt build (a Dagster asset check)
    warned = [line for line in stdout.splitlines()
              if "sec_filings_supply_statement_lines" in line and "WARN 1" in line]
    assert warned, stdout[-3000:]
