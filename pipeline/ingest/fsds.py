"""SEC Financial Statement Data Sets reader: one quarterly zip -> one `ParsedFile`.

A data-set zip (`2009q3.zip`) holds `sub.txt` (one row per submission, `adsh`) and
`num.txt` (one row per numeric fact), tab-separated, latin-1, no quoting. Every
submission becomes one `FilingRecord` (records = sub rows, source `sec_fsds`, accession =
adsh); every num row is one fact or one reject (keys = num rows). Members are streamed
from the zip through pyarrow's CSV reader (no extraction to disk) into byte columns,
relabelled as text where ASCII (latin-1 decoded only where a byte is >= 0x80). All
per-row work (concept names, dates, decimal cast, duplicate detection, sorting, the
per-filing digests) is Arrow kernels over whole columns, or Python over the distinct
values of low-cardinality columns mapped back with `take`: nothing runs per fact in
Python, and a real quarter has about 3 million num rows. The facts go to the loader as
one Arrow table (`ParsedFile.facts_table`), each filing's rows contiguous. A large
quarter is classified in parts (ranges of submissions) on `LOADER_WORKERS` threads: the
kernels release the GIL, and the parts give exactly the one-part result (`_parts`).

How a num row lands in raw.facts:

* concept: the lowercased tag, named like company facts (`sec.concept_name`): us-gaap
  unprefixed, other standard taxonomies prefixed (`dei:`, `ifrs-full:`, `srt:`), and a
  company-specific tag (version = the submission's own adsh) as `custom:<tag>`, so it is
  kept in raw and listed in marts.concept_coverage but never mistaken for a standard one;
* period_end = ddate; period_start = ddate + 1 day - qtrs quarters (qtrs 0: an instant,
  NULL start), so the SQL that selects a company-facts filing's current period selects
  an FSDS filing's too;
* unit = uom; value_text = value as given; value_number = the value as DECIMAL(38,10);
* the FSDS-only attributes land in their own columns: `qtrs`, `coreg` (co-registrant),
  `segments` (dimension members), `taxonomy_version` (the num `version`). Statements use
  only facts with neither segments nor a co-registrant (int_sec__statement_facts).

Rejects (each names the file, the record and the key): num rows of a submission missing
from sub.txt, rows without tag or version, an unreadable ddate or qtrs, values beyond
DECIMAL(38,10), rows the CSV parser cannot split into the header's columns, and
duplicates on the raw.facts key (the later row wins, as everywhere in the loader). A zip
that cannot be read (truncated, CRC error, sub.txt or num.txt missing) is one file reject
and nothing else: the file never half loads.

The filing's fiscal year and period come from `sub.fy` / `sub.fp` checked against the
dates, as `sec.infer_period` does for company facts: the form decides annual vs
quarterly, the longest year-to-date duration ending at the period end names the quarter
when it disagrees with `fp`, and `fy` must name the fiscal year that ends where the dates
say (else the fiscal year end's calendar year).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipeline.ingest import values as V
from pipeline.ingest.cores import worker_count
from pipeline.ingest.model import FilingRecord, ParsedFile, RejectRecord, where
from pipeline.ingest.sec import _expected_class, _fiscal_year, resolve_symbol
from pipeline.ingest.vendor import decimal_column

SOURCE = "sec_fsds"
SUB_MEMBER = "sub.txt"
NUM_MEMBER = "num.txt"
SUB_COLUMNS = ("adsh", "cik", "name", "sic", "form", "period", "fy", "fp", "filed")
NUM_REQUIRED = ("adsh", "tag", "version", "ddate", "qtrs", "uom", "value")
NUM_OPTIONAL = ("segments", "coreg")  # `segments` is new (2009q3 zips republished with it)
# Standard taxonomies whose FSDS name differs from the company-facts prefix.
TAXONOMY_ALIASES = {"ifrs": "ifrs-full"}
CUSTOM_PREFIX = "custom"
PAYLOAD_LIMIT = 2_000
CSV_BLOCK = 16 << 20  # bytes per CSV block (pyarrow parses blocks in parallel)

class UnreadableZip(Exception):
    """The archive or one of its members cannot be read: the whole file is rejected."""


def is_fsds(names: list[str]) -> bool:
    """A data-set zip has sub.txt and num.txt at its top level."""
    return SUB_MEMBER in names and NUM_MEMBER in names


# --------------------------------------------------------------------------- reading

@dataclass(slots=True)
class _Member:
    table: pa.Table
    bad_rows: list[str]  # rows the CSV parser could not split into the header's columns
    rows: int  # data rows read, bad ones included


def _header(zf: zipfile.ZipFile, member: str) -> list[str]:
    with zf.open(member) as fh:
        line = fh.readline()
    return line.decode("latin-1").rstrip("\r\n").split("\t")


def read_member(zf: zipfile.ZipFile, member: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> _Member:
    """Stream one tab-separated member into an Arrow table of strings ('' -> NULL).

    Read as bytes, then latin-1 -> text per column (`_latin1`); no quoting (the data
    sets use none: a `"` is a character). A row with the wrong number of fields is kept
    as text for a reject.
    """
    names = _header(zf, member)
    missing = [c for c in required if c not in names]
    if missing:
        raise UnreadableZip(f"{member} has no column(s) {', '.join(missing)} "
                            f"(header: {', '.join(names[:12])})")
    wanted = [c for c in (*required, *optional) if c in names]
    bad: list[str] = []

    def invalid(row: Any) -> str:
        bad.append(row.text)
        return "skip"

    with zf.open(member) as fh:
        table = pacsv.read_csv(
            fh,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, double_quote=False, escape_char=False,
                newlines_in_values=False, ignore_empty_lines=True,
                invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.binary() for c in names}, include_columns=wanted,
                strings_can_be_null=True, null_values=[""]),
        )
    table = pa.table({c: _latin1(table.column(c)) for c in table.column_names})
    for column in optional:
        if column not in names:
            table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    return _Member(table, bad, table.num_rows + len(bad))


def _latin1(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """latin-1 bytes -> text. ASCII (almost every value) is the same bytes in UTF-8, so
    the column is relabelled as text without a copy; only the values holding a byte >=
    0x80 are decoded in Python. Transcoding the whole stream costs ~40% of the CSV read."""
    text = pc.cast(column, options=pc.CastOptions(target_type=pa.string(),
                                                   allow_invalid_utf8=True))
    ascii_ = pc.fill_null(pc.string_is_ascii(text), True)
    if pc.all(ascii_).as_py():
        return text
    text, column = text.combine_chunks(), column.combine_chunks()
    other = pc.invert(pc.fill_null(pc.string_is_ascii(text), True))
    decoded = [b.decode("latin-1") for b in pc.filter(column, other).to_pylist()]
    return pa.chunked_array([pc.replace_with_mask(text, other, pa.array(decoded, pa.string()))])


# --------------------------------------------------------------------------- classify
#
# Every step is an Arrow kernel over whole columns, or Python over the distinct values of
# a low-cardinality column (versions, dates, qtrs, units: a few thousand values for
# millions of rows) mapped back with `take`. Nothing runs per fact in Python.

SAFE_DECIMAL = r"^[+-]?[0-9]{1,28}(\.[0-9]{0,10})?$"  # Arrow casts these exactly
PLAIN_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
_CURRENCY = re.compile(r"^([A-Z]{3})(?:/|$)")


def _per_value(column: pa.Array, fn: Any, kind: pa.DataType) -> pa.Array:
    """`fn` applied to each distinct value of `column` (None for NULL), mapped back."""
    encoded = column.dictionary_encode()
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], kind)
    return mapped.take(encoded.indices)


def _prefix(version: str) -> str | None:
    taxonomy = version.split("/", 1)[0].lower()
    return None if taxonomy == "us-gaap" else TAXONOMY_ALIASES.get(taxonomy, taxonomy)


def _rank(column: pa.Array) -> pa.Array:
    """Each value's position in the sorted distinct values (NULL first as -1): sorting
    by ranks sorts by value, at the cost of an integer sort."""
    encoded = column.dictionary_encode()
    order = pc.sort_indices(encoded.dictionary).to_pylist()
    ranks = [0] * len(order)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return pc.fill_null(pa.array(ranks, pa.int32()).take(encoded.indices), -1)


def _record_index(num: pa.Table, subs: pa.Table) -> pa.ChunkedArray:
    """The sub.txt position of each num row's submission (NULL: adsh not in sub.txt)."""
    position = pc.index_in(num.column("adsh"), value_set=subs.column("adsh"))
    return subs.column("record_index").take(position)


def _period_start(end: date | None, quarters: int | None) -> date | None:
    return _months_back(end, 3 * quarters) if end and quarters else None


def classify(num: pa.Table, subs: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """num rows -> (facts sorted by filing, key, file position; the rejected rows).

    The sort makes a filing's facts one contiguous run (the loader slices them),
    duplicates on the raw.facts key neighbours (the last of a run is the later row) and
    the order a function of content alone (the filing digest hashes the rows in order).
    """
    n = num.num_rows

    def column(name: str) -> pa.Array:
        return num.column(name).combine_chunks()

    # chunked where a kernel takes chunks; combined where a dictionary is needed
    adsh, tag, value = num.column("adsh"), num.column("tag"), num.column("value")
    version = column("version")
    if "record_index" in num.column_names:  # computed once for all parts (`_record_index`)
        record_index = num.column("record_index")
    else:
        record_index = _record_index(num, subs)
    custom = pc.fill_null(pc.equal(num.column("version"), adsh), False)
    prefix = pc.if_else(custom, pa.scalar(CUSTOM_PREFIX),
                        _per_value(version, lambda v: v and _prefix(v), pa.string()))
    lower = pc.utf8_lower(tag)
    concept = pc.coalesce(pc.binary_join_element_wise(prefix, lower, ":"), lower)
    is_dei = pc.fill_null(pc.equal(prefix, "dei"), False)
    period_end = _per_value(column("ddate"), _ymd, pa.date32())
    qtrs = _per_value(column("qtrs"), _quarters, pa.int32())
    starts = pa.table({"end": period_end, "q": qtrs}).group_by(["end", "q"]).aggregate([])
    start_of = {(e, q): _period_start(e, q) for e, q in zip(
        starts.column("end").to_pylist(), starts.column("q").to_pylist(), strict=True)}
    pair = pc.add(pc.multiply(pc.cast(pc.fill_null(pc.cast(period_end, pa.int32()), 0),
                                      pa.int64()), 4096),
                  pc.cast(pc.fill_null(qtrs, 0), pa.int64()))
    pair_keys = [(0 if e is None else (e - date(1970, 1, 1)).days) * 4096 + (q or 0)
                 for e, q in start_of]
    period_start = pa.array(list(start_of.values()), pa.date32()).take(
        pc.index_in(pair, value_set=pa.array(pair_keys, pa.int64())))
    safe = pc.fill_null(pc.match_substring_regex(value, SAFE_DECIMAL), False)

    problem: list[tuple[pa.Array, str | None]] = [
        (pc.is_null(record_index), None),  # reason names the adsh: below
        (pc.or_(pc.is_null(tag), pc.is_null(version)), "fact without tag or version"),
        (pc.is_null(period_end), "invalid ddate (expected YYYYMMDD)"),
        (pc.is_null(qtrs), "invalid qtrs (expected a whole number of quarters >= 0)"),
    ]
    # rare: a plain decimal the Arrow cast cannot take (> 10 fraction digits, or beyond
    # DECIMAL(38,10)): exact_text, rounded half-even in Python; out of range: a reject
    exact_text = pa.nulls(n, pa.string())
    odd = None
    if not pc.all(safe).as_py():  # the regex over the unsafe values only (usually few)
        unsafe = pc.invert(safe).combine_chunks()
        plain = pc.match_substring_regex(pc.filter(value, unsafe), PLAIN_DECIMAL)
        odd = pc.replace_with_mask(pc.fill_null(pa.nulls(n, pa.bool_()), False), unsafe,
                                   pc.fill_null(plain, False).combine_chunks())
    if odd is not None and pc.any(odd).as_py():
        texts = [V.number_text(_exact(v)) if o else None
                 for v, o in zip(value.to_pylist(), odd.to_pylist(), strict=True)]
        exact_text = pa.array(texts, pa.string())
        problem.append((pc.and_(odd, pc.is_null(exact_text)), "number beyond DECIMAL(38,10)"))

    table = pa.table({
        "record_index": record_index, "concept": concept,
        "value_number": pc.if_else(safe, value, pa.scalar(None, pa.string())),
        "exact_text": exact_text, "value_text": value, "unit": column("uom"),
        "period_start": period_start, "period_end": period_end, "qtrs": qtrs,
        "coreg": column("coreg"), "segments": column("segments"),
        "taxonomy_version": version, "is_dei": is_dei,
    })
    bad: pa.Array | None = None
    for mask, _ in problem:
        bad = mask if bad is None else pc.or_(bad, mask)
    rejected: list[dict[str, Any]] = []
    assert bad is not None
    if pc.any(bad).as_py():
        rows = pc.indices_nonzero(bad)
        reasons = [pc.take(mask, rows).to_pylist() for mask, _ in problem]
        raw = num.take(rows).to_pylist()
        for k, row in enumerate(raw):
            why = next(reason if reason is not None else
                       f"fact of a submission that is not in sub.txt (adsh {row['adsh']})"
                       for (_, reason), hit in zip(problem, (r[k] for r in reasons),
                                                   strict=True) if hit)
            rejected.append({
                "record_index": record_index[rows[k].as_py()].as_py(),
                "concept": concept[rows[k].as_py()].as_py(), "problem": why,
                "payload": "\t".join("" if row[c] is None else row[c] for c in (
                    "adsh", "tag", "version", "ddate", "qtrs", "uom", "segments", "coreg",
                    "value")),
            })
        table = table.filter(pc.invert(bad))
    order = pc.sort_indices(pa.table({
        "record_index": table.column("record_index"),
        "concept": _rank(table.column("concept").combine_chunks()),
        "unit": _rank(table.column("unit").combine_chunks()),
        "period_end": table.column("period_end"),
        "qtrs": table.column("qtrs"),
        "coreg": _rank(table.column("coreg").combine_chunks()),
        "segments": _rank(table.column("segments").combine_chunks()),
    }), sort_keys=[(c, "ascending") for c in KEY_COLUMNS])  # stable: file order kept
    return table.combine_chunks().take(order), rejected


def _quarters(text: str | None) -> int | None:
    number = _int(text)
    return number if number is not None and number >= 0 else None


def _exact(text: str) -> Any:
    try:
        return V.to_decimal(V.JsonNumber(text))
    except V.NotRepresentable:
        return None


def _per_filing(facts: pa.Table, subs: pa.Table) -> dict[int, tuple[int | None, str | None]]:
    """record_index -> (longest year-to-date quarters ending at the filing's period end,
    reporting currency: the most common ISO code among the units of non-dei facts)."""
    if facts.num_rows == 0:
        return {}
    record_index = facts.column("record_index").combine_chunks()
    filing_end = subs.column("period_end").take(
        pc.index_in(record_index, value_set=subs.column("record_index")))
    qtrs = facts.column("qtrs")
    statement = pc.invert(facts.column("is_dei"))
    ytd_rows = pc.and_(pc.and_(statement, pc.equal(facts.column("period_end"), filing_end)),
                       pc.and_(pc.greater_equal(qtrs, 1), pc.less_equal(qtrs, 3)))
    ytd = pa.table({"r": record_index, "q": qtrs}).filter(pc.fill_null(ytd_rows, False)) \
        .group_by("r").aggregate([("q", "max")])
    ytd_of = dict(zip(ytd.column("r").to_pylist(), ytd.column("q_max").to_pylist(),
                      strict=True))
    currency = _per_value(facts.column("unit").combine_chunks(), _iso, pa.string())
    counts = pa.table({"r": record_index, "c": currency}).filter(
        pc.and_(statement, pc.is_valid(currency))).group_by(["r", "c"]).aggregate(
        [("c", "count")])
    best: dict[int, tuple[int, str]] = {}
    for r, c, k in zip(counts.column("r").to_pylist(), counts.column("c").to_pylist(),
                       counts.column("c_count").to_pylist(), strict=True):
        if r not in best or (k, c) > best[r]:
            best[r] = (k, c)
    return {r: (ytd_of.get(r), best[r][1] if r in best else None)
            for r in set(ytd_of) | set(best)}


def _iso(unit: str | None) -> str | None:
    match = _CURRENCY.match(unit or "")
    return match.group(1) if match else None


# The raw.facts key: duplicates are adjacent rows equal on all of these (NULLs equal).
KEY_COLUMNS = ("record_index", "concept", "unit", "period_end", "qtrs", "coreg", "segments")
# Hashed per filing for its content address, in this order.
DIGEST_COLUMNS = ("concept", "value_text", "unit", "period_end", "qtrs", "coreg", "segments",
                  "taxonomy_version")
FACT_COLUMNS = ("concept", "value_number", "value_text", "unit", "period_start",
                "period_end", "qtrs", "coreg", "segments", "taxonomy_version")


# --------------------------------------------------------------------------- filings

def _ymd(text: str | None) -> date | None:
    text = (text or "").strip()
    if len(text) != 8 or not text.isdigit():  # strptime would take '2009063' as June 3
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _add_months(d: date, months: int) -> date:
    """`d` moved by whole months, the day clamped to the target month's length."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _months_back(end: date, months: int) -> date:
    """The first day of a duration of `months` months ending on `end` (inclusive)."""
    return _add_months(end + timedelta(days=1), -months)


@dataclass(frozen=True, slots=True)
class Fiscal:
    period_start: date | None
    fiscal_year: int | None
    fiscal_period: str | None


def fiscal(form: str | None, fy: int | None, fp: str | None, period_end: date | None,
           ytd_quarters: int | None) -> Fiscal:
    """`sub.fy` / `sub.fp` checked against the dates (the rules of `sec.infer_period`).

    Annual forms (10-K, 20-F, 40-F; else `fp = FY`) are FY of the fiscal year ending at
    the period end. Quarterly ones are Qn with n = `fp` when the facts agree (no
    year-to-date duration longer than a quarter, or one of n quarters), else n = the
    longest year-to-date duration ending at the period end; the fiscal year is the one
    that ends n quarters later.
    """
    fp = fp.strip().upper() if fp else None
    klass = _expected_class(form, fp)
    if period_end is None or klass is None:
        valid = fp if fp in {"FY", "Q1", "Q2", "Q3", "Q4"} else None
        return Fiscal(None, fy, valid)
    if klass == "FY":
        return Fiscal(_months_back(period_end, 12), _fiscal_year(fy, period_end), "FY")
    n_fp = int(fp[1]) if fp in {"Q1", "Q2", "Q3", "Q4"} else None
    if n_fp is not None and (ytd_quarters is None or ytd_quarters in (1, n_fp)):
        quarter = n_fp
    else:
        quarter = min(max(ytd_quarters or 1, 1), 4)
    year_start = _months_back(period_end, 3 * quarter)
    fiscal_year_end = _add_months(year_start, 12) - timedelta(days=1)
    return Fiscal(_months_back(period_end, 3), _fiscal_year(fy, fiscal_year_end),
                  f"Q{quarter}")


# --------------------------------------------------------------------------- entry

def _file_reject(source_file: str, why: str) -> ParsedFile:
    return ParsedFile(source_file=source_file, records=0, keys=0, rejects=[
        RejectRecord(None, None, f"{where(source_file)}: {why}")])


def parse_fsds(data: bytes, source_file: str) -> ParsedFile:
    """Read one data-set zip held in memory. Never raises for bad input: rejects instead."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if not is_fsds(names):
            raise UnreadableZip("not a Financial Statement Data Sets zip (no sub.txt and "
                                f"num.txt; members: {', '.join(names[:8]) or 'none'})")
        sub = read_member(zf, SUB_MEMBER, SUB_COLUMNS)
        num = read_member(zf, NUM_MEMBER, NUM_REQUIRED, NUM_OPTIONAL)
    except (UnreadableZip, zipfile.BadZipFile, zlib.error, EOFError, OSError,
            NotImplementedError, pa.ArrowInvalid, KeyError) as exc:
        return _file_reject(source_file, f"unreadable data-set zip ({type(exc).__name__}: "
                            f"{exc}); nothing of it was loaded")
    return build(sub, num, source_file)


def build(sub: _Member, num: _Member, source_file: str) -> ParsedFile:
    """Filings and facts from the two members' tables (see the module docstring)."""
    subs = sub.table
    rejects: list[RejectRecord] = []
    # sub rows: a row without adsh, or an adsh repeated (the later row wins), is a
    # rejected filing; kept rows are records in file order
    adsh = subs.column("adsh").to_pylist()
    last: dict[str, int] = {}
    for i, a in enumerate(adsh):
        if a:
            last[a] = i
    rows = subs.to_pylist()
    kept: list[tuple[int, dict[str, Any]]] = []
    for i, row in enumerate(rows):
        a = row["adsh"]
        if not a or last[a] != i:
            why = "submission without adsh" if not a else (
                f"submission {a} repeated in sub.txt (the later row wins)")
            rejects.append(RejectRecord(i, None, f"{where(source_file, i)}: {why}",
                                        _payload("\t".join(v or "" for v in row.values())),
                                        is_filing=True))
            continue
        kept.append((i, row))
    for text in sub.bad_rows:
        rejects.append(RejectRecord(None, None, f"{where(source_file)}: sub.txt row with the "
                                    "wrong number of fields (a submission not read)",
                                    _payload(text), is_filing=True))

    sub_periods = {i: _ymd(row["period"]) for i, row in kept}
    index_table = pa.table({
        "adsh": pa.array([row["adsh"] for _, row in kept], pa.string()),
        "record_index": pa.array([i for i, _ in kept], pa.int32()),
        "period_end": pa.array([sub_periods[i] for i, _ in kept], pa.date32()),
    })
    parts = _parts(num.table, index_table)
    for part in parts:
        for r in part.problems:
            rejects.append(RejectRecord(
                r["record_index"], r["concept"],
                f"{where(source_file, r['record_index'], r['concept'])}: {r['problem']}",
                _payload(r["payload"])))
    for part in parts:
        for r in part.losers:
            rejects.append(RejectRecord(
                r["record_index"], r["concept"],
                f"{where(source_file, r['record_index'], r['concept'])}: duplicate fact "
                "(same concept, unit, period, co-registrant and segments in one "
                "submission; the later row wins)",
                _payload("\t".join("" if r[c] is None else str(r[c]) for c in (
                    "taxonomy_version", "concept", "unit", "period_end", "qtrs",
                    "segments", "coreg", "value_text")))))
    per_filing = {k: v for part in parts for k, v in part.per_filing.items()}
    runs = {k: v for part in parts for k, v in part.runs.items()}
    digests = {k: v for part in parts for k, v in part.digests.items()}
    tables = [part.facts for part in parts if part.facts.num_rows] or [parts[0].facts]
    facts_table = pa.concat_tables(tables)
    del parts, tables

    for text in num.bad_rows:
        fields = text.split("\t")
        concept = fields[1].lower() if len(fields) > 1 and fields[1] else "(unreadable row)"
        rejects.append(RejectRecord(None, concept, f"{where(source_file, None, concept)}: "
                                    "num.txt row with the wrong number of fields",
                                    _payload(text)))

    filings: list[FilingRecord] = []
    for i, row in kept:
        count, digest = runs.get(i, (0, 0)), digests.get(i)
        count = count[1] - count[0]
        ytd, currency = per_filing.get(i, (None, None))
        form = row["form"]
        fy = _int(row["fy"])
        period_end = sub_periods[i]
        fis = fiscal(form, fy, row["fp"], period_end, ytd)
        filing = FilingRecord(
            record_index=i,
            source=SOURCE,
            symbol=resolve_symbol(row["cik"], []),
            cik=row["cik"],
            company_name=row["name"],
            period_end=period_end,
            fiscal_year=fis.fiscal_year,
            fiscal_period=fis.fiscal_period,
            document_type=form,
            is_amendment=bool(form) and form.upper().endswith("/A"),
            currency=currency,
            filed_date=_ymd(row["filed"]),
            accession=row["adsh"],
            period_start=fis.period_start,
            arrow_fact_count=count,
            sic=row["sic"],
        )
        filing.content_digest = _content_digest(filing, digest)
        filings.append(filing)
    rejects.sort(key=lambda r: -1 if r.record_index is None else r.record_index)
    return ParsedFile(source_file=source_file, records=sub.rows, keys=num.rows,
                      filings=filings, rejects=rejects, facts_table=facts_table)


@dataclass(slots=True)
class _Part:
    """The facts of a range of submissions (record_index lo <= r < hi), classified."""

    facts: pa.Table  # FACT_COLUMNS, value_number DECIMAL(38,10), sorted by key
    problems: list[dict[str, Any]]  # rejected rows (classify), in file order
    losers: list[dict[str, Any]]  # duplicate rows on the raw.facts key
    per_filing: dict[int, tuple[int | None, str | None]]
    runs: dict[int, tuple[int, int]]  # record_index -> rows of `facts`
    digests: dict[int, str]


# Submissions are split into this many parts per thread (parts differ in size), and a
# quarter below PART_MIN_ROWS num rows is one part: threads cost more than they save.
PARTS_PER_THREAD = 2
PART_MIN_ROWS = 200_000


def _parts(num: pa.Table, subs: pa.Table) -> list[_Part]:
    """`_part` over ranges of submissions, on `cores.worker_count()` threads.

    The Arrow kernels release the GIL, so the threads use the cores without the cost of
    moving hundreds of megabytes between processes. Every step of `_part` is per
    submission (the sort key starts with record_index; duplicates, digests, per-filing
    figures are within a submission), so the parts, concatenated in range order, are
    exactly the one-part result: the same rows and digests whatever the thread count.
    Rows of submissions missing from sub.txt (NULL record_index) go with the first part,
    in file order, so the rejects come out in the same order too.
    """
    threads = worker_count()
    if threads == 1 or num.num_rows < PART_MIN_ROWS:
        return [_part(num, subs, None)]
    record_index = _record_index(num, subs).combine_chunks()
    num = num.append_column("record_index", record_index)
    counts = pc.value_counts(pc.drop_null(record_index))
    by_index = sorted(zip(counts.field("values").to_pylist(),
                          counts.field("counts").to_pylist(), strict=True))
    wanted = threads * PARTS_PER_THREAD
    target = max(1, -(-sum(c for _, c in by_index) // wanted))
    bounds: list[int] = []  # the first record_index of each part after the first
    rows = 0
    for r, c in by_index:
        if rows >= target:
            bounds.append(r)
            rows = 0
        rows += c
    ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fsds") as pool:
        return list(pool.map(lambda lo_hi: _part(num, subs, lo_hi), ranges))


def _part(num: pa.Table, subs: pa.Table, lo_hi: tuple[int | None, int | None] | None
          ) -> _Part:
    """Classify, dedupe, digest and cast the num rows of submissions lo <= r < hi (all
    rows when `lo_hi` is None; the first range also takes the rows of unknown adsh)."""
    if lo_hi is not None:
        lo, hi = lo_hi
        r = num.column("record_index")
        mask = pc.less(r, hi) if hi is not None else pc.is_valid(r)
        if lo is not None:
            mask = pc.and_(mask, pc.greater_equal(r, lo))
        else:
            mask = pc.or_(pc.fill_null(mask, False), pc.is_null(r))
        num = num.filter(pc.fill_null(mask, False))
    facts, problems = classify(num, subs)
    losers = _duplicates(facts)
    loser_rows: list[dict[str, Any]] = []
    if losers is not None:
        loser_rows = facts.filter(losers).select(
            ["record_index", "taxonomy_version", "concept", "unit", "period_end", "qtrs",
             "segments", "coreg", "value_text"]).to_pylist()
        facts = facts.filter(pc.invert(losers)).combine_chunks()
    per_filing = _per_filing(facts, subs)
    runs = _runs(facts.column("record_index"))
    digests = _digests(facts, runs)
    table = _numbers(facts.select([*FACT_COLUMNS, "exact_text"]))
    return _Part(table, problems, loser_rows, per_filing, runs, digests)


def _content_digest(f: FilingRecord, facts_digest: str | None) -> str:
    """The filing's identity (as `load.filing_id` hashes it) and its facts' digest."""
    identity = orjson.dumps([f.source, f.symbol if f.symbol is not None else f.cik,
                             f.accession, f.period_end, f.fiscal_year, f.fiscal_period,
                             f.document_type, f.company_name, f.filed_date, f.currency])
    return hashlib.sha256(identity + (facts_digest or "").encode()).hexdigest()


def _duplicates(facts: pa.Table) -> pa.Array | None:
    """Rows equal to the next row on the raw.facts key (NULLs equal): the earlier of
    two rows with one key (rows are sorted by key, then file position). None if none."""
    n = facts.num_rows
    if n < 2:
        return None
    same: pa.Array | None = None
    for name in KEY_COLUMNS:
        column = facts.column(name).combine_chunks()
        a, b = column.slice(0, n - 1), column.slice(1)
        equal = pc.fill_null(pc.equal(a, b), False)
        equal = pc.or_(equal, pc.and_(pc.is_null(a), pc.is_null(b)))
        same = equal if same is None else pc.and_(same, equal)
    assert same is not None
    if not pc.any(same).as_py():
        return None
    return pa.concat_arrays([same, pa.array([False])])


def _runs(record_index: pa.ChunkedArray) -> dict[int, tuple[int, int]]:
    """record_index -> (first row, end row) of its facts (they are contiguous)."""
    if len(record_index) == 0:
        return {}
    encoded = pc.run_end_encode(record_index.combine_chunks())
    ends = encoded.run_ends.to_pylist()
    values = encoded.values.to_pylist()
    starts = [0, *ends[:-1]]
    return {v: (s, e) for v, s, e in zip(values, starts, ends, strict=True)}


def _digests(facts: pa.Table, runs: dict[int, tuple[int, int]]) -> dict[int, str]:
    """SHA-256 per filing of its facts' bytes: for every digest column the value lengths
    (-1 for NULL) and the value bytes of the filing's rows. Rows are in key order, so the
    digest depends on content only. Hashing Arrow buffers slice by slice keeps this to a
    few Python calls per filing (hashlib releases the GIL on large updates)."""
    parts: list[tuple[memoryview, memoryview | None, memoryview | None, int]] = []
    for name in DIGEST_COLUMNS:
        column = facts.column(name).combine_chunks()
        if pa.types.is_string(column.type):
            lengths = pc.fill_null(pc.binary_length(column), -1)
            offsets_buf, data_buf = column.buffers()[1], column.buffers()[2]
            offsets = memoryview(offsets_buf).cast("i") if offsets_buf is not None else None
            data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
            parts.append((_fixed_view(lengths), offsets, data, column.offset))
        else:
            filled = pc.fill_null(pc.cast(column, pa.int32()), -2**31)
            parts.append((_fixed_view(filled), None, None, 0))
    digests: dict[int, str] = {}
    for record_index, (start, end) in runs.items():
        h = hashlib.sha256()
        for fixed, offsets, data, offset in parts:
            h.update(fixed[4 * start:4 * end])
            if offsets is not None and data is not None:
                h.update(data[offsets[offset + start]:offsets[offset + end]])
        digests[record_index] = h.hexdigest()
    return digests


def _fixed_view(array: pa.Array) -> memoryview:
    """The int32 values of `array` as bytes, from its first logical element."""
    array = array.cast(pa.int32())
    buf = array.buffers()[1]
    return memoryview(buf)[4 * array.offset:4 * (array.offset + len(array))]


def _numbers(table: pa.Table) -> pa.Table:
    """value_number as DECIMAL(38,10), cast by Arrow (DuckDB 1.5's text -> DECIMAL(38,10)
    cast costs ~30 us a value, Arrow's ~100 ns). Values with more than 10 fraction
    digits (`exact_text`, rare) are rounded half-even by `values.number_text`."""
    texts = table.column("value_number")
    exact = table.column("exact_text")
    if exact.null_count < len(exact):
        merged = [V.number_text(V.to_decimal(V.JsonNumber(e))) if e is not None else t
                  for t, e in zip(texts.to_pylist(), exact.to_pylist(), strict=True)]
        texts = pa.chunked_array([pa.array(merged, pa.string())])
    numbers = decimal_column(texts.combine_chunks())
    index = table.schema.get_field_index("value_number")
    table = table.set_column(index, "value_number", numbers)
    return table.drop_columns(["exact_text"])


def _payload(text: str | None) -> str | None:
    return None if text is None else text[:PAYLOAD_LIMIT]
