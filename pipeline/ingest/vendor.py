"""Vendor as-reported reader: flat array, nested `data` envelope, or a single filing object.

A pure function from a decoded JSON document to a `ParsedFile` (see model.py). Every key
of every accepted filing becomes one fact (metadata keys such as `symbol`, `date`,
`entityregistrantname` too; for the nested shape the envelope's keys other than `data`
plus the keys of `data`); the filing's identity columns are read from the keys that
carry them.

Speed: this runs once per fact at scale (millions), so a file's values are classified
together: Python does only what needs the Python objects (`map(str)`, `map(type)`, both
C loops), Arrow does the rest vectorised (number recognition by regular expression, the
cast to decimal128(38,10)). Only values that need a decision (floats and numeric strings
with more than 10 decimals, NaN, huge numbers, booleans, nulls, objects) get a Python
look. A filing's content digest is the SHA-256 of its record as sorted JSON, serialised
by orjson in Rust rather than by sorting tuples in Python.

The same filing read by orjson or by the tolerant parser (`values.loads_tolerant`, used
when orjson refuses the file or could hide something) yields the same facts and the same
digest: tolerant values are normalised with `values.plain` first.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from itertools import compress
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import values as V
from pipeline.ingest.model import FilingRecord, ParsedFile, RejectRecord, where

SOURCE = "vendor"
PERIODS = frozenset({"FY", "Q1", "Q2", "Q3", "Q4"})
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FISCAL_YEAR_KEYS = ("documentfiscalyearfocus", "fiscalyear")
FILED_DATE_KEYS = ("fileddate", "filingdate", "fillingdate", "accepteddate")
PAYLOAD_LIMIT = 100_000  # characters of a rejected record kept as evidence
# A float whose shortest repr is this long may have had more digits than a double holds.
LOSSY_FLOAT_REPR = 17
DECIMAL = pa.decimal128(38, V.SCALE)

# Value kinds, one int8 per fact.
STR, INT, FLOAT, NUMBER, BOOL, NULL, NESTED = range(7)
KIND = {str: STR, int: INT, float: FLOAT, V.JsonNumber: NUMBER, bool: BOOL,
        type(None): NULL, dict: NESTED, list: NESTED, V.DupDict: NESTED}
NEEDS_LOOK = frozenset({NUMBER, BOOL, NULL, NESTED})
NEEDS_LOOK_BYTES = tuple(bytes((k,)) for k in sorted(NEEDS_LOOK))
TEXTUAL = frozenset({STR, NESTED})
_NESTED_TYPES = (dict, list, V.DupDict)
SAFE_RE = "^" + V.SAFE_DECIMAL.pattern + "$"


class NeedsExactParse(Exception):  # noqa: N818 - control flow, not an error
    """orjson's floats may have rounded a number of this file: re-read it exactly."""


def _payload(value: Any) -> str | None:
    try:
        text = V.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    if len(text) > PAYLOAD_LIMIT:
        return text[:PAYLOAD_LIMIT] + f"... [truncated, {len(text)} characters]"
    return text


def colons_of(value: Any) -> int:
    """':' characters in a value's compact JSON (one per key plus those inside strings)."""
    return V.dumps(value).count(b":")


def _iso_date(value: Any) -> date | None:
    if type(value) is not str or not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _year(value: Any) -> int | None:
    """A fiscal year from 2023, 2023.0, "2023" (exact or tolerant parse)."""
    if type(value) is bool or value is None:
        return None
    try:
        number = V.to_decimal(value)
    except V.NotRepresentable:
        return None
    if number is None or number != number.to_integral_value() or not 1000 <= number <= 9999:
        return None
    return int(number)


def _text_field(value: Any) -> str | None:
    if value is None or isinstance(value, _NESTED_TYPES):
        return None
    return V.value_text(value)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _dedupe(keys: list[str], vals: list[Any], dups: list[tuple[str, Any]]
            ) -> tuple[list[str], list[Any], list[tuple[str, Any]]]:
    """Later wins: keys and values without losers, plus (concept, earlier value) of each.

    `dups` are exact duplicates the tolerant parser saw (the dict already holds the later
    value); keys equal after lowercasing, or an envelope key repeated in `data`, are
    found here.
    """
    dropped = [(k.lower(), v) for k, v in dups]
    if len(set(keys)) == len(keys):
        return keys, vals, dropped
    merged: dict[str, Any] = {}
    for key, value in zip(keys, vals, strict=True):
        if key in merged:
            dropped.append((key, merged.pop(key)))
        merged[key] = value
    return list(merged), list(merged.values()), dropped


_ABSENT = object()


class _Merged:
    """Read-only `get` over a nested record's envelope (keys lowercased) and its `data`
    when no key of one is in the other: what `dict(zip(keys, vals))` would answer,
    without building a dict of every key for a handful of identity lookups."""

    __slots__ = ("data", "env")

    def __init__(self, env: dict[str, Any], data: dict[str, Any]) -> None:
        self.env = env
        self.data = data

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, _ABSENT)
        return self.env.get(key, default) if value is _ABSENT else value


class _Builder:
    """Per-file state: accepted records' facts, columnar, plus rejects."""

    def __init__(self, source_file: str, exact: bool) -> None:
        self.source_file = source_file
        self.exact = exact
        self.concepts: list[str] = []
        self.vals: list[Any] = []
        # (record_index, identity, start, stop, keys as written) per accepted record
        self.spans: list[tuple[int, dict[str, Any], int, int, int]] = []
        self.rejects: list[RejectRecord] = []
        # ':' the document has if it holds no duplicate key (see read_vendor)
        self.colons = 0
        self.kinds = b""  # one int8 kind per value (bytes: handed to Arrow without a copy)
        self.value_texts: list[Any] = []

    def reject_record(self, index: int, key: str | None, why: str, rec: Any) -> None:
        self.rejects.append(RejectRecord(index, None, f"{where(self.source_file, index, key)}: "
                                         f"{why}", _payload(rec), is_filing=True))

    def add(self, index: int, rec: Any) -> None:
        if type(rec) is not dict and type(rec) is not V.DupDict:
            if not self.exact:
                self.colons += colons_of(rec)
            kind = "null" if rec is None else type(rec).__name__
            self.reject_record(index, None, f"not a JSON object ({kind})", rec)
            return
        data = rec.get("data")
        dups: list[tuple[str, Any]] = list(getattr(rec, "dups", ()))
        nested = type(data) is dict or type(data) is V.DupDict
        if nested:
            envelope = [k for k in rec if k != "data"]
            vals = [rec[k] for k in envelope]
            vals.extend(data.values())
            dups.extend(getattr(data, "dups", ()))
            joined = "".join(data)
            key_colons = len(rec) + len(data) + joined.count(":") + "".join(rec).count(":")
            lowered = joined.lower() != joined
            keys = [k.lower() for k in envelope]  # fiscalYear, reportedCurrency
            keys.extend([k.lower() for k in data] if lowered else data)
        else:
            keys = list(rec)
            vals = list(rec.values())
            joined = "".join(keys)
            key_colons = len(rec) + joined.count(":")
            lowered = joined.lower() != joined
            if lowered:
                keys = [k.lower() for k in keys]
        written = len(keys) + len(dups)
        dropped: list[tuple[str, Any]] = []
        lookup: Any = rec
        if nested and not lowered and not dups:
            # the usual nested record: data keys already lowercase and unique (a dict);
            # only an envelope key can repeat (after lowercasing, or inside data)
            env = dict(zip(keys[:len(envelope)], vals[:len(envelope)], strict=True))
            if len(env) == len(envelope) and data.keys().isdisjoint(env):
                lookup = _Merged(env, data)
            else:
                keys, vals, dropped = _dedupe(keys, vals, dups)
                lookup = dict(zip(keys, vals, strict=True))
        elif nested or lowered or dups:
            keys, vals, dropped = _dedupe(keys, vals, dups)
            lookup = dict(zip(keys, vals, strict=True))
        meta = self._identity(index, lookup, rec)
        if meta is None:
            if not self.exact:
                self.colons += colons_of(rec)
            return
        self.colons += key_colons
        for key, earlier in dropped:
            self.rejects.append(RejectRecord(
                index, key, f"{where(self.source_file, index, key)}: duplicate key "
                "(a later value of the same key wins)", _payload(earlier)))
        start = len(self.concepts)
        self.concepts.extend(keys)
        self.vals.extend(vals)
        self.spans.append((index, meta, start, len(self.concepts), written))

    def _identity(self, index: int, d: Any, rec: Any) -> dict[str, Any] | None:
        """The filing's identity columns, or None after writing the record's reject."""
        symbol = d.get("symbol")
        if type(symbol) is not str or not symbol.strip():
            why = "missing symbol" if symbol is None else "symbol is not a non-empty string"
            self.reject_record(index, "symbol", why, rec)
            return None
        period_end = _iso_date(d.get("date"))
        if period_end is None:
            why = "missing date" if d.get("date") is None else (
                f"not a valid YYYY-MM-DD date ({_text_field(d.get('date'))!r})")
            self.reject_record(index, "date", why, rec)
            return None
        period = d.get("period")
        if type(period) is not str or period not in PERIODS:
            why = "missing period" if period is None else (
                f"unknown period {_text_field(period)!r} (expected FY, Q1..Q4)")
            self.reject_record(index, "period", why, rec)
            return None
        fiscal_year = None
        for key in FISCAL_YEAR_KEYS:
            fiscal_year = _year(d.get(key))
            if fiscal_year is not None:
                break
        document_type = _text_field(d.get("documenttype"))
        filed = None
        for key in FILED_DATE_KEYS:
            value = d.get(key)
            if type(value) is str:
                filed = _iso_date(value[:10])
                if filed is not None:
                    break
        identity = orjson.dumps([SOURCE, symbol, None, period_end, fiscal_year,
                                 period, document_type])
        body = V.dumps(rec, sort_keys=True) if self.exact else orjson.dumps(
            rec, option=orjson.OPT_SORT_KEYS)
        return {
            "symbol": symbol,
            "period_end": period_end,
            "fiscal_year": fiscal_year if fiscal_year is not None else period_end.year,
            "fiscal_period": period,
            "document_type": document_type,
            "company_name": _text_field(d.get("entityregistrantname")),
            "cik": _text_field(d.get("entitycentralindexkey")),
            "is_amendment": _is_true(d.get("amendmentflag"))
            or bool(document_type and document_type.upper().endswith("/A")),
            "currency": _text_field(d.get("reportedcurrency")),
            "filed_date": filed,
            "digest": hashlib.sha256(identity + body).hexdigest(),
        }

    def texts(self) -> None:
        """value_text and kind of every collected value (C-level maps; a Python look only
        at the few values that need one)."""
        vals = self.vals
        kinds = list(map(KIND.__getitem__, map(type, vals)))
        self.kinds = kind_bytes = bytes(kinds)
        self.value_texts = texts = list(map(str, vals))
        if any(k in kind_bytes for k in NEEDS_LOOK_BYTES):
            for i in compress(range(len(vals)), map(NEEDS_LOOK.__contains__, kinds)):
                texts[i] = V.value_text(vals[i])


class _Ids(dict):  # type: ignore[type-arg]
    """concept -> dictionary index, assigned on first sight (C-speed lookups)."""

    def __missing__(self, key: str) -> int:
        value = self[key] = len(self)
        return value


@dataclass(slots=True)
class Unfinished:
    """A vendor file read but not yet classified: `finish` does many files at once, so
    Arrow's per-call cost is paid per batch, not per file.

    For orjson's result (`builder.exact` False) the loader sets `body_colons` (':' in the
    file's bytes) and keeps `data`: `finish` checks that orjson hid nothing (no float
    that lost digits, as many ':' as the parsed document explains) and otherwise has the
    file is returned to the caller to be re-read exactly.
    """

    builder: _Builder
    body_colons: int | None = None
    data: bytes | None = None


def finish(files: list[ParsedFile], *, cast: bool = True) -> list[ParsedFile]:
    """Classify the values of many read files together and complete each ParsedFile:
    filings, value rejects, `keys`, `facts_table`. Files without `unfinished` are left
    as they are. Returns the files orjson may have misread, and completes nothing then:
    the caller (`pipeline.ingest.parse`) re-reads those exactly and calls again, so
    the reader never calls back into the loader.

    With `cast=False` the tables' `value_number` column keeps the canonical decimal
    texts (pa.string) and the caller casts it with `decimal_column`: the loader does
    that in its writer thread (Arrow releases the GIL), off the parsing thread.
    """
    todo = [f for f in files if f.unfinished is not None]
    if not todo:
        return []
    builders: list[_Builder] = [f.unfinished.builder for f in todo]
    offsets = [0]
    concepts: list[str] = []
    texts: list[Any] = []
    for b in builders:
        concepts.extend(b.concepts)
        texts.extend(b.value_texts)
        offsets.append(len(texts))
    text_arr = pa.array(texts, pa.string())
    kinds = b"".join([b.kinds for b in builders])
    kind_arr = pa.Array.from_buffers(pa.int8(), len(kinds), [None, pa.py_buffer(kinds)])
    suspect = _untrusted(todo, builders, offsets, text_arr, kind_arr)
    if suspect:
        return [todo[k] for k in suspect]
    safe = pc.fill_null(pc.match_substring_regex(text_arr, SAFE_RE), False)
    numeric = pc.or_(pc.equal(kind_arr, INT), pc.and_(
        pc.is_in(kind_arr, pa.array([STR, FLOAT, NUMBER], pa.int8())), safe))
    # values that need Python's Decimal: floats and exact numbers that are not plain
    # enough to cast as they are, strings that are plain decimals but too long
    # (a plain-decimal string that is not safe has at least UNSAFE_MIN_LEN characters:
    # the regular expression runs on those few only, in Python)
    exceptional = pc.and_(pc.invert(safe), pc.or_(
        pc.is_in(kind_arr, pa.array([FLOAT, NUMBER], pa.int8())),
        pc.and_(pc.equal(kind_arr, STR),
                pc.greater_equal(pc.utf8_length(text_arr), V.UNSAFE_MIN_LEN))))
    numbers = pc.if_else(numeric, text_arr, pa.scalar(None, pa.string()))
    bad: dict[int, str] = {}
    if pc.any(exceptional).as_py():
        replace: dict[int, str] = {}
        for i in pc.indices_nonzero(exceptional).to_pylist():
            k = bisect_right(offsets, i) - 1
            value = builders[k].vals[i - offsets[k]]
            if type(value) is str and not V.PLAIN_DECIMAL.fullmatch(value):
                continue  # text, not a number
            try:
                text = V.number_text(value)
            except V.NotRepresentable as exc:
                bad[i] = str(exc)
            else:
                if text is not None:
                    replace[i] = text
        if replace:
            mask = [False] * len(texts)
            for i in replace:
                mask[i] = True
            mask_arr = pa.array(mask, pa.bool_())
            numbers = pc.replace_with_mask(numbers, mask_arr,
                                           pa.array(list(replace.values()), pa.string()))
            numeric = pc.or_(numeric, mask_arr)
    stops = [offsets[k] + span[3] for k, b in enumerate(builders) for span in b.spans]
    counted = iter(_running_count(numeric, stops))
    ids = _Ids()
    codes = _int32(array("i", map(ids.__getitem__, concepts)))
    table = pa.table({"concept": pa.DictionaryArray.from_arrays(codes, pa.array(list(ids),
                                                                                pa.string())),
                      "value_number": decimal_column(numbers) if cast else numbers,
                      "value_text": text_arr})
    keep: list[bool] | None = None
    previous = 0
    rows = 0
    slices: list[tuple[int, int]] = []
    for k, (parsed, b) in enumerate(zip(todo, builders, strict=True)):
        base = offsets[k]
        filings: list[FilingRecord] = []
        rejects = b.rejects
        keys = 0
        for index, meta, start, stop, written in b.spans:
            upto = next(counted)
            numbers_here = upto - previous
            previous = upto
            lo, hi = base + start, base + stop
            if numbers_here == 0:  # loaded all the same (its texts are facts): a warning
                rejects.append(RejectRecord(
                    index, None, f"{where(b.source_file, index)}: no numeric value; the "
                    "filing is loaded with text facts only", None, is_warning=True))
            f_concepts = b.concepts[start:stop]
            f_texts = b.value_texts[start:stop]
            dropped = [i for i in bad if lo <= i < hi] if bad else []
            if dropped:
                keep = keep if keep is not None else [True] * len(texts)
                for i in dropped:
                    keep[i] = False
                    concept = concepts[i]
                    rejects.append(RejectRecord(
                        index, concept, f"{where(b.source_file, index, concept)}: {bad[i]}",
                        texts[i]))
                gone = {i - lo for i in dropped}
                f_concepts = [c for j, c in enumerate(f_concepts) if j not in gone]
                f_texts = [t for j, t in enumerate(f_texts) if j not in gone]
            keys += written
            filings.append(FilingRecord(
                record_index=index, source=SOURCE, symbol=meta["symbol"], cik=meta["cik"],
                company_name=meta["company_name"], period_end=meta["period_end"],
                fiscal_year=meta["fiscal_year"], fiscal_period=meta["fiscal_period"],
                document_type=meta["document_type"], is_amendment=meta["is_amendment"],
                currency=meta["currency"], filed_date=meta["filed_date"],
                concepts=f_concepts, value_texts=f_texts, content_digest=meta["digest"],
            ))
        parsed.filings = filings
        parsed.rejects = _ordered(rejects)
        parsed.keys = keys
        parsed.unfinished = None
        length = sum(f.fact_count for f in filings)
        slices.append((rows, length))
        rows += length
    if keep is not None:
        table = table.filter(pa.array(keep, pa.bool_()))
    for parsed, (start, length) in zip(todo, slices, strict=True):
        parsed.facts_table = table.slice(start, length)
    return []


def decimal_column(numbers: pa.Array) -> pa.Array:
    """DECIMAL(38,10) from canonical decimal text, cast by Arrow in bulk.

    DuckDB 1.5's VARCHAR -> DECIMAL(38,10) cast costs ~50 us a value (hugeint parsing);
    Arrow's costs ~50 ns. The texts are exact (<= 10 fraction digits, in range), so the
    cast never rounds; should Arrow refuse one anyway, Python's Decimal does them all.
    """
    try:
        return pc.cast(numbers, DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if t is None else V.to_decimal(V.JsonNumber(t))
                         for t in numbers.to_pylist()], DECIMAL)


def parse_vendor(doc: Any, source_file: str, *, exact: bool = False) -> ParsedFile:
    """Filings and rejects of one vendor document (array of filings or one filing).

    `exact` means the document came from the tolerant parser (JsonNumber values,
    DupDict objects). With `exact=False` a float that may have lost digits to orjson's
    binary parse raises NeedsExactParse: the caller re-reads the file exactly.
    """
    parsed = read_vendor(doc, source_file, exact=exact)[0]
    if finish([parsed]):
        raise NeedsExactParse(source_file)
    return parsed


def read_vendor(doc: Any, source_file: str, *, exact: bool = False) -> tuple[ParsedFile, int]:
    """The per-file half of `parse_vendor`: records checked, values collected, not yet
    classified (call `finish`, many files at once). Also returns the number of ':' the
    document's bytes hold if it has no duplicate key: one per key plus those inside keys
    and strings. orjson keeps only the last of duplicate keys silently; the loader
    compares this with the bytes, and a difference (duplicates, or a ':' written as an
    escape) means "re-read with the tolerant parser", which sees duplicates."""
    records = doc if type(doc) is list else [doc]
    b = _Builder(source_file, exact)
    for index, rec in enumerate(records):
        b.add(index, rec)
    parsed = ParsedFile(source_file=source_file, records=len(records), keys=0,
                        rejects=_ordered(b.rejects))
    if b.spans:
        b.texts()
        parsed.unfinished = Unfinished(b)
    return parsed, b.colons


def _untrusted(todo: list[ParsedFile], builders: list[_Builder], offsets: list[int],
               text_arr: pa.Array, kind_arr: pa.Array) -> list[int]:
    """Positions of orjson-read files whose reading cannot be trusted: a float whose
    shortest repr is long may have lost digits to the binary double; fewer ':' explained
    by the parsed document than the bytes hold means a duplicate key orjson dropped
    silently (every key is followed by one ':'; the rest are inside keys and strings)."""
    check = [k for k, f in enumerate(todo) if f.unfinished.body_colons is not None]
    if not check:
        return []
    suspect: set[int] = set()
    is_float = pc.equal(kind_arr, FLOAT)
    if pc.any(is_float).as_py():
        long_float = pc.and_(is_float, pc.greater_equal(pc.utf8_length(text_arr),
                                                        LOSSY_FLOAT_REPR))
        for i in pc.indices_nonzero(long_float).to_pylist():
            suspect.add(bisect_right(offsets, i) - 1)
    for k, here in enumerate(_value_colons(text_arr, kind_arr, offsets)):
        unfinished = todo[k].unfinished
        if unfinished.body_colons is not None and (
                unfinished.body_colons != builders[k].colons + here):
            suspect.add(k)
    return sorted(suspect)


def _value_colons(text_arr: pa.Array, kind_arr: pa.Array, offsets: list[int]) -> list[int]:
    """':' inside the value texts of each file (values offsets[k]:offsets[k+1]).

    Only text and nested values can hold ':' (the text of a number, a boolean or null
    never does), so this counts the bytes of all value texts: one `bytes.count` per
    file over the string array's data buffer (':' is ASCII and never part of a
    multi-byte UTF-8 sequence) instead of a per-value count.
    """
    if isinstance(text_arr, pa.StringArray) and text_arr.buffers()[2] is not None:
        _, bounds, chars = text_arr.buffers()
        data = chars.to_pybytes()
        at = memoryview(bounds).cast("i")  # int32 value offsets (pa.string)
        base = text_arr.offset
        return [data.count(b":", at[base + offsets[k]], at[base + offsets[k + 1]])
                for k in range(len(offsets) - 1)]
    in_values = pc.if_else(pc.is_in(kind_arr, pa.array(sorted(TEXTUAL), pa.int8())),
                           pc.count_substring(text_arr, ":"), 0)
    running = pc.cumulative_sum(pc.cast(in_values, pa.int64())).to_pylist()
    upto = [0] + [running[end - 1] if end else 0 for end in offsets[1:]]
    return [upto[k + 1] - upto[k] for k in range(len(offsets) - 1)]


def _int32(values: array) -> pa.Array:  # type: ignore[type-arg]
    """An Arrow int32 array over a C-int `array` (no per-value conversion)."""
    if values.itemsize != 4:  # pragma: no cover - C int is 32 bits on our platforms
        return pa.array(values.tolist(), pa.int32())
    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])


def _running_count(mask: pa.Array, stops: list[int]) -> list[int]:
    """Number of True values of `mask` before each stop (one vectorised pass)."""
    running = pc.cumulative_sum(pc.cast(mask, pa.int64()))
    return pc.take(running, pa.array([s - 1 for s in stops], pa.int64())).to_pylist()


def _ordered(rejects: list[RejectRecord]) -> list[RejectRecord]:
    return sorted(rejects, key=lambda r: (-1 if r.record_index is None else r.record_index,
                                          r.concept or ""))
