"""Extract + load of the vendor shapes into raw.* (issue 2), against real DuckDB files.

Expected numbers are hand-counted from seeds/TROO.json: 5 FY 20-F filings with 220, 238,
252, 283 and 295 keys (1,288 facts, `symbol`, `date`, `period` included).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import materialize

from pipeline.assets.raw import raw_tables, run_checks
from pipeline.ingest import values as V
from pipeline.ingest.load import load_seeds
from pipeline.resources import SeedsResource
from tests.helpers import SEED_FILE, TEST_DATA, make_seeds_dir, query, query_dicts

SEED_FACTS = [220, 238, 252, 283, 295]
ENVELOPE = {"symbol", "date", "period", "fiscalyear", "reportedcurrency"}


def seed_records() -> list[dict]:
    return json.loads(SEED_FILE.read_text())


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ingest_seed")
    db = root / "w.duckdb"
    summary = load_seeds(make_seeds_dir(root), db)
    assert (summary.files_seen, summary.files_loaded, summary.filings, summary.facts,
            summary.rejects) == (1, 1, 5, 1288, 0)
    return db


def test_seed_counts(seed_db: Path) -> None:
    assert query(seed_db, "select count(*) from raw.filings") == [(5,)]
    assert query(seed_db, "select count(*) from raw.facts") == [(1288,)]
    assert query(seed_db, "select count(*) from raw.rejects") == [(0,)]
    counts = query(seed_db, "select fact_count, (select count(*) from raw.facts x "
                            "where x.filing_id = f.filing_id) from raw.filings f "
                            "order by record_index")
    assert counts == [(n, n) for n in SEED_FACTS]


def test_assets_2023_exact(seed_db: Path) -> None:
    rows = query(seed_db, "select x.value_number, x.value_text from raw.facts x "
                          "join raw.filings f using (filing_id) "
                          "where f.fiscal_year = 2023 and x.concept = 'assets'")
    assert rows == [(Decimal("70345000"), "70345000")]


def test_filing_columns(seed_db: Path) -> None:
    rows = query_dicts(seed_db, "select * from raw.filings order by record_index")
    assert [r["fiscal_year"] for r in rows] == [2023, 2022, 2021, 2020, 2019]
    assert [str(r["period_end"]) for r in rows] == [f"{y}-12-31" for y in range(2023, 2018, -1)]
    assert [r["company_name"] for r in rows] == ["TROOPS, Inc."] * 3 + ["SGOCO Group, Ltd."] * 2
    for r in rows:
        assert r["source"] == "vendor"
        assert r["source_file"] == "TROO.json"
        assert r["symbol"] == "TROO"
        assert r["cik"] == "1412095"
        assert r["fiscal_period"] == "FY"
        assert r["document_type"] == "20-F"
        assert r["is_amendment"] is False
        assert r["currency"] is None
        assert r["filed_date"] is None
        assert r["load_id"] == 1
        assert len(r["filing_id"]) == 32


def test_every_key_lands_with_metadata_keys(seed_db: Path) -> None:
    expected = sorted((i, k) for i, rec in enumerate(seed_records()) for k in rec)
    got = sorted(query(seed_db, "select f.record_index, x.concept from raw.facts x "
                                "join raw.filings f using (filing_id)"))
    assert got == expected
    meta = dict(query(seed_db, "select concept, value_text from raw.facts x join raw.filings f "
                               "using (filing_id) where f.fiscal_year = 2023 and concept in "
                               "('symbol', 'date', 'period', 'entityregistrantname')"))
    assert meta == {"symbol": "TROO", "date": "2023-12-31", "period": "FY",
                    "entityregistrantname": "TROOPS, Inc."}


def test_values_land_as_the_contract_says(seed_db: Path) -> None:
    rows = dict(((c, (n, t)) for c, n, t in query(
        seed_db, "select concept, value_number, value_text from raw.facts x "
                 "join raw.filings f using (filing_id) where f.fiscal_year = 2023")))
    assert rows["earningspersharebasic"] == (Decimal("-0.02"), "-0.02")
    assert rows["documentfiscalyearfocus"] == (Decimal("2023"), "2023")
    assert rows["documentannualreport"] == (None, "true")  # a string, not a number
    assert rows["entityfilenumber"] == (None, "1-35016")
    assert rows["cityareacode"] == (Decimal("852"), "852")
    # every JSON number lands as value_number
    numbers = sum(1 for rec in seed_records() for v in rec.values()
                  if isinstance(v, int | float) and not isinstance(v, bool))
    assert query(seed_db, "select count(value_number) from raw.facts") == [(numbers,)]


def test_reload_unchanged_adds_nothing(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    ids = query(db, "select filing_id from raw.filings order by filing_id")
    again = load_seeds(seeds, db)
    assert (again.files_skipped, again.new_filings, again.new_facts) == (1, 0, 0)
    assert query(db, "select filing_id from raw.filings order by filing_id") == ids
    assert query(db, "select count(*) from raw.facts") == [(1288,)]
    assert query(db, "select load_id, status from raw.load_log order by load_id") == [
        (1, "loaded"), (2, "skipped_unchanged")]


def test_edit_one_value_adds_one_version(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    before = {r[0] for r in query(db, "select filing_id from raw.filings")}
    records = seed_records()
    records[2]["assets"] = 70346001
    (seeds / "TROO.json").write_text(json.dumps(records, indent=2))
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.filings, summary.facts) == (1, 5, 1288)
    assert (summary.new_filings, summary.new_facts) == (1, 252)
    after = query_dicts(db, "select * from raw.filings")
    assert len(after) == 6
    new = [r for r in after if r["filing_id"] not in before]
    assert [(r["fiscal_year"], r["load_id"], r["record_index"]) for r in new] == [(2021, 2, 2)]
    assert query(db, "select value_number from raw.facts where filing_id = ? and "
                     "concept = 'assets'", [new[0]["filing_id"]]) == [(Decimal("70346001"),)]
    assert query(db, "select count(*) from raw.facts") == [(1288 + 252,)]
    log = query(db, "select status, filings, facts, new_filings, new_facts from raw.load_log "
                    "order by load_id")
    assert log == [("loaded", 5, 1288, 5, 1288), ("loaded", 5, 1288, 1, 252)]


def test_same_content_same_id_in_another_file(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    shutil.copy(SEED_FILE, seeds / "TROO_copy.json")
    # the same filings re-serialised with other key order and whitespace
    reordered = [dict(reversed(list(r.items()))) for r in seed_records()]
    (seeds / "TROO_reordered.json").write_text(json.dumps(reordered))
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.filings, summary.new_filings) == (3, 15, 5)
    assert query(db, "select count(*), min(source_file) from raw.filings") == [(5, "TROO.json")]


def _nested(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        data = {k: v for k, v in r.items() if k not in ("symbol", "date", "period")}
        out.append({"symbol": r["symbol"], "fiscalYear": r["documentfiscalyearfocus"],
                    "period": r["period"], "reportedCurrency": "USD", "date": r["date"],
                    "data": data})
    return out


def test_nested_shape_loads_the_same_values(tmp_path: Path, seed_db: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "TROO_nested.json").write_text(json.dumps(_nested(seed_records())))
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    # keys = envelope keys other than `data` (5) + keys of data
    assert (summary.filings, summary.facts, summary.rejects) == (5, 1288 + 2 * 5, 0)
    sql = ("select f.fiscal_year, x.concept, x.value_number, x.value_text from raw.facts x "
           "join raw.filings f using (filing_id) where x.concept not in "
           "('symbol', 'date', 'period', 'fiscalyear', 'reportedcurrency') order by all")
    assert query(db, sql) == query(seed_db, sql)
    filings = query(db, "select fiscal_year, fiscal_period, currency, period_end::varchar, "
                        "company_name from raw.filings order by fiscal_year")
    assert filings[0] == (2019, "FY", "USD", "2019-12-31", "SGOCO Group, Ltd.")
    assert {f[2] for f in filings} == {"USD"}
    assert query(db, "select count(*) from raw.facts where concept in "
                     "('fiscalyear', 'reportedcurrency')") == [(10,)]
    log = query(db, "select records, keys, filings, facts from raw.load_log")
    assert log == [(5, 1298, 5, 1298)]


def test_single_object_file(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    first = seed_records()[0]
    (seeds / "one.json").write_text(json.dumps(first))
    (seeds / "one_nested.json").write_text(json.dumps(_nested([first])[0]))
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.filings, summary.facts) == (2, 2, 220 + 222)
    assert query(db, "select source_file, record_index, fact_count from raw.filings "
                     "order by 1") == [("one.json", 0, 220), ("one_nested.json", 0, 222)]


def test_fiscal_year_amendment_and_filed_date(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    base = {"symbol": "ABC", "period": "Q2", "revenues": 10}
    records = [
        {**base, "date": "2024-06-30"},  # fiscal year from the date
        {**base, "date": "2024-06-29", "documentfiscalyearfocus": "2025",
         "amendmentflag": True, "fillingDate": "2024-08-01"},
        {**base, "date": "2024-06-28", "documenttype": "10-Q/A", "fiscalYear": 2023.0},
        {**base, "date": "2024-06-27", "amendmentflag": "false"},
    ]
    (seeds / "abc.json").write_text(json.dumps(records))
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    rows = query(db, "select record_index, fiscal_year, is_amendment, filed_date::varchar, "
                     "document_type from raw.filings order by record_index")
    assert rows == [(0, 2024, False, None, None), (1, 2025, True, "2024-08-01", None),
                    (2, 2023, True, None, "10-Q/A"), (3, 2024, False, None, None)]


@pytest.mark.parametrize(("value", "expected"), [
    (70345000, Decimal("70345000")),
    (2019.0, Decimal("2019")),
    ("260174000000.000000", Decimal("260174000000")),
    ("-0.02", Decimal("-0.02")),
    ("0.12345678905", Decimal("0.1234567890")),  # half-even: ...890|5 -> even 0
    ("0.12345678915", Decimal("0.1234567892")),
    ("-0.00000000005", Decimal("0")),
    (1e-7, Decimal("0.0000001")),
    (V.JsonNumber("1E+3"), Decimal("1000")),
    ("9" * 28, Decimal("9" * 28)),
    ("1,234", None), ("P10Y", None), ("true", None), (True, None), (None, None),
    ("1e5", None), (" 12", None), ("", None),
])
def test_to_decimal(value: object, expected: Decimal | None) -> None:
    assert V.to_decimal(value) == expected
    text = V.number_text(value)
    assert (None if text is None else Decimal(text)) == expected


@pytest.mark.parametrize("value", [
    V.JsonNumber("NaN"), V.JsonNumber("Infinity"), V.JsonNumber("-Infinity"),
    V.JsonNumber("1e400"), float("nan"), float("inf"), 1e28, -1e30, 10**28, "1" * 29,
    "99999999999999999999999999999.5",
])
def test_not_representable(value: object) -> None:
    with pytest.raises(V.NotRepresentable):
        V.to_decimal(value)
    with pytest.raises(V.NotRepresentable):
        V.number_text(value)


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), (False, "false"), (None, None), ({"a": [1, 2.5]}, '{"a":[1,2.5]}'),
    ([1, "x"], '[1,"x"]'), (V.JsonNumber("2019.0"), "2019.0"), (V.JsonNumber("1E3"), "1000.0"),
    (V.JsonNumber("1.00000000000000000001"), "1.00000000000000000001"), ("P10Y", "P10Y"),
])
def test_value_text(value: object, text: str | None) -> None:
    assert V.value_text(value) == text


def test_rounding_and_exact_digits_through_the_loader(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    body = ('[{"symbol": "R", "date": "2024-12-31", "period": "FY", '
            '"a": 0.12345678905, "b": "0.12345678905", "c": 0.12345678915, '
            '"d": 123456789012345678.12345678901, "e": 12345678901234567890123, '
            '"f": 2019.0, "g": 1E-7}]')
    (seeds / "r.json").write_text(body)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    rows = dict((c, (n, t)) for c, n, t in query(
        db, "select concept, value_number, value_text from raw.facts where concept < 'h'"))
    assert rows["a"] == (Decimal("0.1234567890"), "0.12345678905")
    assert rows["b"] == (Decimal("0.1234567890"), "0.12345678905")
    assert rows["c"] == (Decimal("0.1234567892"), "0.12345678915")
    # more digits than a double holds: read exactly by the tolerant parser
    assert rows["d"] == (Decimal("123456789012345678.1234567890"),
                         "123456789012345678.12345678901")
    assert rows["e"] == (Decimal("12345678901234567890123"), "12345678901234567890123")
    assert rows["f"] == (Decimal("2019"), "2019.0")
    assert rows["g"] == (Decimal("0.0000001"), "1e-07")


def test_dagster_materialize_metadata_and_checks(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    (seeds / "bad.json").write_text('[{"symbol": "X", "date": "2024-02-30", "period": "FY"}]')
    db = tmp_path / "w.duckdb"
    from dagster_duckdb import DuckDBResource

    result = materialize([raw_tables], resources={
        "duckdb": DuckDBResource(database=str(db)), "seeds": SeedsResource(path=str(seeds))})
    assert result.success
    events = {tuple(e.asset_key.path): e.materialization.metadata
              for e in result.get_asset_materialization_events()}
    assert set(events) == {("raw", "filings"), ("raw", "facts"), ("raw", "load_log"),
                           ("raw", "rejects")}
    meta = events[("raw", "facts")]
    assert meta["files_seen"].value == 2
    assert meta["files_loaded"].value == 2
    assert meta["files_skipped"].value == 0
    assert meta["filings"].value == 5
    assert meta["facts"].value == 1288
    assert meta["rejects"].value == 1
    assert meta["dagster/row_count"].value == 1288
    assert "TROO.json" in meta["preview"].value
    assert "2024-02-30" in events[("raw", "rejects")]["preview"].value
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert {k: c.passed for k, c in checks.items()} == {
        "raw_facts_unique": True, "raw_filings_have_numeric_fact": True,
        "raw_conservation": True, "raw_rejects_present": False}
    warn = checks["raw_rejects_present"]
    assert warn.severity.value == "WARN"
    assert "bad.json" in warn.metadata["reasons"].value
    assert "key 'date'" in warn.metadata["reasons"].value
    # second run: unchanged files skipped, checks still pass on what is there
    again = materialize([raw_tables], resources={
        "duckdb": DuckDBResource(database=str(db)), "seeds": SeedsResource(path=str(seeds))})
    meta = {tuple(e.asset_key.path): e.materialization.metadata
            for e in again.get_asset_materialization_events()}[("raw", "filings")]
    assert (meta["files_skipped"].value, meta["new_filings"].value) == (2, 0)
    assert meta["dagster/row_count"].value == 5


def test_company_facts_files_go_to_the_sec_reader(tmp_path: Path) -> None:
    """Dispatch: an object with "facts" and "cik" is SEC company facts. What orjson would
    hide in it (a repeated key, digits beyond a double) is read exactly."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(TEST_DATA / "sec" / "LPA_companyfacts_ifrs.json", seeds)
    entry = ('{{"end": "2023-12-31", "val": {val}, "accn": "0000000042-24-000001", '
             '"fy": 2023, "fp": "FY", "form": "10-K", "filed": "2024-02-01"}}')
    (seeds / "dup.json").write_text(
        '{"cik": 42, "entityName": "Synthetic Co", "facts": {"us-gaap": {'
        '"Assets": {"units": {"USD": [' + entry.format(val=1) + ']}}, '
        '"Assets": {"units": {"USD": [' + entry.format(val="123456789012345678901.75") +
        ']}}}}}')
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert summary.files_loaded == 2
    assert query(db, "select distinct source from raw.filings") == [("sec",)]
    assert query(db, "select value_number, value_text from raw.facts x join raw.filings f "
                     "using (filing_id) where f.source_file = 'dup.json'") == [
        (Decimal("123456789012345678901.75"), "123456789012345678901.75")]
    reasons = [r[0] for r in query(db, "select reason from raw.rejects")]
    assert len(reasons) == 1 and "duplicate key" in reasons[0]
    assert all(r.passed for r in run_checks(db) if r.check_name != "raw_rejects_present")
