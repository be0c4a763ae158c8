"""The synthetic filings generator (bench.generate): deterministic, both shapes,
seed-like filings, concepts the map knows, and statements that tie out exactly except
for the injected errors, checked twice: by an independent Python reading of the
contract's rules, and end to end through the real loader, dbt and marts.tieout_results.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import generate as gen
from pipeline import config
from tests.helpers import build_warehouse, query

CONCEPT_MAP = config.DBT_SEEDS_DIR / "concept_map.csv"


def _read_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def _records(folder: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted(folder.glob("*.json")):
        out.extend(orjson.loads(p.read_bytes()))
    return out


def _body(record: dict[str, Any]) -> dict[str, Any]:
    return record["data"] if "data" in record else record


def _key_count(record: dict[str, Any]) -> int:
    """Keys as the contract counts them (nested: envelope keys other than data + data)."""
    return 5 + len(record["data"]) if "data" in record else len(record)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """200 companies x 10 years, generated once for the module (about 0.6 s)."""
    out = tmp_path_factory.mktemp("gen") / "seeds"
    return out, gen.generate(out, 200, 10, seed=11)


def test_same_seed_same_bytes_and_parallel_equals_serial(tmp_path: Path) -> None:
    a = gen.generate(tmp_path / "a", 60, 3, seed=5, jobs=1)
    b = gen.generate(tmp_path / "b", 60, 3, seed=5, jobs=2)
    c = gen.generate(tmp_path / "c", 60, 3, seed=6, jobs=1)
    files_a = _read_files(tmp_path / "a")
    assert len(files_a) == 60
    assert files_a == _read_files(tmp_path / "b")
    assert files_a != _read_files(tmp_path / "c")
    a.pop("seconds"), b.pop("seconds"), c.pop("seconds")
    assert a == b
    assert a["injected"] != c["injected"]
    # The manifest lives beside the folder, never inside it (the loader reads *.json).
    assert gen.manifest_path(tmp_path / "a") == tmp_path / "a.manifest.json"
    written = gen.read_manifest(tmp_path / "a")
    written.pop("seconds")
    assert written == a


def test_company_files_do_not_depend_on_other_companies(tmp_path: Path) -> None:
    """Company i's file is a function of (seed, i, years, its own injections) only."""
    gen.generate(tmp_path / "small", 20, 2, seed=3, errors=0, corrections=0)
    gen.generate(tmp_path / "large", 40, 2, seed=3, errors=0, corrections=0)
    small, large = _read_files(tmp_path / "small"), _read_files(tmp_path / "large")
    assert all(large[name] == data for name, data in small.items())


def test_shapes_periods_amendments(sample: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = sample
    records = _records(folder)
    assert len(list(folder.glob("*.json"))) == manifest["files"] == 200
    assert len(records) == manifest["filings"]
    assert sum(_key_count(r) for r in records) == manifest["keys"]
    nested = [r for r in records if "data" in r]
    flat = [r for r in records if "data" not in r]
    assert 0.25 < len(nested) / len(records) < 0.55
    for r in nested:
        assert list(r) == ["symbol", "fiscalYear", "period", "reportedCurrency", "date", "data"]
        assert isinstance(r["fiscalYear"], int)
        assert r["data"]["documentfiscalyearfocus"] == r["fiscalYear"]
    for r in flat:
        assert list(r)[:3] == ["date", "symbol", "period"]
    periods = {r["period"] for r in records}
    assert periods == {"FY", "Q1", "Q2", "Q3"}
    forms = {_body(r)["documenttype"] for r in records}
    assert {"10-K", "10-K/A", "10-Q", "20-F"} <= forms
    amendments = [r for r in records if _body(r)["amendmentflag"] == "true"]
    assert len(amendments) == manifest["amendments"] > 0
    assert all(_body(r)["documenttype"].endswith("/A") for r in amendments)
    assert sum(r["period"] != "FY" for r in records) == manifest["quarters"] > 0
    # Values rounded like filers: monetary values are whole thousands (or millions).
    assets = [Decimal(str(_body(r)["assets"])) for r in records if "assets" in _body(r)]
    assert assets and all(v % 1000 == 0 for v in assets)
    assert any(isinstance(_body(r)["assets"], str) for r in records if "assets" in _body(r))
    # Text values like the seed: booleans as strings, ISO durations.
    values = [v for r in records for v in _body(r).values()]
    assert "true" in values and any(isinstance(v, str) and v.startswith("P") and
                                    v.endswith("Y") for v in values)


def test_about_250_keys_per_filing(sample: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = sample
    records = _records(folder)
    full = [_key_count(r) for r in records if _body(r)["amendmentflag"] == "false"]
    assert 235 <= statistics.mean(full) <= 265
    assert min(full) >= 200 and max(full) <= 300


def _concept_map() -> dict[str, list[tuple[int, str]]]:
    by_concept: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with CONCEPT_MAP.open(newline="") as f:
        for row in csv.DictReader(f):
            by_concept[row["concept"]].append((int(row["priority"]), row["line_item"]))
    return by_concept


def test_generator_concepts_are_the_maps(sample: tuple[Path, dict[str, Any]]) -> None:
    """Line-item concepts map to that line item; everything else (components, traps,
    disclosures, dei) stays unmapped, so the statements see exactly what we intend."""
    mapped = _concept_map()
    for item, concept in gen.CONCEPTS.items():
        assert item in [li for _, li in mapped[concept]], (item, concept)
    for item, variants in gen.VARIANTS.items():
        for concept in variants:
            assert item in [li for _, li in mapped[concept]], (item, concept)
    intended = set(gen.CONCEPTS.values()) | {c for v in gen.VARIANTS.values() for c in v}
    folder, _ = sample
    seen = {k for r in _records(folder) for k in _body(r)}
    assert not {c for c in seen - intended if c in mapped}
    # Every spelling is used by some company.
    for variants in gen.VARIANTS.values():
        assert set(variants) <= seen


# --------------------------------------------------------------------------- reference
# An independent reading of the contract's tie-out rules in Python, over the map.

_NON_MONETARY = {"eps_basic", "eps_diluted", "weighted_shares_basic", "weighted_shares_diluted",
                 "shares_outstanding"}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _statements(records: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    mapped = _concept_map()
    versions: dict[tuple[str, int, str], list[tuple[int, int, dict[str, Decimal]]]] = \
        defaultdict(list)
    for index, r in enumerate(records):
        body = _body(r)
        fiscal_year = r.get("fiscalYear", body.get("documentfiscalyearfocus"))
        items: dict[str, tuple[int, Decimal]] = {}
        for concept, value in body.items():
            number = _number(value) if concept in mapped else None
            if number is None:
                continue
            for priority, item in mapped[concept]:
                if item not in items or priority < items[item][0]:
                    items[item] = (priority, number)
        amendment = body.get("amendmentflag") == "true"
        versions[(r["symbol"], fiscal_year, r["period"])].append(
            (0 if amendment else 1, -index, {k: v for k, (_, v) in items.items()}))
    out: dict[tuple[str, int, str], dict[str, Any]] = {}
    for key, found in versions.items():
        merged: dict[str, Any] = {}
        for _, _, items in sorted(found, key=lambda t: (t[0], t[1])):
            for item, value in items.items():
                merged.setdefault(item, value)
        if merged:
            out[key] = merged
    return out


def _derive(lines: dict[str, Any]) -> dict[str, str]:
    """Contract derivations for missing values; returns line item -> derivation rule."""
    rules: dict[str, str] = {}

    def derive(item: str, rule: str, *terms: tuple[str, int, bool]) -> None:
        if item in lines or any(req and t not in lines for t, _, req in terms):
            return
        lines[item] = sum((lines.get(t, Decimal(0)) * c for t, c, _ in terms), Decimal(0))
        rules[item] = rule

    derive("total_noncurrent_assets", "bs_assets_sum", ("total_assets", 1, True),
           ("total_current_assets", -1, True))
    derive("total_noncurrent_liabilities", "bs_liabilities_sum", ("total_liabilities", 1, True),
           ("total_current_liabilities", -1, True))
    derive("total_equity", "bs_total_equity_sum", ("stockholders_equity", 1, True),
           ("noncontrolling_interest", 1, False))
    derive("gross_profit", "is_gross_profit", ("revenue", 1, True),
           ("cost_of_revenue", -1, True))
    derive("net_income", "is_net_income_attribution", ("net_income_to_parent", 1, True),
           ("net_income_to_noncontrolling", 1, False))
    return rules


_SUMS: dict[str, tuple[str, tuple[tuple[str, int, bool], ...]]] = {
    "bs_assets_equal_liabilities_and_equity": (
        "total_assets", (("total_liabilities_and_equity", 1, True),)),
    "bs_assets_sum": ("total_assets", (("total_current_assets", 1, True),
                                       ("total_noncurrent_assets", 1, True))),
    "bs_liabilities_sum": ("total_liabilities", (("total_current_liabilities", 1, True),
                                                 ("total_noncurrent_liabilities", 1, True))),
    "bs_total_equity_sum": ("total_equity", (("stockholders_equity", 1, True),
                                             ("noncontrolling_interest", 1, False))),
    "bs_liabilities_and_equity_sum": ("total_liabilities_and_equity", (
        ("total_liabilities", 1, True), ("temporary_equity", 1, False),
        ("total_equity", 1, True))),
    "is_gross_profit": ("gross_profit", (("revenue", 1, True), ("cost_of_revenue", -1, True))),
    "is_pretax_income": ("pretax_income", (("operating_income", 1, True),
                                           ("nonoperating_income", 1, True))),
    "is_net_income": ("net_income", (
        ("pretax_income", 1, True), ("income_tax_expense", -1, True),
        ("equity_method_income", 1, False), ("income_discontinued_operations", 1, False))),
    "is_net_income_attribution": ("net_income", (("net_income_to_parent", 1, True),
                                                 ("net_income_to_noncontrolling", 1, False))),
    "cf_net_change_in_cash": ("net_change_in_cash", (
        ("net_cash_operating", 1, True), ("net_cash_investing", 1, True),
        ("net_cash_financing", 1, True), ("fx_effect_on_cash", 1, False))),
}
_WITHIN = {
    "bs_current_assets_within_total": ("total_current_assets", "total_assets"),
    "bs_current_liabilities_within_total": ("total_current_liabilities", "total_liabilities"),
    "bs_cash_within_current_assets": ("cash_and_equivalents", "total_current_assets"),
}


def _unit(lines: dict[str, Any]) -> Decimal:
    values = [v for k, v in lines.items() if k not in _NON_MONETARY]
    unit = Decimal(1_000_000)
    while unit > 1 and any(v % unit for v in values):
        unit /= 10
    return unit


def _evaluate(stmts: dict[tuple[str, int, str], dict[str, Any]]) -> dict[tuple, str]:
    results: dict[tuple, str] = {}
    derived = {key: _derive(lines) for key, lines in stmts.items()}
    for key, lines in stmts.items():
        own = derived[key]
        unit = _unit(lines)

        def usable(item: str, rule: str, lines: dict[str, Any] = lines,
                   own: dict[str, str] = own) -> bool:
            return item in lines and own.get(item) != rule

        for rule, (lhs, terms) in _SUMS.items():
            if not usable(lhs, rule) or any(req and not usable(t, rule) for t, _, req in terms):
                results[(*key, rule)] = "skipped"
                continue
            present = [(t, c) for t, c, _ in terms if usable(t, rule)]
            rhs = sum((lines[t] * c for t, c in present), Decimal(0))
            ok = abs(lines[lhs] - rhs) <= (len(present) + 1) * unit / 2
            results[(*key, rule)] = "pass" if ok else "fail"
        for rule, (small, big) in _WITHIN.items():
            if not (usable(small, rule) and usable(big, rule)):
                results[(*key, rule)] = "skipped"
                continue
            results[(*key, rule)] = "pass" if lines[small] - lines[big] <= unit else "fail"
        if "operating_expenses" in lines:
            terms_oi = [("gross_profit", 1), ("operating_expenses", -1)]
        else:
            terms_oi = [("revenue", 1), ("costs_and_expenses", -1)]
        rule = "is_operating_income"
        if usable("operating_income", rule) and all(usable(t, rule) for t, _ in terms_oi):
            rhs = sum((lines[t] * c for t, c in terms_oi), Decimal(0))
            ok = abs(lines["operating_income"] - rhs) <= 3 * unit / 2
            results[(*key, rule)] = "pass" if ok else "fail"
        else:
            results[(*key, rule)] = "skipped"
        earnings = lines.get("net_income_available_to_common", lines.get("net_income_to_parent"))
        if "eps_basic" in lines and earnings is not None and lines.get("weighted_shares_basic"):
            ok = abs(lines["eps_basic"] - earnings / lines["weighted_shares_basic"]) <= \
                Decimal("0.01")
            results[(*key, "is_eps_basic")] = "pass" if ok else "fail"
        else:
            results[(*key, "is_eps_basic")] = "skipped"
        symbol, fiscal_year, period = key
        prior = stmts.get((symbol, fiscal_year - 1, "FY"))
        rule = "cf_cash_rollforward"
        if period == "FY" and prior and "cash_end_of_period" in prior and \
                "cash_end_of_period" in lines and "net_change_in_cash" in lines:
            unit2 = max(unit, _unit(prior))
            diff = lines["cash_end_of_period"] - prior["cash_end_of_period"] - \
                lines["net_change_in_cash"]
            results[(*key, rule)] = "pass" if abs(diff) <= 3 * unit2 / 2 else "fail"
        else:
            results[(*key, rule)] = "skipped"
    return results


def test_reference_tieouts_fail_exactly_the_injected(sample: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = sample
    results = _evaluate(_statements(_records(folder)))
    failures = {k for k, status in results.items() if status == "fail"}
    # the filings alone (this reading derives no fourth quarter)
    expected = set(gen.iter_expected_failures(manifest, derived_q4=False))
    assert len(expected) == len(manifest["injected"]) == gen.default_errors(200) == 16
    assert failures == expected
    # Every rule is injected once and, elsewhere, evaluated and passing.
    assert {rule for *_, rule in expected} == set(gen.RULES)
    passing = {rule for (*_, rule), status in results.items() if status == "pass"}
    assert passing == set(gen.RULES)
    # Corrected errors are fixed by a later partial amendment, so they do not fail.
    assert manifest["corrected_by_amendment"]
    for c in manifest["corrected_by_amendment"]:
        key = (c["symbol"], c["fiscal_year"], c["fiscal_period"], c["rule_id"])
        assert results[key] == "pass"


def test_cli_writes_files_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert gen.main(["--companies", "3", "--years", "2", "--out", str(out), "--seed", "1",
                     "--errors", "2", "--jobs", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ZAAAA.json", "ZAAAB.json", "ZAAAC.json"]
    manifest = gen.read_manifest(out)
    assert len(manifest["injected"]) == 2
    assert "3 files" in capsys.readouterr().out


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """5 companies x 10 years with one error per rule, loaded and dbt-built once."""
    root = tmp_path_factory.mktemp("gen_e2e")
    seeds = root / "seeds"
    manifest = gen.generate(seeds, 5, 10, seed=3, errors=16, corrections=2)
    return build_warehouse(seeds, root / "financials.duckdb"), manifest


def test_warehouse_tieouts_fail_exactly_the_injected(
        small_warehouse: tuple[Path, dict[str, Any]]) -> None:
    db, manifest = small_warehouse
    assert query(db, "select count(*) from raw.facts")[0][0] == manifest["keys"]
    assert query(db, "select count(*) from raw.filings")[0][0] == manifest["filings"]
    assert query(db, "select count(*) from raw.rejects")[0][0] == 0
    failures = set(query(db, """
        select symbol, fiscal_year, fiscal_period, rule_id
        from marts.tieout_results where status = 'fail'"""))
    assert failures == set(gen.iter_expected_failures(manifest))
    statuses = dict(query(db, "select status, count(*) from marts.tieout_results group by 1"))
    assert set(statuses) <= {"pass", "fail", "skipped"}
    passing = {r for (r,) in query(
        db, "select distinct rule_id from marts.tieout_results where status = 'pass'")}
    # every generated rule passes somewhere; later rules (net income = continuing +
    # discontinued) may pass on the generated statements too, and fail only where injected
    assert set(gen.RULES) <= passing
    for c in manifest["corrected_by_amendment"]:
        status = query(db, """
            select status from marts.tieout_results
            where symbol = ? and fiscal_year = ? and fiscal_period = ? and rule_id = ?""",
                       (c["symbol"], c["fiscal_year"], c["fiscal_period"], c["rule_id"]))
        assert status == [("pass",)]


# --------------------------------------------------------------------------- benchmark


def test_bench_edit_changes_one_unmapped_value(tmp_path: Path) -> None:
    from bench import run as bench

    seeds = tmp_path / "seeds"
    gen.generate(seeds, 4, 2, seed=2, errors=0, corrections=0)
    before = {p.name: orjson.loads(p.read_bytes()) for p in seeds.glob("*.json")}
    name = bench.edit_one_file(seeds, 4)
    after = {p.name: orjson.loads(p.read_bytes()) for p in seeds.glob("*.json")}
    assert name == "ZAAAC.json"
    assert {k for k in before if before[k] != after[k]} == {name}
    changed = [(i, k) for i, (old, new) in enumerate(zip(before[name], after[name], strict=True))
               for k in _body(old) if _body(old)[k] != _body(new)[k]]
    assert len(changed) == 1 and changed[0][0] == 0
    assert changed[0][1] not in _concept_map()


def test_bench_sampler_sees_the_whole_process_tree() -> None:
    """Peak RSS counts children: a shell whose python child holds 300 MB."""
    import subprocess
    import sys

    from bench.run import TreeSampler

    code = "import time; b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); " \
           "time.sleep(1.0)"
    proc = subprocess.Popen(["/bin/sh", "-c", f"{sys.executable} -c \"{code}\"; true"])
    with TreeSampler(proc.pid) as sampler:
        proc.wait()
    assert sampler.peak > 300 * 1024 * 1024
    assert sampler.peak_processes >= 2


def test_bench_report_tables_and_targets() -> None:
    from bench import run as bench

    row = {"companies": 1000, "years": 10, "filings": 11178, "facts": 2_780_514,
           "floor_seconds": 0.4, "load_seconds": 1.5, "load_facts_per_s": 1_853_676.0,
           "load_to_floor": 3.75, "dbt_build_seconds": 30.0, "checks_seconds": 1.2,
           "e2e_seconds": 75.0, "publish_seconds": 0.8, "warehouse_bytes": 330_000_000,
           "peak_rss": 2 * 1024**3, "incremental_seconds": 14.0,
           "tieouts": {"exact": True, "failures": 50, "injected": 50}}
    md = bench.markdown_table([row])
    assert md.splitlines()[2] == ("| 1,000 x 10 | 11,178 | 2.78 M | 0.40 | 1.50 | 1.85 M | 3.8x "
                                  "| 30.0 | 1.20 | 75.0 | 0.8 | 0.33 GB | 2.00 GB | 14.0 "
                                  "| yes (50/50) |")
    met = {t["target"]: t["met"] for t in bench.target_report([row])}
    assert met == {"extract + load >= 1.5 M facts/s": True, "end-to-end <= 60 s": False,
                   "one-file incremental <= 15 s": True, "peak RSS <= 4 GB": None}
    assert bench.parse_sizes("100,1_000, 10000") == [100, 1000, 10000]
    # A failed run's memory says nothing about the target, and the table says it failed.
    failed = {**row, "companies": 10_000, "e2e_ok": False, "peak_rss": 1024**3}
    rss = [t for t in bench.target_report([failed]) if t["target"] == "peak RSS <= 4 GB"]
    assert rss[0]["met"] is None and "failed" in rss[0]["note"]
    assert "75.0 FAILED" in bench.markdown_table([failed])
