"""What a reader hands the loader: parsed filings and rejects of one input file.

Readers (vendor flat/nested/single shapes in `vendor.py`, SEC company facts in
`sec.py`) are pure functions from a decoded document to a `ParsedFile`; `parse.py`
dispatches to them and hashes, `write.py` owns transactions and the `raw.*` tables.
Facts are held as parallel lists (columnar) because the loader extends Arrow columns
from them: per-fact objects cost more than the whole JSON parse at scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(slots=True, kw_only=True)
class FactColumns:
    """Facts, columnar: element i of every list is one raw.facts row (keyword fields, so
    a subclass keeps its own positional fields first)."""

    concepts: list[str] = field(default_factory=list)
    value_numbers: list[Decimal | None] = field(default_factory=list)
    value_texts: list[str | None] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)
    fact_starts: list[date | None] = field(default_factory=list)
    fact_ends: list[date | None] = field(default_factory=list)

    @property
    def fact_count(self) -> int:
        return len(self.concepts)


@dataclass(slots=True)
class FilingRecord(FactColumns):
    """One accepted filing version and its facts (one row of raw.filings)."""

    record_index: int
    source: str  # 'vendor' | 'sec'
    symbol: str | None
    cik: str | None
    company_name: str | None
    period_end: date | None
    fiscal_year: int | None
    fiscal_period: str | None  # 'FY' | 'Q1'..'Q4'
    document_type: str | None
    is_amendment: bool
    currency: str | None
    filed_date: date | None = None
    accession: str | None = None
    period_start: date | None = None
    # Optional: SHA-256 hex of the filing's identity and facts computed by the reader
    # (the vendor reader hashes its record's sorted JSON in Rust); when None the loader
    # hashes the columns.
    content_digest: str | None = None
    # Optional: the number of this filing's rows in `ParsedFile.facts_table` when the
    # reader fills no per-fact lists at all (the FSDS reader: millions of rows).
    arrow_fact_count: int | None = None
    # The filer's Standard Industrial Classification code as the source gives it (FSDS
    # sub.sic); it picks the industry template (int_company_templates). Not part of the
    # filing's content address: a filer attribute, not a fact of the filing.
    sic: str | None = None

    @property
    def fact_count(self) -> int:
        return self.arrow_fact_count if self.arrow_fact_count is not None else len(self.concepts)


def where(source_file: str, record_index: int | None = None, key: str | None = None) -> str:
    """The reject-reason prefix every reader uses: the file, the record index, the key."""
    text = f"file {source_file!r}"
    if record_index is not None:
        text += f", record {record_index}"
    if key is not None:
        text += f", key {key!r}"
    return text


@dataclass(slots=True)
class RejectRecord:
    """One row of raw.rejects. `reason` names the file, the record index and the key."""

    record_index: int | None  # None for whole-file problems
    concept: str | None  # None unless one value was rejected
    reason: str
    payload: str | None = None
    is_filing: bool = False  # True when a whole record (filing) was rejected
    # True for a warning about an accepted filing (raw.rejects kind 'warning'; counted in
    # no conservation sum): a vendor filing without any numeric value is loaded, flagged.
    is_warning: bool = False


@dataclass(slots=True)
class ParsedFile:
    """Everything one file yields. Conservation (checked by the loader and an asset
    check): facts + rejected values = keys; filings + rejected filings = records."""

    source_file: str
    records: int
    keys: int
    filings: list[FilingRecord] = field(default_factory=list)
    rejects: list[RejectRecord] = field(default_factory=list)
    # Optional fast path (vendor reader): every filing's facts as one Arrow table
    # (concept, value_number decimal128(38,10), value_text), filings in list order, each
    # `fact_count` rows. When set, the loader writes these rows and a filing's
    # `value_numbers`, `units`, `fact_starts`, `fact_ends` may be empty (all NULL);
    # `concepts` and `value_texts` are still filled.
    facts_table: Any = None
    # Optional: reader state not yet completed (the vendor reader classifies the values
    # of many files at once: `pipeline.ingest.vendor.finish`). None once complete.
    unfinished: Any = None
