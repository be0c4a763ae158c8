"""Parse: one input file's bytes -> a `ParsedFile` (filings, facts, rejects), and hashing.

The dispatch (`parse_bytes`) decides which reader reads a document; readers
(`vendor.py`, `sec.py`) are pure functions of the decoded document and never call back
here. Bad input never raises: it becomes reject rows (`file_reject` for a whole file).

Parsing: orjson first; when it refuses the file (NaN, huge numbers, ...) or could hide
something (duplicate keys, digits beyond a double), the stdlib tolerant parser in
`values.loads_tolerant` reads it exactly, so one bad value costs one reject row.

Adding an input format: a reader returning `ParsedFile`, and one branch in `parse_bytes`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import orjson

from pipeline.ingest import values as V
from pipeline.ingest.fsds import parse_fsds
from pipeline.ingest.model import FilingRecord, ParsedFile, RejectRecord, where
from pipeline.ingest.sec import parse_company_facts
from pipeline.ingest.vendor import finish, read_vendor

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
FILE_PAYLOAD_LIMIT = 2_000
NOT_JUDGED = -1  # ParsedFile.records of a file that could not be read (no sha logged)
# orjson writes at most 255 levels and Python recurses ~1000 deep: deeper is refused whole
TOO_DEEP = "JSON nested too deeply to read (more than 255 levels)"


def file_reject(source_file: str, why: str, data: bytes | None = None) -> ParsedFile:
    """A whole-file problem: one reject row, nothing else."""
    payload = None
    if data is not None:
        payload = data[:FILE_PAYLOAD_LIMIT].decode("utf-8", errors="replace")
    return ParsedFile(source_file=source_file, records=0, keys=0, rejects=[
        RejectRecord(None, None, f"{where(source_file)}: {why}", payload)])


def _is_sec(doc: Any) -> bool:
    return isinstance(doc, dict) and "facts" in doc and "cik" in doc


def _top_level_reject(doc: Any, source_file: str, data: bytes) -> ParsedFile:
    kind = {str: "a string", int: "a number", float: "a number", bool: "a boolean",
            V.JsonNumber: "a number"}.get(type(doc), "null" if doc is None else type(doc).__name__)
    return file_reject(source_file, f"top level is {kind}, expected an array of filings or "
                       "an object", data)


def parse_bytes(data: bytes, source_file: str) -> ParsedFile:
    """Decode and read one input file. Never raises for bad input: rejects instead.

    orjson first. A vendor file comes back unfinished (see `vendor.finish`, which
    classifies many files at once and reports files where orjson may have hidden
    something: a float that lost digits, a duplicate key); `finish_files` re-reads those
    with the tolerant parser. `read_one` is parse + finish for a single file.
    """
    body = data[len(BOM):] if data.startswith(BOM) else data
    if not body.strip():
        return file_reject(source_file, "empty file", data)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _parse_exact(body, source_file, data)
    if _is_sec(doc) and not _sec_trusted(body, doc):
        del doc
        return _parse_exact(body, source_file, data)
    return _read(doc, source_file, data, body=body)


def _read(doc: Any, source_file: str, data: bytes, *, body: bytes | None = None
          ) -> ParsedFile:
    """The dispatch: which reader reads a decoded document. `body` is set for orjson's
    reading (kept so `finish_files` can re-read the file exactly), None for the exact one."""
    if _is_sec(doc):
        return parse_company_facts(doc, source_file)
    if not isinstance(doc, list | dict):
        return _top_level_reject(doc, source_file, data)
    try:
        parsed, _ = read_vendor(doc, source_file, exact=body is None)
    except (orjson.JSONEncodeError, RecursionError):
        return file_reject(source_file, TOO_DEEP, data)
    if body is not None and parsed.unfinished is not None:
        parsed.unfinished.body_colons = body.count(b":")
        parsed.unfinished.data = body
    return parsed


# A JSON number (not a string: after ':', '[' or ',') of 17 or more characters may hold
# more digits than orjson's binary double keeps.
_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?[0-9][0-9.eE+-]{16,}")


def _sec_trusted(body: bytes, doc: Any) -> bool:
    """orjson's reading of a company-facts file hides nothing: as many ':' as the bytes
    (a duplicate key orjson dropped would leave fewer) and no over-long number."""
    try:
        colons = orjson.dumps(doc).count(b":")
    except orjson.JSONEncodeError:
        return False
    return colons == body.count(b":") and _LONG_NUMBER.search(body) is None


def _parse_exact(body: bytes, source_file: str, data: bytes) -> ParsedFile:
    """The tolerant, exact reading (stdlib json; see values.loads_tolerant)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return file_reject(source_file, f"not UTF-8 ({exc})", data)
    try:
        tolerant = V.loads_tolerant(text)
    except RecursionError:
        return file_reject(source_file, TOO_DEEP, data)
    except ValueError as exc:
        return file_reject(source_file, f"not valid JSON ({exc})", data)
    del text
    return _read(tolerant, source_file, data)  # SEC: the reader handles JsonNumber, DupDict


def reparse_exact(parsed: ParsedFile) -> None:
    """Replace orjson's reading of a file (`vendor.finish` doubted it) with the exact one."""
    unfinished = parsed.unfinished
    assert unfinished is not None and unfinished.data is not None
    try:
        exact = _parse_exact(unfinished.data, parsed.source_file, unfinished.data)
    except Exception as exc:  # noqa: BLE001 - the file boundary: never raise past it
        exact = internal_error(parsed.source_file, exc, unfinished.data)
    _replace(parsed, exact)


def _replace(parsed: ParsedFile, other: ParsedFile) -> None:
    """Make `parsed` (an object the loader's batch already holds) read as `other`."""
    for name in ("records", "keys", "filings", "rejects", "facts_table", "unfinished"):
        setattr(parsed, name, getattr(other, name))


def internal_error(source_file: str, exc: Exception, data: bytes | None) -> ParsedFile:
    """A reader bug, at the file boundary: the file is rejected, the run goes on."""
    log.exception("reader failed on %s", source_file)
    return file_reject(source_file, f"internal reader error ({type(exc).__name__}: {exc})",
                       data)


def _finish(files: list[ParsedFile], *, cast: bool) -> None:
    """`vendor.finish`, re-reading exactly the files it doubts until it completes them."""
    while doubted := finish(files, cast=cast):
        for parsed in doubted:
            reparse_exact(parsed)


def finish_files(files: list[ParsedFile], *, cast: bool = True) -> None:
    """`vendor.finish` behind the file boundary: should it fail, each file is finished
    alone, and a file that still fails is rejected whole. `cast=False`: see `vendor.finish`."""
    try:
        _finish(files, cast=cast)
    except Exception:  # noqa: BLE001 - the file boundary: never raise past it
        for parsed in files:
            if parsed.unfinished is None:
                continue
            try:
                _finish([parsed], cast=cast)
            except Exception as exc:  # noqa: BLE001
                unfinished = parsed.unfinished
                _replace(parsed, internal_error(parsed.source_file, exc,
                                                unfinished.data if unfinished else None))


def safe_parse(data: bytes, source_file: str) -> ParsedFile:
    """`parse_bytes` behind the file boundary: a reader bug rejects the file, never the run."""
    try:
        if source_file.endswith(".zip"):  # a quarterly SEC data-set zip
            return parse_fsds(data, source_file)
        return parse_bytes(data, source_file)
    except Exception as exc:  # noqa: BLE001 - the file boundary: never raise past it
        return internal_error(source_file, exc, data)


def read_one(data: bytes, source_file: str) -> ParsedFile:
    """Parse and finish one file (what the loader does, one file at a time)."""
    parsed = safe_parse(data, source_file)
    finish_files([parsed])
    return parsed


# --------------------------------------------------------------------------- hashing

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def filing_id(f: FilingRecord) -> str:
    """Content address of a filing version: identity + sorted facts (32 hex chars)."""
    if f.content_digest is not None:
        return f.content_digest[:32]
    identity = orjson.dumps([f.source, f.symbol if f.symbol is not None else f.cik,
                             f.accession, f.period_end, f.fiscal_year, f.fiscal_period,
                             f.document_type])
    numbers = [None if d is None else V.number_text(d) for d in f.value_numbers]
    facts = sorted(zip(f.concepts, f.units, f.fact_starts, f.fact_ends, f.value_texts, numbers,
                       strict=True), key=lambda t: tuple("" if x is None else str(x) for x in t))
    return hashlib.sha256(identity + orjson.dumps(facts)).hexdigest()[:32]
