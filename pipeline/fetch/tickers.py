"""The SEC's company_tickers.json (https://www.sec.gov/files/company_tickers.json): ticker
-> CIK for FETCH_SEC_SYMBOLS (the fetcher downloads it into SEEDS_DIR as a hidden,
non-input file), and a refresh of the shipped CIK -> ticker table (dbt seed
sec_companies.csv).

Pure functions over the downloaded document: the fetcher downloads the JSON (with its
User-Agent and rate limit) and hands it here. Rows already in the seed are kept as they
are (users edit symbols and SIC codes there, and a seed row is what they decided); CIKs
the seed does not know are appended. The file is replaced atomically, so a reader never
sees half a seed.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = ("cik", "symbol", "company_name", "sic")


@dataclass(frozen=True)
class MergeResult:
    """What a refresh did: rows kept from the seed, rows added from the SEC's list."""

    kept: int
    added: int


def parse_company_tickers(doc: Any) -> dict[int, tuple[str, str]]:
    """CIK -> (ticker, title) from company_tickers.json ({"0": {"cik_str", "ticker",
    "title"}, ...}). The first ticker listed for a CIK is its primary class (the SEC lists
    GOOGL before GOOG); entries without a numeric CIK or a ticker are ignored."""
    if not isinstance(doc, dict):
        raise ValueError("company_tickers.json is not an object")
    out: dict[int, tuple[str, str]] = {}
    for key in sorted(doc, key=lambda k: int(k) if str(k).isdigit() else 10**12):
        entry = doc[key]
        if not isinstance(entry, dict):
            continue
        cik = str(entry.get("cik_str", "")).strip()
        ticker = str(entry.get("ticker") or "").strip().upper()
        if cik.isdigit() and ticker and int(cik) not in out:
            out[int(cik)] = (ticker, str(entry.get("title") or "").strip())
    return out


def ticker_key(ticker: str) -> str:
    """Tickers compared case-blind and with `.` as `-` (the SEC lists BRK-B; users type
    BRK.B as often)."""
    return ticker.strip().upper().replace(".", "-")


def ciks_by_ticker(doc: Any) -> dict[str, int]:
    """ticker_key(ticker) -> CIK, every ticker company_tickers.json lists (a company with
    several share classes has one entry per ticker, all with its CIK)."""
    if not isinstance(doc, dict):
        raise ValueError("company_tickers.json is not an object")
    out: dict[str, int] = {}
    for entry in doc.values():
        if not isinstance(entry, dict):
            continue
        cik = str(entry.get("cik_str", "")).strip()
        ticker = str(entry.get("ticker") or "").strip()
        if cik.isdigit() and int(cik) > 0 and ticker:
            out.setdefault(ticker_key(ticker), int(cik))
    return out


def merge_into_seed(seed: Path, tickers: dict[int, tuple[str, str]]) -> MergeResult:
    """Append the CIKs the seed lacks, keep every existing row, write atomically."""
    rows: list[dict[str, str]] = []
    known: set[int] = set()
    if seed.exists():
        with seed.open(newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                rows.append({c: (row.get(c) or "") for c in COLUMNS})
                cik = (row.get("cik") or "").strip()
                if cik.isdigit():
                    known.add(int(cik))
    kept = len(rows)
    for cik in sorted(set(tickers) - known):
        ticker, title = tickers[cik]
        rows.append({"cik": str(cik), "symbol": ticker, "company_name": title, "sic": ""})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    fd, tmp = tempfile.mkstemp(dir=seed.parent, prefix=f".{seed.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(buffer.getvalue())
        os.replace(tmp, seed)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return MergeResult(kept=kept, added=len(rows) - kept)
