"""`make run` end to end: the summary, idempotency, two runs at once, failures.

(`dagster asset materialize --select '*'` is exercised by tests/test_dagster_checks.py.)

Real subprocesses against a temp SEEDS_DIR / WAREHOUSE_DB / DAGSTER_HOME (never the
repository's warehouse). One pair of concurrent runs on a fresh warehouse covers three
claims at once: the first prints the fresh summary, the second waits for it and then
runs again ("run twice"), and afterwards the warehouse equals a warehouse built by one
load + `dbt build` (the session's `seed_warehouse`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, Definitions, RunsFilter

from pipeline import config, warehouse
from pipeline.checks.tieouts import read_rules
from pipeline.lock import holder_info
from tests.helpers import make_seeds_dir, query
from tests.ops_support import mart_hashes, raw_versions

PY = sys.executable
RUN_TIMEOUT = 900
pytestmark = pytest.mark.slow


def cli_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEEDS_DIR", "WAREHOUSE_DB")}
    env.update({"SEEDS_DIR": str(root / "seeds"),
                "WAREHOUSE_DB": str(root / "warehouse" / "financials.duckdb"),
                "DAGSTER_HOME": str(root / "dagster_home")})
    return env


def start_run(root: Path, *args: str) -> subprocess.Popen[str]:
    # cwd outside the repository: paths must not depend on it
    return subprocess.Popen([PY, "-m", "pipeline.cli", "run", *args], cwd=root,
                            env=cli_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@dataclass
class Finished:
    code: int
    out: str
    err: str


def finish(proc: subprocess.Popen[str]) -> Finished:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"make run did not finish in {RUN_TIMEOUT} s:\n{out}\n{err}")
    return Finished(proc.returncode, out, err)


@dataclass
class TwoRuns:
    root: Path
    db: Path
    first: Finished
    second: Finished


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """Two `make run` at once on a fresh warehouse; the second starts while the first
    holds the lock (so which one waits is deterministic)."""
    root = tmp_path_factory.mktemp("make_run")
    make_seeds_dir(root)
    db = root / "warehouse" / "financials.duckdb"
    first = start_run(root)
    deadline = time.monotonic() + RUN_TIMEOUT
    while holder_info(db).get("pid") != first.pid:
        if first.poll() is not None or time.monotonic() > deadline:
            result = finish(first)
            pytest.fail(f"the first run never held the lock:\n{result.out}\n{result.err}")
        time.sleep(0.1)
    second = start_run(root)
    return TwoRuns(root, db, finish(first), finish(second))


def test_first_run_prints_the_summary(two_runs: TwoRuns) -> None:
    run = two_runs.first
    assert run.code == 0, run.out + run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("make run: OK in ")
    assert f"  warehouse: {two_runs.db}" in lines
    assert "Files:    1 seen: 1 loaded, 0 unchanged (skipped), 0 rejected" in lines
    assert ("Filings:  5 loaded this run (1,288 facts); 5 filing versions, 1,288 facts in raw"
            in lines)
    assert "Rejected: 0 records this run; 0 in raw.rejects" in lines
    # one line per rule, in the rules seed's order, with the warehouse's counts
    counts = {r[0]: r[1:] for r in query(two_runs.db, """
        select rule_id, any_value(severity), count(*) filter (where status = 'pass'),
               count(*) filter (where status = 'fail'), count(*) filter (where status = 'skipped')
        from marts.tieout_results group by rule_id""")}
    rules = read_rules()
    start = lines.index(next(line for line in lines if line.startswith("  rule_id ")))
    table = lines[start + 1: start + 1 + len(rules)]
    for rule, line in zip(rules, table, strict=True):
        severity, passed, failed, skipped = counts[rule.rule_id]
        assert line.split() == [rule.rule_id, severity, str(passed), str(failed), str(skipped)]
    balance = table[0].split()
    assert balance[0] == "bs_assets_equal_liabilities_and_equity" and int(balance[3]) >= 1
    # tie-out failures are findings: the run is still OK and exits 0
    assert any(line.startswith("Asset checks:") and "ERROR" in line for line in lines)
    assert "Pipeline failures:" not in run.out


def test_second_run_waited_then_changed_nothing(two_runs: TwoRuns,
                                                seed_warehouse: Path) -> None:
    run = two_runs.second
    assert run.code == 0, run.out + run.err
    assert "Waiting for another pipeline run" in run.err
    assert "Lock acquired after" in run.err
    assert "Files:    1 seen: 0 loaded, 1 unchanged (skipped), 0 rejected" in run.out
    assert "Filings:  0 loaded this run (0 facts); 5 filing versions, 1,288 facts in raw" in run.out
    # the warehouse after two runs equals one load + one dbt build
    assert raw_versions(two_runs.db) == raw_versions(seed_warehouse)
    assert mart_hashes(two_runs.db) == mart_hashes(seed_warehouse)
    assert len(mart_hashes(two_runs.db)) >= 10


def test_runs_are_in_the_dagster_instance(two_runs: TwoRuns) -> None:
    home = two_runs.root / "dagster_home"
    assert (home / "dagster.yaml").exists()
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(RunsFilter(tags={"warehouse/launched_by": "make run"}))
        assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
        assert {r.job_name for r in runs} == {"warehouse_job"}


def test_no_wait_and_sql_while_a_run_holds_the_lock(two_runs: TwoRuns) -> None:
    holder = subprocess.Popen(
        [PY, "-c", "import sys, time; from pipeline.lock import run_lock\n"
         "with run_lock(sys.argv[1]):\n print('held', flush=True); time.sleep(60)",
         str(two_runs.db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        run = finish(start_run(two_runs.root, "--no-wait"))
        assert time.monotonic() - started < 60
        # `make sql` reads the published snapshot while a run writes the working database
        sql = subprocess.run([PY, "-m", "pipeline.cli", "sql", "-csv", "-c",
                              "select count(*) as filings from raw.filings"],
                             cwd=two_runs.root, env=cli_env(two_runs.root), text=True,
                             capture_output=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert run.code == 75
    assert f"The warehouse {two_runs.db} is busy" in run.err and "--no-wait" in run.err
    assert run.out == ""
    assert sql.returncode == 0, sql.stderr
    assert sql.stdout.split() == ["filings", "5"]


def test_duckdb_file_held_by_another_program(two_runs: TwoRuns) -> None:
    """A reader of the published file no longer stops a run (tests/test_publish.py);
    a program holding the working database (which no reader should open) still does."""
    build = config.build_db(two_runs.db)
    other = subprocess.Popen(
        [PY, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True)\n"
         "print('open', flush=True); time.sleep(60)", str(build)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        run = finish(start_run(two_runs.root))
    finally:
        other.kill()
        other.wait()
    assert run.code == 3
    assert f"The warehouse file {build} is locked by process {other.pid}" in run.err
    assert "make sql" in run.err


def test_missing_seeds_dir(tmp_path: Path) -> None:
    run = finish(start_run(tmp_path))
    assert run.code == 2
    assert f"SEEDS_DIR {tmp_path / 'seeds'} does not exist" in run.err
    assert not (tmp_path / "warehouse" / "financials.duckdb").exists()


def test_make_sql_opens_the_warehouse_read_only(two_runs: TwoRuns) -> None:
    env = cli_env(two_runs.root)
    proc = subprocess.run(
        [PY, "-m", "pipeline.cli", "sql", "-csv", "-c",
         "select count(*) as filings from raw.filings"],
        cwd=two_runs.root, env=env, text=True, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["filings", "5"]
    proc = subprocess.run(
        [PY, "-m", "pipeline.cli", "sql", "-c", "create table marts.x as select 1"],
        cwd=two_runs.root, env=env, text=True, capture_output=True, timeout=120)
    assert "read-only" in (proc.stdout + proc.stderr).lower()
    assert query(two_runs.db, "select count(*) from information_schema.tables "
                 "where table_name = 'x'")[0][0] == 0


# --- a dbt failure in the middle of a build ---------------------------------------------------


def failing_project(root: Path) -> Path:
    """A copy of the dbt project whose `int_filing_versions` fails at run time.

    The real project is untouched. The copy has the same node ids and asset keys, so it
    slots into the definitions in place of the real dbt assets.
    """
    copy = root / "dbt_project"
    shutil.copytree(config.DBT_PROJECT_DIR, copy,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = copy / "models" / "intermediate" / "int_filing_versions.sql"
    model.write_text("select error('injected failure for the reliability test') as filing_id\n")
    # node ids are unchanged, so the real manifest describes the copy (no `dbt parse`)
    (copy / "target").mkdir()
    for name in ("manifest.json", "partial_parse.msgpack"):
        source = config.DBT_PROJECT_DIR / "target" / name
        if source.exists():
            shutil.copy(source, copy / "target" / name)
    return copy


def test_dbt_failure_mid_build_keeps_previous_marts(
    two_runs: TwoRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make run` (in-process) with a model failing halfway: exit 1, the failure named,
    and the marts of the previous run still queryable and unchanged."""
    from dagster_dbt import DbtProject

    import pipeline.definitions as definitions
    from pipeline import cli
    from pipeline.assets.dbt import build_dbt_assets

    before = mart_hashes(two_runs.db)
    project = failing_project(tmp_path)
    broken = build_dbt_assets(DbtProject(project_dir=project, profiles_dir=project))
    real_build = definitions.build_definitions

    def build_failing() -> Definitions:
        # the project passed to @dbt_assets decides where `dbt build` runs
        return real_build(dbt=broken)

    for key, value in cli_env(two_runs.root).items():
        if key in ("SEEDS_DIR", "WAREHOUSE_DB", "DAGSTER_HOME"):
            monkeypatch.setenv(key, value)
    # cli.main() writes these into os.environ for dbt: restore them afterwards
    for key, default in (("WAREHOUSE_MEMORY_LIMIT", warehouse.memory_limit()),
                         ("WAREHOUSE_THREADS", str(warehouse.threads())),
                         ("DBT_SEND_ANONYMOUS_USAGE_STATS", "False"), ("DO_NOT_TRACK", "1"),
                         ("DAGSTER_DISABLE_TELEMETRY", "1")):
        monkeypatch.setenv(key, os.environ.get(key, default))
    monkeypatch.setattr(definitions, "build_definitions", build_failing)

    code = cli.main(["run"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert out.startswith("make run: FAILED in ")
    assert "Pipeline failures:" in out
    assert "dbt_models:" in out and "injected failure for the reliability test" in out
    assert "Log of this run (dbt and Dagster):" in out
    assert "Published: nothing this run; readers keep the snapshot of run " in out
    # the previous marts are all still there, unchanged
    assert mart_hashes(two_runs.db) == before
    with DagsterInstance.from_config(str(two_runs.root / "dagster_home")) as instance:
        (last, *_) = instance.get_runs(limit=1)
        assert last.status == DagsterRunStatus.FAILURE
