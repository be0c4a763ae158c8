"""Fuzzing the reader and the loader (issue 8): random JSON values, random keys, unicode,
huge and tiny numbers, NaN, duplicate keys, broken bytes, deep nesting.

Bounded and repeatable: derandomized, no deadline, a fixed example budget. Invariants:
nothing raises past the file boundary, conservation holds per file, no filing is partial
(its facts are all there, unique, with at least one number), every rejection has a
reason that names the file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.assets.raw import run_checks
from pipeline.ingest.load import load_seeds, read_one
from pipeline.ingest.model import ParsedFile
from tests.helpers import query

NAME = "fuzz 'file'.json"
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-1000, max_value=1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.decimals(allow_nan=False, allow_infinity=False, places=14).map(str),
    st.sampled_from(["260174000000.000000", "-0.02", "1,234", "1e5", " 12", "+5", ".5",
                     "0." + "9" * 30, "9" * 40, "NaN", "P10Y"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
keys = st.one_of(st.text(max_size=12), st.sampled_from(
    ["assets", "Assets", "ASSETS", "data", "symbol", "date", "period", "us-gaap:x", "a:b",
     'q"uote', "back\\slash", "\u0130stanbul", "ß", "\x00"]))
symbols = st.one_of(st.just("SYM"), st.text(max_size=8), st.integers(), st.none())
dates = st.one_of(st.just("2024-12-31"), st.just("2024-02-30"), st.just("2024-12-31T00:00"),
                  st.text(max_size=10), st.integers(), st.none())
periods = st.one_of(st.sampled_from(["FY", "Q1", "Q2", "Q3", "Q4", "H1", "fy", ""]), st.none())


@st.composite
def records(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A record as (key, value) pairs, so duplicate keys can be written. Three in four
    have a valid identity, so most examples reach the value handling."""
    pairs: list[tuple[str, Any]] = []
    if draw(st.integers(min_value=0, max_value=3)):
        pairs += [("symbol", draw(st.sampled_from(["SYM", "O'Q;--", "é"]))),
                  ("date", draw(st.sampled_from(["2024-12-31", "2023-06-30"]))),
                  ("period", draw(st.sampled_from(["FY", "Q2"])))]
        if draw(st.integers(min_value=0, max_value=3)):
            pairs.append(("revenues", draw(numbers)))
    else:
        for key, strategy in (("symbol", symbols), ("date", dates), ("period", periods)):
            if draw(st.booleans()):
                pairs.append((key, draw(strategy)))
    pairs.extend(draw(st.lists(st.tuples(keys, values), max_size=8)))
    if draw(st.booleans()):  # the nested shape
        inner = draw(st.lists(st.tuples(keys, values), max_size=6))
        pairs.append(("data", _Pairs(inner)))
    return draw(st.permutations(pairs))


class _Pairs(list):  # type: ignore[type-arg]
    """An object written from pairs (duplicates allowed)."""


def _dump(value: Any) -> str:
    if isinstance(value, _Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["array", "array", "array", "object", "value", "deep"]))
    if kind == "deep":
        depth = draw(st.integers(min_value=500, max_value=5000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        text = '[{"symbol":"S","date":"2024-12-31","period":"FY","x":' + opener * depth + \
            "1" + closer * depth + "}]"
    elif kind == "value":
        text = _dump(draw(values))
    elif kind == "object":
        text = _dump(_Pairs(draw(records())))
    else:
        text = "[" + ",".join(
            _dump(_Pairs(r)) if draw(st.integers(min_value=0, max_value=4))
            else _dump(draw(values)) for r in draw(st.lists(records(), max_size=5))) + "]"
    data = text.encode("utf-8", errors="surrogatepass")
    mutation = draw(st.sampled_from(["none"] * 5 + ["bom", "truncate", "garbage"]))
    if mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "truncate" and len(data) > 1:
        data = data[: draw(st.integers(min_value=0, max_value=len(data) - 1))]
    elif mutation == "garbage":
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


def check_parsed(parsed: ParsedFile, name: str = NAME) -> None:
    """The invariants every reading of any input satisfies."""
    value_rejects = [r for r in parsed.rejects if r.concept is not None and not r.is_filing]
    filing_rejects = [r for r in parsed.rejects if r.is_filing]
    facts = sum(f.fact_count for f in parsed.filings)
    assert facts + len(value_rejects) == parsed.keys
    assert len(parsed.filings) + len(filing_rejects) == parsed.records
    for r in parsed.rejects:
        assert r.reason and r.reason.startswith(f"file {name!r}")
        assert "internal reader error" not in r.reason, r.reason  # a bug, not bad input
        if r.record_index is not None:
            assert f"record {r.record_index}" in r.reason
    if parsed.facts_table is not None:
        assert parsed.facts_table.num_rows == facts
        numbers = parsed.facts_table.column("value_number").to_pylist()
        warned = {r.record_index for r in parsed.rejects if r.is_warning}
        start = 0
        for f in parsed.filings:
            assert len(set(f.concepts)) == f.fact_count  # unique concepts: never partial
            # a number, or a warning saying the filing was loaded without one
            has_number = any(n is not None for n in numbers[start:start + f.fact_count])
            assert has_number != (f.record_index in warned)
            start += f.fact_count
    assert parsed.unfinished is None


@settings(max_examples=400, **SETTINGS)
@given(documents())
def test_reader_never_raises_and_conserves(data: bytes) -> None:
    check_parsed(read_one(data, NAME))


@settings(max_examples=150, **SETTINGS)
@given(st.lists(records(), min_size=1, max_size=4))
def test_orjson_and_tolerant_readings_agree(recs: list[list[tuple[str, Any]]]) -> None:
    """The same filings read fast (orjson) and exactly (tolerant, forced by a NaN in a
    record of its own) have the same ids and facts."""
    text = "[" + ",".join(_dump(_Pairs(r)) for r in recs) + "]"
    if "NaN" in text or "Infinity" in text:
        return
    plain = read_one(text.encode(), NAME)
    forced = read_one(("[" + text[1:-1] + ("," if recs else "") +
                       '{"symbol":"Z","date":"2024-12-31","period":"FY","x":NaN}]').encode(),
                      NAME)
    check_parsed(plain)
    check_parsed(forced)
    # the forcing record (no number left once its NaN is rejected) loads with a warning
    assert [(f.content_digest, f.concepts, f.value_texts) for f in plain.filings] == [
        (f.content_digest, f.concepts, f.value_texts) for f in forced.filings
        if f.record_index < len(recs)]


@settings(max_examples=30, **SETTINGS)
@given(st.lists(documents(), min_size=1, max_size=3))
def test_loader_never_writes_partial_filings(docs: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        for i, data in enumerate(docs):
            (seeds / f"{i} {NAME}").write_bytes(data)
        db = Path(tmp) / "w.duckdb"
        summary = load_seeds(seeds, db)
        assert summary.files_seen == len(docs)
        assert summary.files_loaded + summary.files_rejected == len(docs)
        checks = {r.check_name: r.passed for r in run_checks(db)}
        assert checks["raw_facts_unique"] and checks["raw_conservation"]
        assert checks["raw_filings_have_numeric_fact"]
        assert query(db, "select count(*) from raw.rejects where reason is null "
                         "or reason = ''") == [(0,)]
        again = load_seeds(seeds, db)  # idempotent
        assert (again.files_skipped, again.new_filings) == (len(docs), 0)
