"""SEC company-facts reader (input shape 4): one filing version per accession number.

EDGAR's company-facts JSON is organised by concept, not by filing:
`facts -> taxonomy -> Concept -> units -> unit -> [{start?, end, val, accn, fy, fp, form,
filed, frame?}]`. This reader turns it inside out: every accession number becomes one
`FilingRecord` (records = accessions) holding every fact entry filed under it (keys = fact
entries) with the fact's own unit and period, so comparatives and opening balances are kept
and the statement selection can be done in SQL (`int_sec__statement_facts`).

The filing's own period is inferred from its facts, not taken on trust from `fy`/`fp`:
EDGAR labels some filings wrongly (Snowflake's first-quarter 10-Q of fiscal 2023 says
`fp = FY`), and `dei` cover-page facts carry later dates (shares outstanding at the
filing date). See `infer_period`.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import config
from pipeline.ingest import values as V
from pipeline.ingest.model import FactColumns, FilingRecord, ParsedFile, RejectRecord, where

SOURCE = "sec"
COMPANIES_SEED = config.DBT_SEEDS_DIR / "sec_companies.csv"

# Forms whose main statements are annual / quarterly; the amendment suffix is stripped first.
ANNUAL_FORMS = frozenset({"10-K", "10-KT", "20-F", "40-F"})
QUARTER_FORMS = frozenset({"10-Q", "10-QT"})

# Duration classes by length in days (end - start). Wide enough for 52/53-week years
# (364/371 days) and 13/14-week quarters (about 88-98 days).
QUARTER_DAYS = (75, 105)
ANNUAL_DAYS = (340, 390)
YTD_MAX_DAYS = 290  # a nine-month year-to-date is about 272 days
DAYS_PER_QUARTER = 365.25 / 4

_CURRENCY = re.compile(r"^([A-Z]{3})(?:/|$)")
_FISCAL_PERIODS = frozenset({"FY", "Q1", "Q2", "Q3", "Q4"})


# --------------------------------------------------------------------------- symbols

def _cik_number(cik: Any) -> int | None:
    text = str(cik).strip() if cik is not None else ""
    return int(text) if text.isdigit() else None


@lru_cache(maxsize=4)
def _companies(path: str, mtime_ns: int) -> dict[int, str]:
    """CIK -> symbol from the seed CSV (cached per file version: users edit it)."""
    del mtime_ns  # part of the cache key only
    mapping: dict[int, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            number = _cik_number(row.get("cik"))
            symbol = (row.get("symbol") or "").strip()
            if number is not None and symbol:
                mapping[number] = symbol
    return mapping


def seed_symbols(path: Path | None = None) -> dict[int, str]:
    """The user-editable CIK -> symbol map; empty when the seed is missing."""
    path = path if path is not None else COMPANIES_SEED
    try:
        return _companies(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return {}


def resolve_symbol(cik: Any, dei_symbols: list[str]) -> str:
    """The filer's own trading symbol (dei) when it reports one, else the shipped
    CIK -> ticker seed (sec_companies.csv), else 'CIK' and the zero-padded CIK."""
    for candidate in dei_symbols:
        if candidate.strip():
            return candidate.strip().upper()
    number = _cik_number(cik)
    if number is not None:
        seeded = seed_symbols().get(number)
        if seeded:
            return seeded
    return f"CIK{number:010d}" if number is not None else f"CIK{cik}"


# --------------------------------------------------------------------------- accessions

@dataclass(slots=True)
class _Accession(FactColumns):
    """Facts of one accession, deduplicated on the raw.facts key."""

    accn: str
    first_seen: int
    forms: Counter[str] = field(default_factory=Counter)
    filed: Counter[str] = field(default_factory=Counter)
    fys: Counter[int] = field(default_factory=Counter)
    fps: Counter[str] = field(default_factory=Counter)
    # (concept, unit, start, end) -> position in the columnar lists
    index: dict[tuple[str, str, date | None, date], int] = field(default_factory=dict)
    taxonomies: list[str] = field(default_factory=list)


def concept_name(taxonomy: str, concept: str) -> str:
    """raw.facts naming: lowercase; us-gaap unprefixed, other taxonomies keep their prefix."""
    if not concept:
        return taxonomy.lower()
    name = concept.lower()
    return name if taxonomy.lower() == "us-gaap" else f"{taxonomy.lower()}:{name}"


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    return _date_of(value)


@lru_cache(maxsize=1 << 14)
def _date_of(value: str) -> date | None:
    """A company-facts file repeats a few hundred dates across 100,000s of entries."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _mode(counter: Counter[Any]) -> Any:
    """Most common value; ties broken by the larger value, so the choice is stable."""
    if not counter:
        return None
    return max(counter.items(), key=lambda kv: (kv[1], kv[0]))[0]


# --------------------------------------------------------------------------- periods

@dataclass(frozen=True, slots=True)
class Period:
    """What a filing covers, inferred from its own non-dei facts."""

    period_end: date | None
    period_start: date | None
    fiscal_year: int | None
    fiscal_period: str | None


def _days(start: date, end: date) -> int:
    return (end - start).days


def _pick_end(counts: Counter[date]) -> date | None:
    """The latest date carrying at least half as many facts as the busiest date.

    Filings repeat last year's comparatives with (almost) as many facts as the current
    period (Snowflake's fiscal 2025 10-K has 121 annual facts at both year ends), so the
    plain mode is ambiguous; the current period is the latest well-populated one.
    """
    if not counts:
        return None
    top = max(counts.values())
    return max(d for d, n in counts.items() if 2 * n >= top)


def _expected_class(form: str | None, fp: str | None) -> str | None:
    base = (form or "").upper().removesuffix("/A")
    if base in ANNUAL_FORMS:
        return "FY"
    if base in QUARTER_FORMS:
        return "Q"
    if fp == "FY":
        return "FY"
    if fp in {"Q1", "Q2", "Q3", "Q4"}:
        return "Q"
    return None


def _fiscal_year(fy: int | None, fiscal_year_end: date) -> int:
    """`fy` when it names the fiscal year ending at `fiscal_year_end` (filers name it by
    its end year, or by its start year for 52/53-week years ending in early January);
    otherwise the end year."""
    allowed = {fiscal_year_end.year, fiscal_year_end.year - 1}
    if fy in allowed:
        return fy  # type: ignore[return-value]
    if fiscal_year_end.month == 1 and fiscal_year_end.day <= 7:
        return fiscal_year_end.year - 1
    return fiscal_year_end.year


def _add_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def infer_period(
    starts: list[date | None],
    ends: list[date | None],
    is_dei: list[bool],
    form: str | None,
    fy: int | None,
    fp: str | None,
) -> Period:
    """The filing's main period from its statement facts (dei cover-page facts ignored).

    period_end: among durations of the class the form implies (about a year for
    10-K/20-F/40-F, about three months for 10-Q; `fp` decides for other forms, else the
    class with most facts), the latest end date that is well populated; instants when the
    filing has no such duration. fiscal_period: FY for annual; for quarters Qn where n
    comes from the longest year-to-date duration ending at period_end (a 6-month YTD is
    Q2), with `fp` trusted when it agrees or when there is no YTD evidence. fiscal_year:
    `fy` when consistent with the fiscal year end the dates imply (see `_fiscal_year`).
    """
    by_class: dict[str, Counter[date]] = {"FY": Counter(), "Q": Counter()}
    instants: Counter[date] = Counter()
    for start, end, dei in zip(starts, ends, is_dei, strict=True):
        if dei or end is None:
            continue
        if start is None:
            instants[end] += 1
            continue
        days = _days(start, end)
        if ANNUAL_DAYS[0] <= days <= ANNUAL_DAYS[1]:
            by_class["FY"][end] += 1
        elif QUARTER_DAYS[0] <= days <= QUARTER_DAYS[1]:
            by_class["Q"][end] += 1

    klass = _expected_class(form, fp)
    if klass is None or not by_class[klass]:
        populated = [k for k in ("FY", "Q") if by_class[k]]
        klass = max(populated, key=lambda k: max(by_class[k].values())) if populated else None

    if klass is None:
        # no duration of a known length (instants only, or cover page only): the form
        # decides FY vs quarter, `fp` names the quarter
        end = _pick_end(instants)
        expected = _expected_class(form, fp)
        period = "FY" if expected == "FY" else (fp if fp in _FISCAL_PERIODS - {"FY"} else None)
        year = _fiscal_year(fy, end) if end is not None and period == "FY" else fy
        return Period(end, None, year, period)

    end = _pick_end(by_class[klass])
    assert end is not None
    lo, hi = ANNUAL_DAYS if klass == "FY" else QUARTER_DAYS
    main_starts: Counter[date] = Counter()
    ytd_start: date | None = None
    for start, e, dei in zip(starts, ends, is_dei, strict=True):
        if dei or start is None or e != end:
            continue
        days = _days(start, end)
        if lo <= days <= hi:
            main_starts[start] += 1
        if QUARTER_DAYS[0] <= days <= YTD_MAX_DAYS and (ytd_start is None or start < ytd_start):
            ytd_start = start
    period_start = _mode(main_starts)

    if klass == "FY":
        return Period(end, period_start, _fiscal_year(fy, end), "FY")

    n_ytd = round(_days(ytd_start, end) / DAYS_PER_QUARTER) if ytd_start else None
    n_fp = int(fp[1]) if fp in {"Q1", "Q2", "Q3", "Q4"} else None
    if n_fp is not None and (n_ytd is None or n_ytd in (1, n_fp)):
        quarter = n_fp
    else:
        quarter = min(max(n_ytd or 1, 1), 4)
    year_start = ytd_start if n_ytd == quarter and ytd_start else None
    if year_start is None:
        # no YTD evidence: step back whole quarters from the quarter's own start
        year_start = (period_start or end) - timedelta(days=round((quarter - 1) * DAYS_PER_QUARTER))
    fiscal_year_end = _add_year(year_start) - timedelta(days=1)
    return Period(end, period_start, _fiscal_year(fy, fiscal_year_end), f"Q{quarter}")


# --------------------------------------------------------------------------- reader

def _currency(units: list[str | None], is_dei: list[bool]) -> str | None:
    """The accession's reporting currency: the most common ISO code among its units
    ('USD', or 'USD' out of 'USD/shares'); NULL when no monetary unit is used."""
    counts: Counter[str] = Counter()
    for unit, dei in zip(units, is_dei, strict=True):
        if unit and not dei:
            m = _CURRENCY.match(unit)
            if m:
                counts[m.group(1)] += 1
    if not counts:
        for unit in units:
            m = _CURRENCY.match(unit or "")
            if m:
                counts[m.group(1)] += 1
    return _mode(counts)


def _payload(value: Any) -> str:
    try:
        return V.dumps(value, sort_keys=True).decode()
    except (TypeError, ValueError):
        return repr(value)


@dataclass(slots=True)
class _PendingReject:
    """A reject whose record index is known only once accessions are ordered."""

    accn: str | None
    concept: str | None
    why: str
    payload: str


def _entries(doc: dict[str, Any]) -> Any:
    """(taxonomy, Concept, unit, entry, shadowed) for every fact entry, in file order.

    `shadowed` marks entries under an object key that occurs again later in the same
    object (seen by the tolerant parser as `DupDict.dups`): the later key wins, these
    entries are rejects. Non-object / non-list levels yield one malformed entry.
    """
    facts = doc.get("facts")
    if not isinstance(facts, dict):
        return
    for taxonomy, concepts, t_shadow in _items(facts):
        if not isinstance(concepts, dict):
            yield taxonomy, "", None, concepts, t_shadow  # concept "": named by taxonomy
            continue
        for concept, body, c_shadow in _items(concepts):
            units = body.get("units") if isinstance(body, dict) else None
            if not isinstance(units, dict):
                yield taxonomy, concept, None, body, t_shadow or c_shadow
                continue
            for unit, entries, u_shadow in _items(units):
                shadow = t_shadow or c_shadow or u_shadow
                if not isinstance(entries, list):
                    yield taxonomy, concept, unit, entries, shadow
                    continue
                for entry in entries:
                    yield taxonomy, concept, unit, entry, shadow


def _items(obj: dict[str, Any]) -> Any:
    """(key, value, shadowed): the earlier values of duplicated keys first, then the dict."""
    for key, earlier in getattr(obj, "dups", ()):
        yield str(key), earlier, True
    for key, value in obj.items():
        yield str(key), value, False


def _to_decimal(value: Any) -> Decimal | None:
    """`values.to_decimal` with enough precision for DECIMAL(38,10): quantizing a number of
    more than 18 integer digits to 10 places needs more than the default 28 digits.
    A JSON integer (most values) is quantized with the explicit DECIMAL(38,10) context
    there, so it needs no local context (which costs more than the conversion)."""
    if type(value) is int:
        return V.to_decimal(value)
    with localcontext() as ctx:
        ctx.prec = 60
        return V.to_decimal(value)


def _int(value: Any) -> int | None:
    if type(value) is int:  # the usual case (fy); bool is not int here
        return value if abs(value) < V.LIMIT else None
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = _to_decimal(value)
    except V.NotRepresentable:
        return None
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def parse_company_facts(doc: dict[str, Any], source_file: str) -> ParsedFile:
    """One `FilingRecord` per accession number, every fact entry a raw.facts row.

    Conservation: keys = fact entries; each lands as a fact or a reject. A fact entry
    that repeats an earlier one of the same accession on the raw.facts key (concept,
    unit, start, end) keeps the later value (the contract's "later wins") and rejects
    the earlier one as 'duplicate fact' (identical value: nothing is lost, the reject
    only keeps the count honest) or 'duplicate fact (conflicting value)'. Entries
    without an accession number or with an unreadable date, entries shadowed by a
    duplicated JSON key, and values that cannot be represented (NaN, Infinity, out of
    DECIMAL(38,10) range) are rejects with the reason. Nothing is dropped silently.
    Accepts documents from orjson and from the tolerant parser (`values.loads_tolerant`).
    """
    if not isinstance(doc.get("facts"), dict):
        return ParsedFile(source_file=source_file, records=0, keys=0, rejects=[RejectRecord(
            None, None, f"{where(source_file)}: SEC company facts whose 'facts' "
            "is not an object (expected facts -> taxonomy -> concept -> units)",
            _payload({k: v for k, v in doc.items() if k != "facts"}))])
    cik = doc.get("cik")
    cik_text = V.value_text(cik) if cik is not None else None
    company_name = doc.get("entityName")
    company_name = V.value_text(company_name) if company_name is not None else None

    accessions: dict[str, _Accession] = {}
    pending: list[_PendingReject] = []
    dei_symbols: list[str] = []
    keys = 0

    for position, (taxonomy, concept, unit, entry, shadowed) in enumerate(_entries(doc)):
        keys += 1
        name = concept_name(taxonomy, concept) if concept is not None else None
        accn = entry.get("accn") if isinstance(entry, dict) else None
        accn = accn if isinstance(accn, str) and accn else None
        if shadowed:
            pending.append(_PendingReject(accn, name, "duplicate key (a later value of the "
                                          "same key wins)", _payload(entry)))
            continue
        if not isinstance(entry, dict) or not concept or unit is None:
            pending.append(_PendingReject(None, name, "malformed fact entry (expected "
                                          "facts -> taxonomy -> concept -> units -> unit -> "
                                          "[entries])", _payload(entry)))
            continue
        if accn is None:
            pending.append(_PendingReject(None, name, "fact without accession number",
                                          _payload(entry)))
            continue
        acc = accessions.get(accn)
        if acc is None:
            acc = accessions[accn] = _Accession(accn, position)
        form = entry.get("form")
        if isinstance(form, str):
            acc.forms[form] += 1
        if isinstance(entry.get("filed"), str):
            acc.filed[entry["filed"]] += 1
        fy = _int(entry.get("fy"))
        if fy is not None:
            acc.fys[fy] += 1
        if isinstance(entry.get("fp"), str):
            acc.fps[entry["fp"].upper()] += 1

        end = _date(entry.get("end"))
        start = _date(entry.get("start")) if entry.get("start") is not None else None
        if end is None or (entry.get("start") is not None and start is None):
            pending.append(_PendingReject(accn, name, "invalid fact period date (start/end "
                                          "must be YYYY-MM-DD)", _payload(entry)))
            continue

        raw = entry.get("val")
        try:
            number = _to_decimal(raw)
        except V.NotRepresentable as exc:
            pending.append(_PendingReject(accn, name, str(exc), _payload(entry)))
            continue
        text = V.value_text(raw)
        if name == "dei:tradingsymbol" and isinstance(raw, str):
            dei_symbols.append(raw)

        key = (name, unit, start, end)
        existing = acc.index.get(key)
        if existing is not None:
            same = acc.value_texts[existing] == text
            pending.append(_PendingReject(
                accn, name,
                "duplicate fact (same concept, unit and period in one accession; the later "
                + ("entry is kept, the values are identical)" if same else
                   "value wins, conflicting value)"),
                _payload({"val": acc.value_texts[existing], "unit": unit,
                          "start": str(start) if start else None, "end": str(end)}),
            ))
            acc.value_numbers[existing] = number
            acc.value_texts[existing] = text
            continue
        acc.index[key] = len(acc.concepts)
        acc.taxonomies.append(taxonomy.lower())
        acc.concepts.append(name)
        acc.value_numbers.append(number)
        acc.value_texts.append(text)
        acc.units.append(unit)
        acc.fact_starts.append(start)
        acc.fact_ends.append(end)

    symbol = resolve_symbol(cik, dei_symbols)
    ordered = sorted(accessions.values(),
                     key=lambda a: (_mode(a.filed) or "", a.first_seen, a.accn))
    record_of = {a.accn: i for i, a in enumerate(ordered)}
    rejects = []
    for p in pending:
        index = record_of.get(p.accn) if p.accn is not None else None
        rejects.append(RejectRecord(index, p.concept,
                                    f"{where(source_file, index, p.concept)}: {p.why}",
                                    p.payload))

    filings: list[FilingRecord] = []
    for i, acc in enumerate(ordered):
        if not acc.concepts:  # every entry of this accession was rejected above
            rejects.append(RejectRecord(
                i, None, f"{where(source_file, i)}: accession {acc.accn} has no "
                "readable fact (see this record's other rejects)", _payload(acc.accn),
                is_filing=True))
            continue
        form = _mode(acc.forms)
        fp = _mode(acc.fps)
        fy = _mode(acc.fys)
        is_dei = [t == "dei" for t in acc.taxonomies]
        period = infer_period(acc.fact_starts, acc.fact_ends, is_dei, form, fy, fp)
        filings.append(FilingRecord(
            record_index=i,
            source=SOURCE,
            symbol=symbol,
            cik=cik_text,
            company_name=company_name,
            period_end=period.period_end,
            fiscal_year=period.fiscal_year,
            fiscal_period=period.fiscal_period,
            document_type=form,
            is_amendment=bool(form) and form.upper().endswith("/A"),
            currency=_currency(acc.units, is_dei),
            filed_date=_date(_mode(acc.filed)),
            accession=acc.accn,
            period_start=period.period_start,
            concepts=acc.concepts,
            value_numbers=acc.value_numbers,
            value_texts=acc.value_texts,
            units=acc.units,
            fact_starts=acc.fact_starts,
            fact_ends=acc.fact_ends,
        ))
    _borrow_cover_page_periods(filings, ordered)
    rejects.sort(key=lambda r: -1 if r.record_index is None else r.record_index)
    return ParsedFile(source_file=source_file, records=len(ordered), keys=keys,
                      filings=filings, rejects=rejects)


def _borrow_cover_page_periods(filings: list[FilingRecord], ordered: list[_Accession]) -> None:
    """A cover-page-only filing (dei facts only, e.g. a 20-F/A that adds an exhibit) has
    no statement dates of its own: it takes the period of the original filing of the
    same fiscal year and period, else keeps NULL dates rather than the later cover-page
    dates."""
    has_statements = {acc.accn: any(t != "dei" for t in acc.taxonomies) for acc in ordered}
    originals = {
        (f.fiscal_year, f.fiscal_period): f
        for f in filings
        if has_statements[f.accession] and not f.is_amendment  # type: ignore[index]
    }
    for f in filings:
        if has_statements[f.accession]:  # type: ignore[index]
            continue
        original = originals.get((f.fiscal_year, f.fiscal_period))
        f.period_end = original.period_end if original else None
        f.period_start = original.period_start if original else None
