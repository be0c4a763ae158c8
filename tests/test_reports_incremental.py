"""The incremental site: only changed pages are rewritten, and it equals a full build.

A copy of the seed warehouse gets two more companies, TRO2 and TRO3: TROO's rows in
every mart the reports read, under another symbol. Then, one build after another: an
unchanged rebuild writes no page; a change to TRO2's 2023 total assets rewrites TRO2's
page only (and the index), which shows the new value; TRO3 deleted from the marts
loses its page; a build killed half-way followed by a revert of the change still ends
at what a full build writes; a template change rebuilds every page. After each step
the site is compared, file by file, with a from-scratch build of the same marts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.reports import build, pages, site, templates
from pipeline.reports.paths import COMPANIES_DIR, MANIFEST, company_filename
from pipeline.warehouse import session
from tests.browser import parse

MARTS = ("companies", "income_statement", "balance_sheet", "cash_flow_statement",
         "statement_lines", "financial_ratios", "tieout_results", "filing_quality")
STAMP = "2026-01-01 00:00 UTC"  # the index's time stamp, fixed so sites compare byte for byte
SYMBOLS = ("TROO", "TRO2", "TRO3")
TROO_2023_TOTAL_ASSETS = 70345000  # the seed's figure (tests/test_reports.py)


@pytest.fixture()
def db(seed_warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "financials.duckdb"
    shutil.copyfile(seed_warehouse, copy)
    with session(copy) as con:
        for mart in MARTS:
            [(kind,)] = con.execute("select table_type from information_schema.tables where "
                                    "table_schema = 'marts' and table_name = ?", [mart]).fetchall()
            if kind == "VIEW":  # a copy of its rows, so the test can edit them
                con.execute(f"create table marts.{mart}_rows as select * from marts.{mart}")  # noqa: S608
                con.execute(f"drop view marts.{mart}")
                con.execute(f"alter table marts.{mart}_rows rename to {mart}")
            for symbol in SYMBOLS[1:]:
                con.execute(f"insert into marts.{mart} select * replace (? as symbol) "  # noqa: S608
                            f"from marts.{mart} where symbol = 'TROO'", [symbol])
    return copy


def execute(db: Path, sql: str, params: list[object] | None = None) -> None:
    with session(db) as con:
        con.execute(sql, params or [])


def page(out: Path, symbol: str) -> Path:
    return out / COMPANIES_DIR / company_filename("vendor", symbol)


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / COMPANIES_DIR).iterdir()}


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_equals_full_build(db: Path, out: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    result = build(db, fresh, full=True, built_at=STAMP)
    assert result.full
    assert files(out) == files(fresh)


def total_assets_2023(html_path: Path) -> str:
    dom = parse(html_path.read_text(encoding="utf-8"))
    return dom.find("td", data_line="total_assets", data_year="2023").text()


def counts(result: site.BuildResult) -> tuple[bool, int, int, int]:
    return (result.full, result.pages_rendered, result.pages_unchanged, result.pages_removed)


def test_incremental_site(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports"
    first = build(db, out, built_at=STAMP)
    assert counts(first) == (True, 3, 0, 0)
    assert (first.companies, first.pages, first.tieout_rows) == (3, 4, 375)

    # nothing changed: no page written, the index rewritten
    before = mtimes(out)
    again = build(db, out, built_at=STAMP)
    assert counts(again) == (False, 0, 3, 0)
    assert mtimes(out) == before
    assert again.tieout_rows == 375  # the whole warehouse's, not only the pages rendered

    # one company's data changes: that page only
    execute(db, "update marts.balance_sheet set total_assets = 12345678 where symbol = 'TRO2' "
                "and fiscal_year = 2023 and fiscal_period = 'FY'")
    changed = build(db, out, built_at=STAMP)
    assert counts(changed) == (False, 1, 2, 0)
    after = mtimes(out)
    assert {name for name in after if after[name] != before[name]} == {page(out, "TRO2").name}
    assert total_assets_2023(page(out, "TRO2")) == "12,345,678"
    assert total_assets_2023(page(out, "TROO")) == "70,345,000"
    assert_equals_full_build(db, out, tmp_path)

    # a company gone from the marts: its page is removed, the index no longer links it
    for mart in MARTS:
        execute(db, f"delete from marts.{mart} where symbol = 'TRO3'")  # noqa: S608
    removed = build(db, out, built_at=STAMP)
    assert counts(removed) == (False, 0, 2, 1)
    assert not page(out, "TRO3").exists()
    assert sorted(p.name for p in (out / COMPANIES_DIR).iterdir()) == sorted(
        company_filename("vendor", s) for s in ("TROO", "TRO2"))
    assert company_filename("vendor", "TRO3") not in (out / "index.html").read_text("utf-8")
    assert_equals_full_build(db, out, tmp_path)

    # a build killed after writing one of two changed pages, then the first change
    # reverted: the page written by the killed build is not trusted, so it is rendered again
    execute(db, "update marts.balance_sheet set total_assets = total_assets + 1 "
                "where symbol in ('TROO', 'TRO2') and fiscal_year = 2023 and fiscal_period = 'FY'")
    real = pages.company_context
    calls: list[str] = []

    def dies_on_second_page(company: object, data: object) -> object:
        calls.append("x")
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(company, data)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "company_context", dies_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        build(db, out, built_at=STAMP)
    monkeypatch.setattr(pages, "company_context", real)
    assert total_assets_2023(page(out, "TRO2")) == "12,345,679"  # written before the kill
    execute(db, "update marts.balance_sheet set total_assets = total_assets - 1 "
                "where symbol in ('TROO', 'TRO2') and fiscal_year = 2023 and fiscal_period = 'FY'")
    recovered = build(db, out, built_at=STAMP)
    assert counts(recovered) == (False, 2, 0, 0)
    assert total_assets_2023(page(out, "TRO2")) == "12,345,678"
    assert not [p for p in (out / COMPANIES_DIR).iterdir() if p.name.startswith(".")]
    assert_equals_full_build(db, out, tmp_path)

    # a stray file, a deleted page and a corrupt manifest
    (out / COMPANIES_DIR / "stale.html").write_text("old", encoding="utf-8")
    page(out, "TROO").unlink()
    repaired = build(db, out, built_at=STAMP)
    assert counts(repaired) == (False, 1, 1, 1)
    assert_equals_full_build(db, out, tmp_path)
    (out / MANIFEST).write_text("{not json", encoding="utf-8")
    assert counts(build(db, out, built_at=STAMP)) == (True, 2, 0, 0)

    # a template change (the stylesheet every page includes) rebuilds every page
    package = tmp_path / "package"
    shutil.copytree(site.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    css = package / "templates" / "style.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* restyled */\n", encoding="utf-8")
    monkeypatch.setattr(site, "PACKAGE_DIR", package)
    monkeypatch.setattr(templates, "TEMPLATES_DIR", package / "templates")
    templates.environment.cache_clear()
    try:
        restyled = build(db, out, built_at=STAMP)
        assert counts(restyled) == (True, 2, 0, 0)
        assert "/* restyled */" in page(out, "TROO").read_text(encoding="utf-8")
        assert counts(build(db, out, built_at=STAMP)) == (False, 0, 2, 0)
    finally:
        templates.environment.cache_clear()


def test_rule_text_change_rebuilds_all(db: Path, tmp_path: Path) -> None:
    """The rule descriptions every page shows are part of the renderer's version."""
    out = tmp_path / "reports"
    build(db, out, built_at=STAMP)
    execute(db, "update reference.tieout_rules set description = 'Assets balance.' "
                "where rule_id = 'bs_assets_equal_liabilities_and_equity'")
    result = build(db, out, built_at=STAMP)
    assert counts(result) == (True, 3, 0, 0)
    assert "Assets balance." in page(out, "TRO3").read_text(encoding="utf-8")
