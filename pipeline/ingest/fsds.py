"""SEC Financial Statement Data Sets reader: one quarterly zip -> one `ParsedFile`.

A data-set zip (`2009q3.zip`) holds `sub.txt` (one row per submission, `adsh`) and
`num.txt` (one row per numeric fact), tab-separated, latin-1, no quoting. Every
submission becomes one `FilingRecord` (records = sub rows, source `sec_fsds`, accession =
adsh); every num row is one fact or one reject (keys = num rows). Members are streamed
from the zip through pyarrow's CSV reader (no extraction to disk); the per-row work
(concept names, dates, decimal cast, duplicate detection, per-filing digests) runs as
one DuckDB query over the Arrow tables in an in-memory database, so nothing is done per
fact in Python: a real quarter has about 3 million num rows.

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
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipeline.ingest.model import FilingRecord, ParsedFile, RejectRecord
from pipeline.ingest.sec import _expected_class, _fiscal_year, resolve_symbol
from pipeline.ingest import values as V
from pipeline.ingest.vendor import decimal_column, where

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

# raw.facts columns this reader adds (NULL for the other sources).
FACT_EXTRA_TYPES = {
    "qtrs": pa.int32(), "coreg": pa.string(), "segments": pa.string(),
    "taxonomy_version": pa.string(),
}


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

    latin-1 is transcoded while streaming; no quoting (the data sets use none: a `"` is
    a character). A row with the wrong number of fields is kept as text for a reject.
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
            read_options=pacsv.ReadOptions(encoding="latin-1", block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, double_quote=False, escape_char=False,
                newlines_in_values=False, ignore_empty_lines=True,
                invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, include_columns=wanted,
                strings_can_be_null=True, null_values=[""]),
        )
    for column in optional:
        if column not in names:
            table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    return _Member(table, bad, table.num_rows + len(bad))


def _row_numbers(table: pa.Table) -> pa.Table:
    """Append `rn` (0-based row position) without a Python loop: "later row wins" needs it."""
    if table.num_rows == 0:
        return table.append_column("rn", pa.array([], pa.uint64()))
    first = table.column(0)
    everywhere = pc.or_(pc.is_valid(first), pc.is_null(first))
    return table.append_column("rn", pc.indices_nonzero(everywhere))


# --------------------------------------------------------------------------- SQL

# One pass over num: each row classified (a fact, or the reason it is a reject).
_CLASSIFY = """
create temp table classified as
with named as (
    select
        n.rn, n.adsh, n.tag, n.version, n.ddate, n.qtrs, n.uom, n.segments, n.coreg,
        n.value, s.record_index,
        lower(split_part(n.version, '/', 1)) as taxonomy,
        try_strptime(n.ddate, '%Y%m%d')::date as period_end,
        try_cast(n.qtrs as integer) as q,
        regexp_full_match(n.value, '[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)') as plain,
        regexp_full_match(n.value, '[+-]?[0-9]{1,28}(\\.[0-9]{0,10})?') as safe,
        length(ltrim(regexp_extract(n.value, '^[+-]?([0-9]*)', 1), '0')) > 28 as too_big
    from num as n
    left join subs as s on n.adsh = s.adsh
),
typed as (
    select
        named.*,
        case
            when named.version = named.adsh then '{custom}:' || lower(named.tag)
            when named.taxonomy = 'us-gaap' then lower(named.tag)
            else coalesce(a.prefix, named.taxonomy) || ':' || lower(named.tag)
        end as concept
    from named
    left join aliases as a on named.taxonomy = a.taxonomy
)
select
    *,
    case
        when record_index is null then 'fact of a submission that is not in sub.txt (adsh '
            || coalesce(adsh, 'NULL') || ')'
        when tag is null or version is null then 'fact without tag or version'
        when period_end is null then 'invalid ddate (expected YYYYMMDD)'
        when q is null or q < 0 then 'invalid qtrs (expected a whole number of quarters >= 0)'
        when plain and too_big then 'number beyond DECIMAL(38,10)'
    end as problem
from typed
"""

# The raw.facts key within a filing (NULLs equal): the later num row wins.
_DEDUPE = """
create temp table facts as
select
    *,
    case when q > 0
         then cast(period_end + interval 1 day - to_months(3 * q) as date) end
        as period_start
from (
    select
        *,
        row_number() over (
            partition by record_index, concept, uom, period_end, q, coreg, segments
            order by rn desc
        ) as later_rows
    from classified
    where problem is null
)
"""

_FACTS_OUT = """
select
    concept,
    case when safe then value end as value_number,  -- text: Arrow casts (see _numbers)
    case when plain and not safe then value end as exact_text,
    value as value_text,
    uom as unit,
    period_start,
    period_end,
    q as qtrs,
    coreg,
    segments,
    version as taxonomy_version
from facts
where later_rows = 1
order by record_index, concept, uom, period_end, q, coreg, segments
"""

_FACT_REJECTS = """
select record_index, concept, problem as reason, rn,
       concat_ws(chr(9), adsh, tag, version, ddate, qtrs, uom, segments, coreg, value)
           as payload
from classified where problem is not null
union all
select record_index, concept,
       'duplicate fact (same concept, unit, period, co-registrant and segments in one '
           || 'submission; the later row wins)' as reason, rn,
       concat_ws(chr(9), adsh, tag, version, ddate, qtrs, uom, segments, coreg, value)
from facts where later_rows > 1
order by rn
"""

# Per filing: fact count, the facts' digest (content address), the longest year-to-date
# duration ending at the period end (quarter check), the reporting currency.
_PER_FILING = """
with kept as (
    select f.*, s.period_end as filing_end
    from facts as f
    inner join subs as s on f.record_index = s.record_index
    where f.later_rows = 1
),
currencies as (
    select record_index, currency, count(*) as n
    from (
        select record_index, regexp_extract(uom, '^([A-Z]{3})(/|$)', 1) as currency
        from kept where taxonomy <> 'dei'
    )
    where currency <> ''
    group by all
),
currency as (
    select record_index, arg_max(currency, (n, currency)) as currency
    from currencies group by record_index
)
select
    k.record_index,
    count(*) as facts,
    sha256(string_agg(
        concat_ws(chr(31), k.concept, coalesce(k.uom, chr(1)), strftime(k.period_end, '%Y%m%d'),
                  k.q, coalesce(k.coreg, chr(1)), coalesce(k.segments, chr(1)),
                  coalesce(k.value, chr(1)), k.version),
        chr(30)
        order by k.concept, k.uom, k.period_end, k.q, k.coreg, k.segments
    )) as digest,
    max(k.q) filter (where k.taxonomy <> 'dei' and k.q between 1 and 3
                     and k.period_end = k.filing_end) as ytd_quarters,
    any_value(c.currency) as currency
from kept as k
left join currency as c on k.record_index = c.record_index
group by k.record_index
"""


# --------------------------------------------------------------------------- filings

def _ymd(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y%m%d").date()
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


def parse_fsds(data: bytes, source_file: str, *, threads: int = 2) -> ParsedFile:
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
    return build(sub, num, source_file, threads=threads)


def build(sub: _Member, num: _Member, source_file: str, *, threads: int = 2) -> ParsedFile:
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
    aliases = pa.table({"taxonomy": list(TAXONOMY_ALIASES),
                        "prefix": list(TAXONOMY_ALIASES.values())})
    con = duckdb.connect(config={"threads": threads})
    try:
        con.register("num", _row_numbers(num.table))
        con.register("subs", index_table)
        con.register("aliases", aliases)
        con.execute(_CLASSIFY.replace("{custom}", CUSTOM_PREFIX))
        con.execute(_DEDUPE)
        facts_table = con.execute(_FACTS_OUT).fetch_arrow_table()
        per_filing = {r[0]: r[1:] for r in con.execute(_PER_FILING).fetchall()}
        value_rejects = con.execute(_FACT_REJECTS).fetchall()
    finally:
        con.close()
    facts_table = _numbers(facts_table.combine_chunks())

    for record_index, concept, reason, _rn, payload in value_rejects:
        rejects.append(RejectRecord(record_index, concept,
                                    f"{where(source_file, record_index, concept)}: {reason}",
                                    _payload(payload)))
    for text in num.bad_rows:
        fields = text.split("\t")
        concept = fields[1].lower() if len(fields) > 1 and fields[1] else "(unreadable row)"
        rejects.append(RejectRecord(None, concept, f"{where(source_file, None, concept)}: "
                                    "num.txt row with the wrong number of fields",
                                    _payload(text)))

    filings: list[FilingRecord] = []
    for i, row in kept:
        count, digest, ytd, currency = per_filing.get(i, (0, None, None, None))
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
        )
        filing.content_digest = _content_digest(filing, digest)
        filings.append(filing)
    rejects.sort(key=lambda r: -1 if r.record_index is None else r.record_index)
    return ParsedFile(source_file=source_file, records=sub.rows, keys=num.rows,
                      filings=filings, rejects=rejects, facts_table=facts_table)


def _content_digest(f: FilingRecord, facts_digest: str | None) -> str:
    """The filing's identity (as `load.filing_id` hashes it) and its facts' digest."""
    identity = orjson.dumps([f.source, f.symbol if f.symbol is not None else f.cik,
                             f.accession, f.period_end, f.fiscal_year, f.fiscal_period,
                             f.document_type, f.company_name, f.filed_date, f.currency])
    return hashlib.sha256(identity + (facts_digest or "").encode()).hexdigest()


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
