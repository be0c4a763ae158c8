"""The CIK -> ticker seed refresh (pipeline/fetch/tickers.py) on a company_tickers.json
excerpt: existing seed rows are kept as users left them, unknown CIKs are appended."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.fetch import tickers
from pipeline.ingest import sec

# the shape the SEC serves (an excerpt; GOOG is listed after GOOGL)
DOC = {
    "0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."},
    "1": {"cik_str": 1652044, "ticker": "GOOGL", "title": "Alphabet Inc."},
    "2": {"cik_str": 1652044, "ticker": "GOOG", "title": "Alphabet Inc."},
    "3": {"cik_str": 789019, "ticker": "msft", "title": "MICROSOFT CORP"},
    "4": {"cik_str": "x", "ticker": "BAD", "title": "no CIK"},
}


def test_parse_keeps_the_first_ticker_per_cik() -> None:
    assert tickers.parse_company_tickers(DOC) == {
        320193: ("AAPL", "Apple Inc."), 1652044: ("GOOGL", "Alphabet Inc."),
        789019: ("MSFT", "MICROSOFT CORP")}
    with pytest.raises(ValueError):
        tickers.parse_company_tickers([])


def test_merge_keeps_user_rows_and_appends_new_ciks(tmp_path: Path) -> None:
    seed = tmp_path / "sec_companies.csv"
    seed.write_text("cik,symbol,company_name,sic\n320193,APPLE,My name,3571\n")
    result = tickers.merge_into_seed(seed, tickers.parse_company_tickers(DOC))
    assert result == tickers.MergeResult(kept=1, added=2)
    with seed.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {"cik": "320193", "symbol": "APPLE", "company_name": "My name", "sic": "3571"},
        {"cik": "789019", "symbol": "MSFT", "company_name": "MICROSOFT CORP", "sic": ""},
        {"cik": "1652044", "symbol": "GOOGL", "company_name": "Alphabet Inc.", "sic": ""},
    ]
    # the reader sees the refreshed seed
    assert sec.seed_symbols(seed) == {320193: "APPLE", 789019: "MSFT", 1652044: "GOOGL"}
    # idempotent: nothing new the second time
    assert tickers.merge_into_seed(seed, tickers.parse_company_tickers(DOC)) == \
        tickers.MergeResult(kept=3, added=0)
    assert not list(tmp_path.glob(".sec_companies.csv.*"))
