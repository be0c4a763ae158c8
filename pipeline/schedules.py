"""A daily run of the whole warehouse, running by default under `make dev`.

The time is configuration, not code: WAREHOUSE_SCHEDULE_CRON (default `0 6 * * *`)
in WAREHOUSE_SCHEDULE_TZ (default `UTC`), read when the code location loads.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import DefaultScheduleStatus, ScheduleDefinition
from dagster._utils.schedules import is_valid_cron_string

from pipeline.jobs import warehouse_job

DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "UTC"
SCHEDULE_NAME = "daily_warehouse_schedule"


def schedule_cron() -> str:
    cron = (os.environ.get("WAREHOUSE_SCHEDULE_CRON") or DEFAULT_CRON).strip()
    if not is_valid_cron_string(cron):
        raise ValueError(f"WAREHOUSE_SCHEDULE_CRON={cron!r} is not a cron expression "
                         f"(five fields, e.g. {DEFAULT_CRON!r} = daily at 06:00).")
    return cron


def schedule_timezone() -> str:
    tz = (os.environ.get("WAREHOUSE_SCHEDULE_TZ") or DEFAULT_TIMEZONE).strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"WAREHOUSE_SCHEDULE_TZ={tz!r} is not an IANA time zone "
                         f"(e.g. 'UTC', 'America/New_York').") from error
    return tz


def build_schedule() -> ScheduleDefinition:
    cron, tz = schedule_cron(), schedule_timezone()
    return ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=warehouse_job,
        cron_schedule=cron,
        execution_timezone=tz,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(f"The whole warehouse at `{cron}` ({tz}); set WAREHOUSE_SCHEDULE_CRON / "
                     "WAREHOUSE_SCHEDULE_TZ to change it."),
    )
