"""The bad-input corpus (tests/data/bad_inputs, see its README): each kind has its
documented outcome, conservation holds per file, and the seed beside them loads whole."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.assets.raw import run_checks
from pipeline.ingest.load import load_seeds
from tests.helpers import SEED_FILE, TEST_DATA, query, query_dicts

CORPUS = TEST_DATA / "bad_inputs"
HOSTILE_NAME = "it's a \"quoted\" file; name.json"
DEEP = "deeply_nested.json"

# file -> (status, filings, facts, [(record_index, concept, kind, reason fragment)])
EXPECTED: dict[str, tuple[str, int, int, list[tuple[int | None, str | None, str, str]]]] = {
    "TROO.json": ("loaded", 5, 1288, []),
    "truncated.json": ("rejected", 0, 0, [(None, None, "file", "not valid JSON")]),
    "empty.json": ("rejected", 0, 0, [(None, None, "file", "empty file")]),
    "bom.json": ("loaded", 1, 5, []),
    "bom_with_nan.json": ("loaded", 1, 4, [(0, "x", "value", "not a finite number (NaN)")]),
    "not_utf8.json": ("rejected", 0, 0, [(None, None, "file", "not UTF-8")]),
    "top_level_string.json": ("rejected", 0, 0, [(None, None, "file", "top level is a string")]),
    "top_level_number.json": ("rejected", 0, 0, [(None, None, "file", "top level is a number")]),
    "missing_symbol.json": ("loaded", 1, 5, [(1, None, "filing", "key 'symbol': missing")]),
    "impossible_date.json": ("loaded", 1, 5, [
        (0, None, "filing", "key 'date': not a valid YYYY-MM-DD date ('2023-02-30')")]),
    "unknown_period.json": ("loaded", 1, 5, [(0, None, "filing", "key 'period': unknown period")]),
    "bad_metadata_types.json": ("loaded", 1, 5, [
        (0, None, "filing", "key 'symbol'"), (1, None, "filing", "key 'date'"),
        (2, None, "filing", "key 'period': missing period"), (3, None, "filing", "key 'symbol'")]),
    "nan_infinity.json": ("loaded", 1, 4, [
        (0, "costs", "value", "not a finite number (Infinity)"),
        (0, "losses", "value", "not a finite number (-Infinity)"),
        (0, "revenues", "value", "not a finite number (NaN)")]),
    "huge_number.json": ("loaded", 1, 4, [
        (0, "costs", "value", "out of DECIMAL(38,10) range"),
        (0, "liabilities", "value", "out of DECIMAL(38,10) range"),
        (0, "revenues", "value", "out of DECIMAL(38,10) range (1e400)")]),
    "thousands_separators.json": ("loaded", 1, 10, []),
    "nested_values.json": ("loaded", 1, 7, []),
    "booleans_nulls.json": ("loaded", 1, 9, []),
    "duplicate_keys.json": ("loaded", 1, 5, [
        (0, "assets", "value", "duplicate key"), (0, "revenues", "value", "duplicate key")]),
    "sql_symbol.json": ("loaded", 1, 5, []),
    "non_object_record.json": ("loaded", 1, 5, [
        (0, None, "filing", "not a JSON object (int)"),
        (1, None, "filing", "not a JSON object (str)"),
        (2, None, "filing", "not a JSON object (null)")]),
    # loaded (text facts only) with a warning row, not rejected
    "no_numeric_value.json": ("loaded", 2, 9, [(0, None, "warning", "no numeric value")]),
    HOSTILE_NAME: ("loaded", 1, 5, []),
    DEEP: ("rejected", 0, 0, [(None, None, "file", "nested too deeply")]),
}


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_inputs")
    seeds = root / "seeds"
    shutil.copytree(CORPUS, seeds, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(SEED_FILE, seeds / SEED_FILE.name)
    (seeds / HOSTILE_NAME).write_text(json.dumps(
        [{"symbol": "HOST", "date": "2023-12-31", "period": "FY", "assets": 1, "x": 2}]))
    (seeds / DEEP).write_text("[" * 100_000 + "]" * 100_000)
    db = root / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert summary.files_seen == len(EXPECTED)
    return db


def test_at_least_15_kinds() -> None:
    assert len([f for f in EXPECTED if f != "TROO.json"]) >= 15


@pytest.mark.parametrize("source_file", sorted(EXPECTED))
def test_documented_outcome(corpus_db: Path, source_file: str) -> None:
    status, filings, facts, rejects = EXPECTED[source_file]
    log = query_dicts(corpus_db, "select * from raw.load_log where source_file = ?",
                      [source_file])
    assert len(log) == 1
    assert (log[0]["status"], log[0]["filings"], log[0]["facts"]) == (status, filings, facts)
    got = query(corpus_db, "select record_index, concept, kind, reason from raw.rejects "
                           "where source_file = ? order by record_index nulls first, concept",
                [source_file])
    assert len(got) == len(rejects) == log[0]["rejects"]
    for (index, concept, kind, reason), expected in zip(got, rejects, strict=True):
        assert (index, concept, kind) == expected[:3]
        assert expected[3] in reason
        # every reason names the file, the record index and the key where there is one
        assert reason.startswith(f"file {source_file!r}")
        if index is not None:
            assert f"record {index}" in reason
        if concept is not None:
            assert f"key {concept!r}" in reason


def test_seed_beside_them_loads_completely(corpus_db: Path) -> None:
    assert query(corpus_db, "select count(*), sum(fact_count) from raw.filings "
                            "where source_file = 'TROO.json'") == [(5, 1288)]
    assert query(corpus_db, "select count(*) from raw.facts x join raw.filings f "
                            "using (filing_id) where f.source_file = 'TROO.json'") == [(1288,)]


def test_raw_checks_pass_over_the_corpus(corpus_db: Path) -> None:
    results = {r.check_name: r.passed for r in run_checks(corpus_db)}
    assert results == {"raw_facts_unique": True, "raw_filings_have_numeric_fact": True,
                       "raw_conservation": True, "raw_rejects_present": False}


def test_conservation_per_file(corpus_db: Path) -> None:
    rows = query_dicts(corpus_db, """
        select l.source_file, l.records, l.keys, l.filings, l.facts,
               count(r.kind) filter (where r.kind = 'value') as rejected_values,
               count(r.kind) filter (where r.kind = 'filing') as rejected_filings
        from raw.load_log l left join raw.rejects r using (load_id)
        group by all""")
    assert len(rows) == len(EXPECTED)
    for r in rows:
        assert r["facts"] + r["rejected_values"] == r["keys"], r
        assert r["filings"] + r["rejected_filings"] == r["records"], r


def _facts(db: Path, symbol: str) -> dict[str, tuple[Decimal | None, str | None]]:
    rows = query(db, "select concept, value_number, value_text from raw.facts x "
                     "join raw.filings f using (filing_id) where f.symbol = ?", [symbol])
    return {c: (n, t) for c, n, t in rows}


def test_values_of_the_awkward_kinds(corpus_db: Path) -> None:
    ths = _facts(corpus_db, "THS")
    assert ths["revenues"] == (None, "1,234")
    assert ths["costs"] == (Decimal("260174000000"), "260174000000.000000")
    assert ths["eps"] == (Decimal("-0.02"), "-0.02")
    assert ths["term"] == (None, "P10Y")
    assert ths["link"] == (None, "http://fasb.org/us-gaap/2023#X")
    nst = _facts(corpus_db, "NST")
    assert nst["segments"] == (None, '{"a":1,"b":[1,2.5]}')
    assert nst["members"] == (None, '["x","y"]')
    boo = _facts(corpus_db, "BOO")
    assert boo["flag"] == (None, "true")
    assert boo["other"] == (None, "false")
    assert boo["missing"] == (None, None)
    assert boo["textflag"] == (None, "true")
    dup = _facts(corpus_db, "DUP")
    assert dup["assets"] == (Decimal(2), "2")
    assert dup["revenues"] == (Decimal(20), "20")
    assert "Revenues" not in dup
    assert query(corpus_db, "select payload from raw.rejects where concept = 'assets' and "
                            "source_file = 'duplicate_keys.json'") == [("1",)]
    assert _facts(corpus_db, "NAN")["assets"] == (Decimal(100), "100")
    assert _facts(corpus_db, "BOM")["assets"] == (Decimal(100), "100")


def test_hostile_symbol_and_file_name_stored_verbatim(corpus_db: Path) -> None:
    symbol = "O'Brien\"; DROP TABLE raw.facts; --"
    assert query(corpus_db, "select symbol, source_file from raw.filings where symbol = ?",
                 [symbol]) == [(symbol, "sql_symbol.json")]
    assert query(corpus_db, "select value_text from raw.facts where concept = 'symbol' and "
                            "value_text = ?", [symbol]) == [(symbol,)]
    assert query(corpus_db, "select count(*) from raw.filings where source_file = ?",
                 [HOSTILE_NAME]) == [(1,)]
    assert query(corpus_db, "select count(*) from raw.facts") != [(0,)]  # not dropped


def test_corpus_reload_is_idempotent(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(CORPUS, seeds, ignore=shutil.ignore_patterns("*.md"))
    db = tmp_path / "w.duckdb"
    first = load_seeds(seeds, db)
    counts = query(db, "select (select count(*) from raw.filings), "
                       "(select count(*) from raw.facts), (select count(*) from raw.rejects)")
    second = load_seeds(seeds, db)
    assert second.files_skipped == first.files_seen
    assert (second.new_filings, second.rejects) == (0, 0)
    assert query(db, "select (select count(*) from raw.filings), "
                     "(select count(*) from raw.facts), "
                     "(select count(*) from raw.rejects)") == counts


def test_filing_without_a_number_is_loaded_with_a_warning(corpus_db: Path,
                                                           tmp_path: Path) -> None:
    assert query(corpus_db, "select period_end, fact_count from raw.filings "
                            "where symbol = 'NNV' order by period_end") == [
        (date(2022, 12, 31), 5), (date(2023, 12, 31), 4)]
    assert query(corpus_db, "select x.concept, x.value_number, x.value_text from raw.facts x "
                            "join raw.filings f using (filing_id) where f.symbol = 'NNV' "
                            "and f.period_end = '2023-12-31' and x.concept = 'note'") == [
        ("note", None, "text only")]
    # the numeric-fact check accepts it because of the warning row, and only because of it
    copy = tmp_path / "w.duckdb"
    shutil.copy(corpus_db, copy)
    with warehouse.session(copy) as con:
        con.execute("delete from raw.rejects where kind = 'warning'")
    results = {r.check_name: r.passed for r in run_checks(copy)}
    assert results["raw_filings_have_numeric_fact"] is False
