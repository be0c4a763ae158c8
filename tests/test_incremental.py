"""Incremental dbt builds give the marts a full refresh gives (issue 17).

One temp warehouse goes through a sequence of small loads, each built the way the
Dagster dbt asset builds (`noop.decide` -> `meta.builds` 'running' -> `dbt build`, with
`--full-refresh` only when the decision says so -> 'success'):

0. TROO (vendor) and SNOW (SEC company facts): no previous build, a full build;
1. a new file (AAPL company facts);
2. a changed file (TROO's FY 2021 assets edited);
3. an amendment (a new file with a later, amended FY 2022 version of TROO);
4. the changed file reverted to its earlier content;
5. a crash: a changed TROO fails half-way through the incremental build (an injected
   error in int_statement_lines, after its delete), then the same build again;
6. a concept map edit (a seed of the dbt project): an automatic full rebuild.

After every step a copy of the warehouse is rebuilt with `dbt build --full-refresh` and
the digest of every table of the `marts` schema (marts and quality tables) and of the
intermediate tables must be equal. Steps 1-5 must really be incremental: the decision
says so, int_changed_companies lists only the touched companies, and a row of an
untouched company, altered by hand before the build, is still altered after it.

Real loader, real dbt, over a copy of the dbt project (step 6 edits its seed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline import config, noop, warehouse
from pipeline.ingest.load import load_seeds
from tests.helpers import SEED_FILE, TEST_DATA, make_seeds_dir, query
from tests.ops_support import quote

SNOW = TEST_DATA / "sec" / "SNOW_companyfacts.json"
AAPL = TEST_DATA / "sec" / "AAPL_CIK0000320193.json"
# tables whose content is the build's bookkeeping, not data: they differ by design
BOOKKEEPING = {"int_changed_companies", "int_changed_filings"}
FAULT_MODEL = "int_statement_lines"
# `dbt build` without the data tests: they read the marts, they do not change them
BUILD = ["build", "--exclude-resource-type", "test"]

ORIGINAL_2021_ASSETS = Decimal(70_346_000)  # seeds/TROO.json, record 2 (FY 2021) `assets`
EDITED_2021_ASSETS = Decimal(99_000_000)
ORIGINAL_2022_ASSETS = Decimal(69_686_000)  # record 1 (FY 2022)
AMENDED_2022_ASSETS = Decimal(69_700_000)
CRASH_2023_ASSETS = Decimal(71_000_000)  # record 0 (FY 2023) edited in the crash step


def digests(db: Path) -> dict[str, str]:
    """Order-independent content hash of every table of `intermediate` and `marts`."""
    con = warehouse.connect(db, read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('intermediate', 'marts') order by all").fetchall()
        out = {}
        for schema, table in tables:
            if table in BOOKKEEPING:
                continue
            cols = [c for c, kind in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table]).fetchall() if not kind.startswith("TIMESTAMP")]
            select = ", ".join(quote(c) for c in cols)
            rows = con.execute(
                f"select {select} from {quote(schema)}.{quote(table)} order by all"  # noqa: S608 - catalog names
            ).fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def _close_dbt_database() -> None:
    """dbt-duckdb keeps its database open for the process: close it, so this process
    can open the file again with the warehouse's own settings."""
    import gc

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
        DuckDBConnectionManager._ENV = None
    gc.collect()


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str = ""


def dbt(project: Path, db: Path, *args: str, env: dict[str, str] | None = None) -> Done:
    """dbt in this process (dbtRunner): no interpreter and dbt start-up per invocation."""
    from dbt.cli.main import dbtRunner

    cmd = [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
    changes = {**warehouse.dbt_env(db), **(env or {})}
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        result = dbtRunner().invoke(cmd)
    finally:
        _close_dbt_database()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Done(0 if result.success else 1, repr(result.exception or ""))


@dataclass
class Step:
    decision: noop.Decision
    returncode: int
    incremental: dict[str, str] = field(default_factory=dict)
    full: dict[str, str] = field(default_factory=dict)
    changed: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def build(project: Path, db: Path, *, fault: str | None = None) -> tuple[noop.Decision, int]:
    """What the dbt asset does (without dbt's data tests: they change nothing)."""
    run_id = uuid.uuid4().hex
    with warehouse.session(db) as con:
        decision = noop.decide(con, project_dir=project, published=db.with_suffix(".pub"),
                               full_refresh=False, full_selection=True)
        assert not decision.skip
        noop.record_start(con, run_id, decision, True)
    args = [*BUILD, "--full-refresh"] if decision.full_refresh else BUILD
    proc = dbt(project, db, *args,
               env={"WAREHOUSE_FAIL_INCREMENTAL_MODEL": fault} if fault else None)
    if proc.returncode == 0:
        with warehouse.session(db) as con:
            noop.record_success(con, run_id)
    elif not fault:
        raise AssertionError(f"dbt failed:\n{proc.stdout}\n{proc.stderr}")
    return decision, proc.returncode


def full_refresh_digests(project: Path, db: Path) -> dict[str, str]:
    """The same inputs built from scratch: `--full-refresh` on a copy of the warehouse.

    The copy is built at the warehouse's own path (the incremental one set aside, then
    put back): another path would change dbt's profile, and so cost a full parse.
    """
    kept = db.with_name("incremental.duckdb")
    with warehouse.session(db) as con:
        con.execute("checkpoint")
    shutil.copy(db, kept)
    try:
        proc = dbt(project, db, *BUILD, "--full-refresh")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return digests(db)
    finally:
        db.with_suffix(".duckdb.wal").unlink(missing_ok=True)
        os.replace(kept, db)


def troo_assets(db: Path) -> dict[int, tuple[Decimal, str]]:
    return {year: (value, filing) for year, value, filing in query(
        db, "select fiscal_year, total_assets, filing_id from marts.balance_sheet "
            "where symbol = 'TROO' order by 1")}


def write_troo(seeds: Path, edit: dict[int, int], name: str = SEED_FILE.name,
               only: int | None = None, amendment: bool = False) -> None:
    """seeds/TROO.json with `assets` of some records (by index) edited."""
    records = json.loads(SEED_FILE.read_text())
    for index, assets in edit.items():
        records[index]["assets"] = assets
        if amendment:
            records[index]["amendmentflag"] = "true"
    if only is not None:
        records = [records[only]]
    (seeds / name).write_text(json.dumps(records))


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Step]:
    root = tmp_path_factory.mktemp("incremental")
    project = root / "dbt_project"
    shutil.copytree(config.DBT_PROJECT_DIR, project,
                    ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    seeds = make_seeds_dir(root, [SEED_FILE, SNOW])
    db = root / "w.duckdb"
    out: dict[str, Step] = {}

    def step(name: str, *, fault: str | None = None, tamper: bool = False) -> Step:
        load_seeds(seeds, db)
        original, currency = None, None
        if tamper:  # a row of an untouched company (SNOW), altered behind dbt's back
            [(original, currency)] = query(
                db, "select max(fiscal_year), arg_max(currency, fiscal_year) "
                    "from marts.balance_sheet where symbol = 'SNOW'")
            with warehouse.session(db) as con:
                con.execute("update marts.balance_sheet set currency = 'XXX' "
                            "where symbol = 'SNOW' and fiscal_year = ?", [original])
        decision, code = build(project, db, fault=fault)
        result = Step(decision, code, changed=query(
            db, "select source, symbol from intermediate.int_changed_companies order by all"))
        if fault:
            result.values["status"] = query(
                db, "select status from meta.builds order by started_at desc limit 1")[0][0]
            result.values["reported"] = query(
                db, "select value from intermediate.int_statement_lines__reported where "
                    "symbol = 'TROO' and fiscal_year = 2023 and line_item = 'total_assets'")
            result.values["assets"] = troo_assets(db)
            out[name] = result
            return result
        if tamper:
            result.values["tampered"] = query(
                db, "select currency from marts.balance_sheet "
                    "where symbol = 'SNOW' and fiscal_year = ?", [original])[0][0]
            with warehouse.session(db) as con:  # put it back: the digests compare the rest
                con.execute("update marts.balance_sheet set currency = ? "
                            "where symbol = 'SNOW' and fiscal_year = ?", [currency, original])
        result.values["assets"] = troo_assets(db)
        result.incremental = digests(db)
        result.full = full_refresh_digests(project, db)
        out[name] = result
        return result

    step("first build")
    shutil.copy(AAPL, seeds / AAPL.name)
    step("new file", tamper=True)
    write_troo(seeds, {2: int(EDITED_2021_ASSETS)})
    step("changed file")
    write_troo(seeds, {1: int(AMENDED_2022_ASSETS)}, name="TROO_amendment.json", only=1,
               amendment=True)
    step("amendment")
    shutil.copy(SEED_FILE, seeds / SEED_FILE.name)
    step("reverted file")
    write_troo(seeds, {0: int(CRASH_2023_ASSETS)})
    step("crash", fault=FAULT_MODEL)
    step("after crash")
    concept_map = project / "seeds" / "concept_map.csv"
    lines = concept_map.read_text().splitlines(keepends=True)
    concept_map.write_text("".join(
        line for line in lines if not line.startswith("assets,balance_sheet,total_assets,")))
    step("concept map edit")
    return out


INCREMENTAL_STEPS = ["new file", "changed file", "amendment", "reverted file", "after crash"]
COMPARED_STEPS = ["first build", *INCREMENTAL_STEPS, "concept map edit"]


@pytest.mark.parametrize("name", COMPARED_STEPS)
def test_incremental_equals_full_refresh(steps: dict[str, Step], name: str) -> None:
    result = steps[name]
    assert result.incremental.keys() == result.full.keys()
    assert len(result.incremental) >= 40  # every marts and intermediate table
    differing = sorted(t for t in result.full if result.incremental[t] != result.full[t])
    assert differing == []


@pytest.mark.parametrize("name", INCREMENTAL_STEPS)
def test_the_build_was_incremental(steps: dict[str, Step], name: str) -> None:
    decision = steps[name].decision
    assert not decision.full_refresh, decision.refresh_reason
    assert decision.refresh_reason.startswith("incremental")


def test_only_the_touched_companies_are_recomputed(steps: dict[str, Step]) -> None:
    # every source of a touched symbol (a vendor quarter reads its symbol's SEC facts)
    assert steps["new file"].changed == [("sec", "AAPL")]
    for name in ("changed file", "amendment", "reverted file", "crash", "after crash"):
        assert steps[name].changed == [("vendor", "TROO")], name
    # a row of an untouched company was not rewritten (it kept a hand-made change)
    assert steps["new file"].values["tampered"] == "XXX"


def test_full_builds_when_there_is_no_build_or_the_project_changed(
        steps: dict[str, Step]) -> None:
    first, edited = steps["first build"].decision, steps["concept map edit"].decision
    assert (first.full_refresh, first.refresh_reason) == (
        True, "no previous dbt build recorded")
    assert (edited.full_refresh, edited.refresh_reason) == (
        True, "dbt project changed since the last successful build")


def test_each_step_changed_the_marts_it_should(steps: dict[str, Step]) -> None:
    def assets(name: str) -> dict[int, Decimal]:
        return {year: value for year, (value, _) in steps[name].values["assets"].items()}

    assert assets("first build")[2021] == ORIGINAL_2021_ASSETS
    assert assets("changed file")[2021] == EDITED_2021_ASSETS
    assert assets("amendment")[2022] == AMENDED_2022_ASSETS
    assert assets("reverted file")[2021] == ORIGINAL_2021_ASSETS
    assert assets("reverted file")[2022] == AMENDED_2022_ASSETS  # the amendment stays
    assert assets("after crash")[2023] == CRASH_2023_ASSETS
    # without the `assets` mapping TROO reports no total assets (no derivation gives it)
    assert set(assets("concept map edit").values()) == {None}
    assert steps["concept map edit"].incremental != steps["after crash"].incremental


def test_a_crashed_build_is_recomputed_by_the_next(steps: dict[str, Step]) -> None:
    crash = steps["crash"]
    assert crash.returncode != 0
    assert crash.values["status"] == "running"  # never counted as a success
    # half-way: the models before the failing one committed, the marts did not change
    assert crash.values["reported"] == [(CRASH_2023_ASSETS,)]
    assert crash.values["assets"][2023][0] == Decimal(70_345_000)
    assert not steps["after crash"].decision.full_refresh
    assert steps["after crash"].values["assets"][2023][0] == CRASH_2023_ASSETS

