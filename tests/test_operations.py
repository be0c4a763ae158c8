"""Operations: the sensor on SEEDS_DIR, the schedule, the run lock, the Dagster instance config.

Fast tests (no warehouse build); the sensor runs over a temp folder with
build_sensor_context, the lock against real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import DagsterInstance, build_sensor_context
from dagster._utils.schedules import cron_string_iterator

from pipeline import config
from pipeline.lock import (
    LockBusy,
    WarehouseLocked,
    check_warehouse_writable,
    lock_path,
    run_lock,
    run_lock_is_free,
)
from pipeline.resources import SeedsResource
from pipeline.schedules import DEFAULT_CRON, build_schedule
from pipeline.sensors import seeds_sensor
from tests.helpers import REPO

PY = sys.executable


def tick(folder: Path, cursor: str | None) -> tuple[list, str | None, str | None]:
    """One sensor evaluation: (run requests, skip message, new cursor)."""
    context = build_sensor_context(cursor=cursor, resources={"seeds": SeedsResource(
        path=str(folder))})
    data = seeds_sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message, data.cursor


# --- sensor ------------------------------------------------------------------------------------


def test_sensor_new_unchanged_edited(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    runs, skip, cursor = tick(folder, None)
    assert runs == [] and "No new or changed files" in skip

    (folder / "ACME.json").write_text('[{"symbol": "ACME", "date": "2023-12-31", "period": "FY"}]')
    (folder / "notes.txt").write_text("not an input file")
    runs, skip, cursor = tick(folder, cursor)
    assert len(runs) == 1 and skip is None
    first_key = runs[0].run_key
    assert first_key.startswith("seeds-")
    assert runs[0].tags["seeds/trigger"] == "ACME.json"

    runs, skip, cursor2 = tick(folder, cursor)
    assert runs == [] and "No new or changed files" in skip and "1 unchanged" in skip

    # touched, same content: the cursor is on content hashes, so still nothing to do
    path = folder / "ACME.json"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    runs, skip, cursor3 = tick(folder, cursor2)
    assert runs == [] and skip

    path.write_text('[{"symbol": "ACME", "date": "2023-12-31", "period": "FY", "assets": 1}]')
    runs, skip, cursor4 = tick(folder, cursor3)
    assert len(runs) == 1 and runs[0].run_key != first_key

    # the same change evaluated again from the old cursor gets the same run key, which
    # Dagster refuses to launch twice
    again, _, _ = tick(folder, cursor3)
    assert again[0].run_key == runs[0].run_key

    # a second new file: one run for it alone
    (folder / "BETA.json").write_text("[]")
    runs, _, cursor5 = tick(folder, cursor4)
    assert len(runs) == 1 and runs[0].tags["seeds/trigger"] == "BETA.json"

    # removing a file requests nothing (raw is append-only history)
    (folder / "BETA.json").unlink()
    runs, skip, _ = tick(folder, cursor5)
    assert runs == [] and "removed since last tick: BETA.json" in skip


def test_sensor_missing_folder(tmp_path: Path) -> None:
    runs, skip, _ = tick(tmp_path / "absent", None)
    assert runs == [] and "does not exist" in skip


def test_sensor_runs_the_warehouse_job() -> None:
    assert seeds_sensor.job_name == "warehouse_job"
    assert seeds_sensor.default_status.value == "RUNNING"


# --- schedule ----------------------------------------------------------------------------------


def next_fire(cron: str, tz: str, after: datetime) -> datetime:
    return next(cron_string_iterator(after.timestamp(), cron, tz)).astimezone(UTC)


def test_schedule_default_is_daily_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_SCHEDULE_CRON", raising=False)
    monkeypatch.delenv("WAREHOUSE_SCHEDULE_TZ", raising=False)
    schedule = build_schedule()
    assert schedule.cron_schedule == DEFAULT_CRON == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status.value == "RUNNING"
    assert schedule.job_name == "warehouse_job"
    after = datetime(2026, 11, 27, 6, 0, 1, tzinfo=UTC)
    assert next_fire(schedule.cron_schedule, schedule.execution_timezone, after) == datetime(
        2026, 11, 28, 6, 0, tzinfo=UTC)


def test_schedule_time_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_SCHEDULE_CRON", "30 2 * * 1-5")
    monkeypatch.setenv("WAREHOUSE_SCHEDULE_TZ", "America/New_York")
    schedule = build_schedule()
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 2 * * 1-5", "America/New_York")
    # Friday 2026-03-06 12:00 UTC -> next weekday 02:30 New York is Monday 2026-03-09, the
    # day after the switch to daylight time (EDT, UTC-4): 06:30 UTC
    after = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert next_fire(schedule.cron_schedule, schedule.execution_timezone, after) == datetime(
        2026, 3, 9, 6, 30, tzinfo=UTC)
    # in winter (EST, UTC-5) the same local time is 07:30 UTC
    after = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    assert next_fire(schedule.cron_schedule, schedule.execution_timezone, after) == datetime(
        2026, 1, 5, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(("var", "value", "message"), [
    ("WAREHOUSE_SCHEDULE_CRON", "every day", "not a cron expression"),
    ("WAREHOUSE_SCHEDULE_TZ", "Mars/Olympus", "not an IANA time zone"),
])
def test_schedule_bad_configuration(monkeypatch: pytest.MonkeyPatch, var: str, value: str,
                                    message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError, match=message):
        build_schedule()


# --- run lock ----------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from pipeline.lock import run_lock
    with run_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([PY, "-c", HOLDER, str(db), str(seconds)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_no_wait_fails_at_once(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold_lock(db, 30)
    try:
        assert not run_lock_is_free(db)
        started = time.monotonic()
        with pytest.raises(LockBusy) as caught, run_lock(db, wait=False):
            pass
        assert time.monotonic() - started < 2
        message = str(caught.value)
        assert str(db) in message and f"pid {holder.pid}" in message and "--no-wait" in message
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead holder's lock: no stale lock
    assert run_lock_is_free(db)
    with run_lock(db, wait=False):
        pass


def test_lock_waits_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold_lock(db, 3)
    said: list[str] = []
    started = time.monotonic()
    try:
        with run_lock(db, on_wait=said.append):
            waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert waited >= 0.5
    assert said[0].startswith("Waiting for another pipeline run") and str(db) in said[0]
    assert said[-1].startswith("Lock acquired")


def test_lock_reentrant_in_process(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_lock(db, wait=False), run_lock(db, wait=False):
        assert not run_lock_is_free(db)
    assert run_lock_is_free(db)
    assert lock_path(db).name == "w.duckdb.run.lock"


def test_lock_timeout(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold_lock(db, 30)
    try:
        with pytest.raises(LockBusy, match="Gave up after"), run_lock(
                db, timeout=0.5, on_wait=lambda _: None):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_duckdb_file_held_by_another_program(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    script = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
              "print('open', flush=True); time.sleep(30)")
    other = subprocess.Popen([PY, "-c", script, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLocked) as caught:
            check_warehouse_writable(db)
        message = str(caught.value)
        assert f"The warehouse file {db} is locked by process {other.pid}" in message
        assert "make sql" in message and "run again" in message
    finally:
        other.kill()
        other.wait()
    check_warehouse_writable(db)  # free again


# --- Dagster instance (DAGSTER_HOME) -------------------------------------------------------------


def test_prepare_home_writes_instance_config(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    out = subprocess.run([PY, "-m", "pipeline.cli", "prepare-home"], cwd=tmp_path, env=env,
                         text=True, capture_output=True, check=True)
    assert out.stdout.strip() == f"DAGSTER_HOME={home}"
    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert settings["telemetry"] == {"enabled": False}
    assert settings["concurrency"]["runs"]["max_concurrent_runs"] == 1
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.telemetry_enabled is False
    # an edited dagster.yaml is the user's: never overwritten
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    subprocess.run([PY, "-m", "pipeline.cli", "prepare-home"], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_default_paths_resolve_against_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SEEDS_DIR", "WAREHOUSE_DB", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir("/")
    assert config.dagster_home() == REPO / "warehouse" / "dagster_home"
    assert config.warehouse_db() == REPO / "warehouse" / "financials.duckdb"
