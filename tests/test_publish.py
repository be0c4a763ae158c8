"""Publish by snapshot (issue 20): readers never block the pipeline, the pipeline never
breaks a reader.

The end-to-end tests run the real `make run` (`python -m pipeline.cli run`) in
subprocesses against a temp SEEDS_DIR / WAREHOUSE_DB / DAGSTER_HOME: one published
warehouse of the seed (module fixture), copied per test. The unit tests call
`pipeline.publish` on small real DuckDB files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline import config, publish, warehouse
from tests.helpers import REPO, TEST_DATA, make_seeds_dir, query
from tests.loader_pause import PAUSED_MARKER
from tests.ops_support import mart_hashes

PY = sys.executable
RUN_TIMEOUT = 900
NEW_FILE = TEST_DATA / "companies" / "ACMW_nested.json"
# The seed: 5 filing versions, 1,288 facts. ACMW_nested.json adds 6 filings and 170
# facts (its six records, none rejected): 11 and 1,458 together.
SEED_COUNTS = (5, 1288)
WITH_NEW_FILE = (11, 1458)
COUNTS_SQL = "select (select count(*) from raw.filings), (select count(*) from raw.facts)"


def cli_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEEDS_DIR", "WAREHOUSE_DB", "WAREHOUSE_KEEP_SNAPSHOTS")}
    env.update({"SEEDS_DIR": str(root / "seeds"),
                "WAREHOUSE_DB": str(root / "warehouse" / "financials.duckdb"),
                "DAGSTER_HOME": str(root / "dagster_home")})
    return env


def make_run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "pipeline.cli", "run"], cwd=root, env=cli_env(root),
                          text=True, capture_output=True, timeout=RUN_TIMEOUT)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_run(db: Path) -> str:
    return query(db, "select run_id from meta.snapshot")[0][0]


@pytest.fixture(scope="module")
def published_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root whose warehouse is the seed, built and published by one `make run`."""
    root = tmp_path_factory.mktemp("published_seed")
    make_seeds_dir(root)
    run = make_run(root)
    assert run.returncode == 0, run.stdout + run.stderr
    return root


@pytest.fixture
def root(published_seed: Path, tmp_path: Path) -> Path:
    """A private copy of the published seed (warehouse, working database, Dagster home)."""
    copy = tmp_path / "root"
    shutil.copytree(published_seed, copy)
    return copy


# --- end to end ---------------------------------------------------------------------------------

READER = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
sql = sys.argv[2]
print(json.dumps(con.execute(sql).fetchone()), flush=True)
sys.stdin.readline()  # the test says when to look again, on the same connection
print(json.dumps(con.execute(sql).fetchone()), flush=True)
print(json.dumps(con.execute("select run_id from meta.snapshot").fetchone()), flush=True)
"""


@pytest.mark.slow
def test_reader_keeps_its_snapshot_while_a_run_publishes(root: Path) -> None:
    db = root / "warehouse" / "financials.duckdb"
    first_run = snapshot_run(db)
    reader = subprocess.Popen([PY, "-c", READER, str(db), COUNTS_SQL], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert tuple(json.loads(reader.stdout.readline())) == SEED_COUNTS
        shutil.copy(NEW_FILE, root / "seeds" / NEW_FILE.name)
        run = make_run(root)  # the reader holds the published file the whole time
        reader.stdin.write("again\n")
        reader.stdin.flush()
        held_counts = tuple(json.loads(reader.stdout.readline()))
        held_run = json.loads(reader.stdout.readline())[0]
    finally:
        reader.kill()
        reader.wait()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is locked" not in run.stderr
    # the open connection still reads its snapshot: the seed, from the first run
    assert held_counts == SEED_COUNTS
    assert held_run == first_run
    # a new connection reads the new snapshot
    new_run = snapshot_run(db)
    assert new_run != first_run
    assert tuple(query(db, COUNTS_SQL)[0]) == WITH_NEW_FILE
    assert query(db, "select count(distinct symbol) from raw.filings")[0][0] == 2
    # the summary says which snapshot was published
    assert f"Published: run {new_run[:8]} at " in run.stdout
    assert "rows: 11 filings, 1,458 facts, 0 rejects in raw;" in run.stdout
    # every published file keeps the DuckDB 1.5 storage format
    assert storage_version(db) == warehouse.STORAGE_COMPATIBILITY + "+"


@pytest.mark.slow
def test_killed_run_publishes_nothing_and_the_next_run_succeeds(root: Path) -> None:
    db = root / "warehouse" / "financials.duckdb"
    before_file, before_marts = digest(db), mart_hashes(db)
    before_run = snapshot_run(db)
    shutil.copy(NEW_FILE, root / "seeds" / NEW_FILE.name)
    paused = subprocess.Popen([PY, "-m", "tests.publish_pause", "2"], cwd=REPO,
                              env=cli_env(root), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    try:
        assert paused.stdout is not None
        deadline = time.monotonic() + RUN_TIMEOUT
        for line in paused.stdout:
            output.append(line)
            if line.startswith(PAUSED_MARKER) or time.monotonic() > deadline:
                break
        assert output and output[-1].startswith(PAUSED_MARKER), "".join(output[-50:])
        # the working database has part of the new file; readers must never see it
        os.killpg(paused.pid, signal.SIGKILL)
    finally:
        if paused.poll() is None:
            os.killpg(paused.pid, signal.SIGKILL)
        paused.wait()
    assert paused.returncode == -signal.SIGKILL
    assert digest(db) == before_file
    assert mart_hashes(db) == before_marts
    assert snapshot_run(db) == before_run
    assert not list(db.parent.glob(".financials.duckdb.publish-*"))
    # the next run recovers the working database and publishes the new file
    run = make_run(root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert tuple(query(db, COUNTS_SQL)[0]) == WITH_NEW_FILE
    assert snapshot_run(db) != before_run
    assert mart_hashes(db) != before_marts


@pytest.mark.slow
def test_a_program_holding_the_working_database_still_stops_a_run(root: Path) -> None:
    """Exit 3 is left for a program holding the working database (which no reader
    should open); the run stops before writing and the published file is untouched."""
    db = root / "warehouse" / "financials.duckdb"
    before = digest(db)
    build = config.build_db(db)
    other = subprocess.Popen(
        [PY, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True)\n"
         "print('open', flush=True); time.sleep(120)", str(build)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        run = make_run(root)
    finally:
        other.kill()
        other.wait()
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"The warehouse file {build} is locked by process {other.pid}" in run.stderr
    assert digest(db) == before


# --- the publish step on small real files --------------------------------------------------------


def storage_version(db: Path) -> str:
    """The storage format a DuckDB file was written with (DuckDB's own catalog): "v1.5.0+"
    for the pinned v1.5.0 format, "v1.0.0+" for a file created without the setting."""
    con = duckdb.connect()
    try:
        con.execute(f"attach {publish._sql_string(str(db))} as probe (read_only)")
        return con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'probe'"
        ).fetchone()[0]
    finally:
        con.close()


def small_working(path: Path, rows: int) -> Path:
    """A working database with the raw tables and one marts table of `rows` rows."""
    with warehouse.session(path) as con:
        warehouse.ensure_raw_schema(con)
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.t as select range as n from range(?)", [rows])
    return path


def test_publish_copies_atomically_with_identity_and_counts(tmp_path: Path) -> None:
    published = tmp_path / "warehouse" / "financials.duckdb"
    working = small_working(config.build_db(published), 3)
    assert working == tmp_path / "warehouse" / ".build" / "financials.duckdb"
    result = publish.publish("run-one", published)
    assert result.row_counts == {"raw.filings": 0, "raw.facts": 0, "raw.rejects": 0,
                                 "marts.t": 3}
    assert result.bytes == published.stat().st_size > 0
    assert query(published, "select count(*) from marts.t") == [(3,)]
    snap = publish.published_snapshot(published)
    assert snap is not None and snap["run_id"] == "run-one"
    assert snap["row_counts"]["marts.t"] == 3
    assert storage_version(published) == warehouse.STORAGE_COMPATIBILITY + "+"
    # a reader's connection survives the next publish with its snapshot
    reader = duckdb.connect(str(published), read_only=True)
    try:
        small_working(working, 7)
        publish.publish("run-two", published)
        assert reader.execute("select count(*) from marts.t").fetchone() == (3,)
        assert reader.execute("select run_id from meta.snapshot").fetchone() == ("run-one",)
    finally:
        reader.close()
    assert query(published, "select count(*) from marts.t") == [(7,)]
    assert sorted(p.name for p in published.parent.iterdir()) == [".build", "financials.duckdb"]


def test_both_methods_publish_the_same_tables(tmp_path: Path) -> None:
    working = small_working(tmp_path / "work.duckdb", 1000)
    copied = publish.publish("r", tmp_path / "a" / "w.duckdb", working, method="copy")
    rewritten = publish.publish("r", tmp_path / "b" / "w.duckdb", working, method="database")
    assert mart_hashes(copied.path) == mart_hashes(rewritten.path)
    assert storage_version(rewritten.path) == warehouse.STORAGE_COMPATIBILITY + "+"
    assert query(rewritten.path, "select count(*) from marts.t") == [(1000,)]


def test_a_killed_publish_leaves_a_temp_file_that_the_next_one_removes(tmp_path: Path) -> None:
    published = tmp_path / "financials.duckdb"
    small_working(config.build_db(published), 2)
    publish.publish("one", published)
    leftover = published.with_name(".financials.duckdb.publish-99999.tmp")
    leftover.write_bytes(b"half a file")
    publish.publish("two", published)
    assert not leftover.exists()
    assert snapshot_run(published) == "two"


def test_keep_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published = tmp_path / "financials.duckdb"
    working = config.build_db(published)
    monkeypatch.setenv("WAREHOUSE_KEEP_SNAPSHOTS", "3")
    for n in range(1, 5):
        small_working(working, n)
        publish.publish(f"run{n}", published)
        time.sleep(1.1)  # snapshot names carry the publish time, to the second
    kept = sorted(publish.snapshot_dir(published).iterdir())
    # the live file (run 4) and the two before it (runs 3 and 2)
    assert [snapshot_run(p) for p in kept] == ["run2", "run3"]
    assert [p.name.split(".")[2] for p in kept] == ["run2", "run3"]
    assert [query(p, "select count(*) from marts.t")[0][0] for p in kept] == [2, 3]
    assert snapshot_run(published) == "run4"
    monkeypatch.setenv("WAREHOUSE_KEEP_SNAPSHOTS", "1")  # back to the default: prune all
    publish.publish("run5", published)
    assert list(publish.snapshot_dir(published).iterdir()) == []
    monkeypatch.setenv("WAREHOUSE_KEEP_SNAPSHOTS", "0")
    with pytest.raises(publish.PublishError, match="keep at least 1"):
        publish.publish("run6", published)


def test_first_run_after_upgrade_starts_from_the_published_file(tmp_path: Path) -> None:
    published = small_working(tmp_path / "financials.duckdb", 4)  # an old installation
    assert publish.ensure_working(published) is True
    working = config.build_db(published)
    assert query(working, "select count(*) from marts.t") == [(4,)]
    assert publish.ensure_working(published) is False  # never overwrites a working db
    os.remove(published)
    assert publish.ensure_working(published) is False


def test_the_load_step_seeds_only_the_configured_working_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published = small_working(tmp_path / "financials.duckdb", 5)
    monkeypatch.setenv("WAREHOUSE_DB", str(published))
    other = tmp_path / "elsewhere.duckdb"
    assert publish.ensure_working_for(other) is False and not other.exists()
    working = config.build_db()
    assert publish.ensure_working_for(working) is True
    assert query(working, "select count(*) from marts.t") == [(5,)]
