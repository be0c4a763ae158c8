"""The run's event log storage (pipeline.dagster_storage): the same SQLite files and rows
as Dagster's default, read back by a plain instance (the UI's), no fsync per commit, and
the WAL folded back into the database when the run's instance closes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
)

from pipeline.dagster_storage import RunSqliteEventLogStorage, fast_event_log


@asset
def numbers() -> int:
    return 3


@asset
def doubled(numbers: int) -> int:
    return numbers * 2


@asset_check(asset=doubled)
def doubled_is_even(doubled: int) -> AssetCheckResult:
    return AssetCheckResult(passed=doubled % 2 == 0, metadata={"value": doubled})


JOB = Definitions(assets=[numbers, doubled], asset_checks=[doubled_is_even],
                  jobs=[define_asset_job("job")]).resolve_job_def("job")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return tmp_path


def test_run_history_reads_back_through_the_default_storage(home: Path) -> None:
    with DagsterInstance.from_config(str(home)) as instance:
        fast_event_log(instance)
        storage = instance.event_log_storage
        assert isinstance(storage, RunSqliteEventLogStorage)
        result = JOB.execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id
        written = [e.event_type for e in result.all_events]
        # the run's connections skip the fsync of each commit
        with storage.run_connection(run_id) as conn:
            assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
    runs = home / "history" / "runs"
    # disposed with the instance: connections closed, WAL checkpointed into the files
    assert not list(runs.glob("*-wal"))
    # a plain instance (what `make dev` opens) reads every event and the check result
    with DagsterInstance.from_config(str(home)) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        records = plain.get_records_for_run(run_id, limit=10_000).records
        stored = [r.event_log_entry.dagster_event.event_type for r in records
                  if r.event_log_entry.dagster_event is not None]
        assert [t for t in stored if t in written] == written
        assert plain.get_run_by_id(run_id).is_success
        [evaluation] = [r.event_log_entry.dagster_event.event_specific_data for r in records
                        if r.event_log_entry.dagster_event_type
                        == DagsterEventType.ASSET_CHECK_EVALUATION]
        assert evaluation.passed and evaluation.metadata["value"].value == 6
        # the cross-run index (asset pages of the UI) has the materializations too
        latest = plain.get_latest_materialization_event(doubled.key)
        assert latest is not None and latest.run_id == run_id
    with sqlite3.connect(runs / "index.db") as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)


def test_other_storages_are_left_alone(home: Path) -> None:
    with DagsterInstance.ephemeral() as instance:
        before = type(instance.event_log_storage)
        assert fast_event_log(instance) is instance
        assert type(instance.event_log_storage) is before
