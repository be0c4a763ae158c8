"""A sensor that runs the warehouse when a file in SEEDS_DIR is added or changed.

The cursor maps each `*.json` file (non-recursive, as the loader reads them) to its
SHA-256, so a touched but unchanged file requests nothing. Size and mtime are kept
beside the hash only to avoid re-hashing unchanged large files on every tick. The
run key is a hash of the changed files' names and contents: the same change never
requests two runs, even if the cursor is lost. Removing a file requests nothing (raw
is append-only history), it only updates the cursor.
"""


import hashlib
import json
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipeline.jobs import warehouse_job
from pipeline.resources import SeedsResource

SENSOR_NAME = "seeds_sensor"
MINIMUM_INTERVAL_SECONDS = 30
_CHUNK = 1 << 20

Snapshot = dict[str, dict[str, object]]  # file name -> {"sha256", "size", "mtime_ns"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot(folder: Path, previous: Snapshot | None = None) -> Snapshot:
    """Content hashes of the folder's *.json and *.zip files, re-hashing only what looks
    changed."""
    previous = previous or {}
    state: Snapshot = {}
    for path in sorted(p for p in folder.iterdir()  # what the loader reads (+ data-set zips)
                       if p.name.endswith((".json", ".zip")) and p.is_file()):
        stat = path.stat()
        known = previous.get(path.name)
        if known and known.get("size") == stat.st_size and known.get(
                "mtime_ns") == stat.st_mtime_ns:
            digest = str(known["sha256"])
        else:
            digest = file_sha256(path)
        state[path.name] = {"sha256": digest, "size": stat.st_size,
                            "mtime_ns": stat.st_mtime_ns}
    return state


def parse_cursor(cursor: str | None) -> Snapshot:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def changed_files(previous: Snapshot, current: Snapshot) -> list[str]:
    """Files added or whose content changed since the cursor."""
    return [name for name, entry in current.items()
            if (previous.get(name) or {}).get("sha256") != entry["sha256"]]


def run_key_for(current: Snapshot, changed: list[str]) -> str:
    text = "\n".join(f"{name}\t{current[name]['sha256']}" for name in sorted(changed))
    return "seeds-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@sensor(
    name=SENSOR_NAME,
    job=warehouse_job,
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=("Runs the warehouse when a *.json file in SEEDS_DIR is added or its content "
                 "changes (cursor: SHA-256 per file; run key: the change)."),
)
def seeds_sensor(
    context: SensorEvaluationContext, seeds: SeedsResource
) -> SensorResult | SkipReason:
    folder = seeds.directory()
    if not folder.is_dir():
        return SkipReason(f"SEEDS_DIR {folder} does not exist or is not a folder.")
    previous = parse_cursor(context.cursor)
    current = snapshot(folder, previous)
    cursor = json.dumps(current, sort_keys=True)
    changed = changed_files(previous, current)
    if not changed:
        removed = sorted(set(previous) - set(current))
        reason = (f"No new or changed files in {folder} ({len(current)} unchanged"
                  + (f"; removed since last tick: {', '.join(removed)}" if removed else "")
                  + ").")
        if removed or cursor != (context.cursor or json.dumps({}, sort_keys=True)):
            return SensorResult(skip_reason=reason, cursor=cursor)
        return SkipReason(reason)
    shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10
                                       else "")
    request = RunRequest(
        run_key=run_key_for(current, changed),
        tags={"seeds/changed_files": str(len(changed)), "seeds/trigger": shown[:200]},
    )
    context.log.info(f"{len(changed)} new or changed file(s) in {folder}: {shown}")
    return SensorResult(run_requests=[request], cursor=cursor)
