"""No-op runs (pipeline/noop.py): a second `make run` with nothing changed skips dbt.

Real `python -m pipeline.cli run` subprocesses on a temp SEEDS_DIR / WAREHOUSE_DB /
DAGSTER_HOME (one module fixture, runs in order): a fresh run builds; a second run
skips `dbt build` and leaves the published file alone (same inode and mtime) and the
marts unchanged; `--full-refresh` rebuilds to the same marts; a changed input value
rebuilds. A changed dbt seed is tested on the decision itself (`noop.decide`) over a
copy of the dbt project, with the real working database of those runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline import config, noop, warehouse
from tests.helpers import make_seeds_dir, query
from tests.ops_support import mart_hashes
from tests.test_cli import cli_env, finish, start_run

pytestmark = pytest.mark.slow
SKIP_LINE = "no new data; dbt build skipped (upstream unchanged)"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = finish(start_run(root, *args))
    assert done.code == 0, done.out + done.err
    return subprocess.CompletedProcess([], done.code, done.out, done.err)


@dataclass
class Runs:
    root: Path
    published: Path
    working: Path
    first: str
    second: str
    first_marts: dict[str, str]
    second_marts: dict[str, str]
    published_stat: tuple[int, int]  # (inode, mtime_ns) after the first run
    second_stat: tuple[int, int]
    second_run_id: str


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def _run_id(root: Path, summary: str) -> str:
    """The full id of the run whose summary this is (the summary shows 8 characters)."""
    from dagster import DagsterInstance

    prefix = summary.split("(Dagster run ", 1)[1].split(";", 1)[0]
    with DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        (run_id,) = [r.run_id for r in instance.get_runs() if r.run_id.startswith(prefix)]
    return run_id


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("noop")
    make_seeds_dir(root)
    published = root / "warehouse" / "financials.duckdb"
    working = config.build_db(published)
    first = run(root).stdout
    first_marts, first_stat = mart_hashes(published), _stat(published)
    second = run(root).stdout
    return Runs(root, published, working, first, second, first_marts, mart_hashes(published),
                first_stat, _stat(published), _run_id(root, second))


def test_first_run_builds(runs: Runs) -> None:
    assert SKIP_LINE not in runs.first
    assert "Files:    1 seen: 1 loaded, 0 unchanged (skipped), 0 rejected" in runs.first
    assert "Published: run " in runs.first


def test_second_run_skips_dbt_and_publish(runs: Runs) -> None:
    assert SKIP_LINE in runs.second
    assert "Files:    1 seen: 0 loaded, 1 unchanged (skipped), 0 rejected" in runs.second
    assert "Published: nothing this run; readers keep the snapshot of run " in runs.second
    # the published file was not rewritten: same inode, same mtime, same marts
    assert runs.second_stat == runs.published_stat
    assert runs.second_marts == runs.first_marts
    # the load still ran and recorded the unchanged file; its checks ran on nothing new
    assert query(runs.working, "select status from raw.load_log order by load_id") == [
        ("loaded",), ("skipped_unchanged",)]
    # the no-op run built nothing: the last dbt build is still the first run's
    (last_build,) = query(runs.working, "select run_id, status from meta.builds "
                                        "order by started_at desc limit 1")
    assert last_build[1] == "success"
    assert last_build[0] not in (runs.second_run_id, "")


def test_raw_checks_read_only_this_runs_loads(runs: Runs) -> None:
    """The no-op run's raw checks evaluated nothing new (after_load_id = 1), yet passed
    the whole-table invariant."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(runs.root / "dagster_home")) as instance:
        entries = instance.all_logs(runs.second_run_id,
                                    of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = {e.dagster_event.event_specific_data.check_name:  # type: ignore[union-attr]
                   e.dagster_event.event_specific_data for e in entries}  # type: ignore[union-attr]
    assert set(evaluations) >= {"raw_facts_unique", "raw_filings_have_numeric_fact",
                                "raw_conservation", "raw_rejects_present"}
    evaluation = evaluations["raw_facts_unique"]
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert evaluation.passed
    assert meta["after_load_id"] == 1
    assert meta["facts_checked"] == 0
    assert meta["facts"] == 1288


def test_full_job_skips_dbt_inside_the_step(runs: Runs) -> None:
    """The schedule, the sensor and the UI run the whole job: the dbt step itself finds
    nothing changed, materializes nothing and says why; Dagster skips the publish."""
    from dagster import DagsterInstance

    from pipeline.definitions import build_definitions
    from pipeline.jobs import WAREHOUSE_JOB_NAME

    env = cli_env(runs.root)
    before = _stat(runs.published)
    with pytest.MonkeyPatch.context() as mp:
        for name in ("SEEDS_DIR", "WAREHOUSE_DB", "DAGSTER_HOME"):
            mp.setenv(name, env[name])
        job = build_definitions().resolve_job_def(WAREHOUSE_JOB_NAME)
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    materialized = {e.asset_key.to_user_string()
                    for e in result.get_asset_materialization_events()}
    assert materialized == {"raw/filings", "raw/facts", "raw/load_log", "raw/rejects",
                            "fetched_filings"}
    observed = [e.asset_observation_data.asset_observation
                for e in result.get_asset_observation_events()]
    assert [(o.asset_key.to_user_string(), o.metadata["dbt_build"].value)
            for o in observed if "dbt_build" in o.metadata] == [
        ("marts/tieout_results", noop.SKIP_REASON)]
    assert _stat(runs.published) == before
    assert mart_hashes(runs.published) == runs.first_marts


def test_changed_seed_triggers_build(runs: Runs, tmp_path: Path) -> None:
    """Appending a concept_map row in a copy of the dbt project changes the decision."""
    project = tmp_path / "dbt_project"
    shutil.copytree(config.DBT_PROJECT_DIR, project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    con = warehouse.connect(runs.working, read_only=True)
    try:
        same = noop.decide(con, project_dir=project, published=runs.published,
                           full_refresh=False, full_selection=True)
        assert same.skip and same.reason == noop.SKIP_REASON
        concept_map = project / "seeds" / "concept_map.csv"
        header = concept_map.read_text().splitlines()[0]
        row = ",".join("x" if c in ("concept", "line_item") else "1"
                       for c in header.split(","))
        with concept_map.open("a") as handle:
            handle.write(row + "\n")
        changed = noop.decide(con, project_dir=project, published=runs.published,
                              full_refresh=False, full_selection=True)
        assert not changed.skip
        assert changed.reason == "dbt project changed (models, seeds, macros or tests)"
        forced = noop.decide(con, project_dir=config.DBT_PROJECT_DIR,
                             published=runs.published, full_refresh=True, full_selection=True)
        assert not forced.skip and forced.reason == "full refresh requested"
    finally:
        con.close()


def test_full_refresh_builds_identical_marts(runs: Runs) -> None:
    out = run(runs.root, "--full-refresh").stdout
    assert SKIP_LINE not in out
    assert "Published: run " in out
    assert _stat(runs.published) != runs.published_stat  # rewritten
    assert mart_hashes(runs.published) == runs.first_marts


def test_changed_input_triggers_build(runs: Runs) -> None:
    seed = runs.root / "seeds" / "TROO.json"
    records = json.loads(seed.read_text())
    assert records[0]["symbol"] == "TROO"
    records[0]["entityregistrantname"] = "TROOPS, Inc. (renamed)"
    seed.write_text(json.dumps(records))
    out = run(runs.root).stdout
    assert SKIP_LINE not in out
    assert "Files:    1 seen: 1 loaded, 0 unchanged (skipped), 0 rejected" in out
    assert "Published: run " in out
    con = duckdb.connect(str(runs.published), read_only=True)
    try:
        (status,) = con.execute("select status from meta.builds order by started_at desc "
                                "limit 1").fetchone() or ("?",)
    finally:
        con.close()
    assert status == "success"
    # and the run after it is a no-op again
    assert SKIP_LINE in run(runs.root).stdout
