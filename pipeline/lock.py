"""One writer at a time on the warehouse file.

DuckDB allows one read-write process per database file. Inside Dagster the run queue
(`max_concurrent_runs: 1`, see pipeline/dagster.yaml) keeps runs apart, but `make run`
and `dagster asset materialize` bypass the queue, so every run also takes an advisory
file lock beside the warehouse (`<db>.run.lock`) for its whole duration:

- a second run waits, and says what it waits for (or, with `wait=False`, fails at
  once with a clear message);
- the lock is an `fcntl.flock`, released by the kernel when the holder dies, so a
  killed run never leaves a stale lock behind;
- it is re-entrant within one process (the CLI holds it, then the Dagster run it
  starts in-process takes it again through `WarehouseLockResource`).

Readers never take this lock: runs write the working database (`config.build_db()`)
and publish it over the file readers open (pipeline/publish.py), so a reader of
$WAREHOUSE_DB never blocks a run. A different program holding the *working* database
is not ours to wait for: `check_warehouse_writable` turns DuckDB's "Could not set lock"
into a message naming the file, the process, and what to do.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import duckdb
from dagster import ConfigurableResource, Failure, InitResourceContext
from pydantic import PrivateAttr

from pipeline import config, publish, warehouse

# Exit status for "busy, try again later" (sysexits.h EX_TEMPFAIL).
EXIT_BUSY = 75

_registry_guard = threading.Lock()
_held: dict[Path, tuple[IO[str], int]] = {}


class LockBusy(RuntimeError):
    """Another run holds the warehouse lock and we were told not to wait."""


class WarehouseLocked(RuntimeError):
    """Another program (not a pipeline run) has the DuckDB file open."""


def lock_path(db_path: Path) -> Path:
    """The advisory lock file of a warehouse: `<db>.run.lock` beside it."""
    return db_path.with_name(db_path.name + ".run.lock")


def _describe_holder(path: Path) -> str:
    """What the lock file says about its holder (best effort: it may be mid-write)."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another pipeline run"
    return (f"another pipeline run (pid {info.get('pid')}, started {info.get('started_at')}: "
            f"{info.get('command', '?')})")


def _write_holder(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200],
    }))
    handle.flush()


def _try_flock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def run_lock(
    db_path: str | os.PathLike[str],
    *,
    wait: bool = True,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll_seconds: float = 0.2,
    remind_seconds: float = 60.0,
) -> Iterator[Path]:
    """Hold the warehouse's run lock for the duration of the block.

    `on_wait` receives a human message when the lock is busy (default: stderr), and a
    reminder every `remind_seconds`. Raises LockBusy when busy and `wait` is False, or
    when `timeout` seconds pass.
    """
    db = Path(db_path).resolve()
    path = lock_path(db)
    say = on_wait or (lambda msg: print(msg, file=sys.stderr, flush=True))
    with _registry_guard:
        if path in _held:  # re-entrant within this process
            handle, depth = _held[path]
            _held[path] = (handle, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            _release(path)
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held until _release closes it
    try:
        if not _try_flock(handle):
            holder = _describe_holder(path)
            if not wait:
                raise LockBusy(
                    f"The warehouse {db} is busy: {holder} is writing it. "
                    f"Not waiting (--no-wait); run again when it has finished."
                )
            started = time.monotonic()
            say(f"Waiting for {holder} to finish with {db} "
                f"(lock file {path}; `make run ARGS=--no-wait` exits instead)...")
            last_reminder = started
            while not _try_flock(handle):
                now = time.monotonic()
                if timeout is not None and now - started >= timeout:
                    raise LockBusy(f"Gave up after {timeout:.0f} s waiting for {holder} "
                                   f"to finish with {db}.")
                if now - last_reminder >= remind_seconds:
                    say(f"Still waiting for {_describe_holder(path)} "
                        f"({now - started:.0f} s)...")
                    last_reminder = now
                time.sleep(poll_seconds)
            say(f"Lock acquired after {time.monotonic() - started:.1f} s; running.")
        _write_holder(handle)
    except BaseException:
        handle.close()
        raise
    with _registry_guard:
        _held[path] = (handle, 1)
    try:
        yield path
    finally:
        _release(path)


def _release(path: Path) -> None:
    with _registry_guard:
        handle, depth = _held[path]
        if depth > 1:
            _held[path] = (handle, depth - 1)
            return
        del _held[path]
    try:
        handle.seek(0)
        handle.truncate()
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def is_held_here(db_path: str | os.PathLike[str]) -> bool:
    """True when this process holds the warehouse's run lock."""
    return lock_path(Path(db_path).resolve()) in _held


_PID = re.compile(r"PID (\d+)")


def _process_name(pid: int) -> str:
    try:
        import psutil

        proc = psutil.Process(pid)
        return " ".join(proc.cmdline()[:4]) or proc.name()
    except Exception:  # noqa: BLE001 - naming the process is best effort
        return "unknown program"


def locked_message(db_path: Path, error: BaseException) -> str:
    """The message for DuckDB's "Could not set lock on file": which file, who, what to do."""
    text = str(error)
    match = _PID.search(text)
    who = ""
    if match:
        pid = int(match.group(1))
        who = f" by process {pid} ({_process_name(pid)})"
    return (
        f"The warehouse file {db_path} is locked{who}. DuckDB allows one writer, and no "
        f"writer while another program has the file open. Close that program "
        f"(quit `make sql` / the DuckDB CLI, or call .close() on the notebook's "
        f"connection), then run again."
    )


def is_lock_conflict(error: BaseException) -> bool:
    return "Could not set lock on file" in str(error) or "Conflicting lock" in str(error)


def check_warehouse_writable(db_path: str | os.PathLike[str]) -> None:
    """Fail fast, with a useful message, when another program holds the DuckDB file.

    Opens and closes the file read-write; does nothing when the file does not exist
    yet (the loader creates it with the right storage version).
    """
    db = Path(db_path)
    if not db.exists():
        return
    try:
        con = warehouse.connect(db)
    except duckdb.Error as error:
        if is_lock_conflict(error):
            raise WarehouseLocked(locked_message(db, error)) from error
        raise
    con.close()


def holder_info(db_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The lock file's description of the current holder ({} when free or unknown)."""
    try:
        return json.loads(lock_path(Path(db_path).resolve()).read_text() or "{}")
    except (OSError, ValueError):
        return {}


# --- Dagster: the same lock for runs launched from the UI, a schedule or a sensor ----------

class WarehouseLockResource(ConfigurableResource):
    """Holds the warehouse's run lock from the start of a run to its end.

    `database` is the published file ($WAREHOUSE_DB): the lock file is named after it,
    and the run writes its working database (`config.build_db(database)`), seeded from
    the published file on an installation that has no working database yet.

    With the in-process executor a run initializes its resources once, before the
    first step, so the lock covers the load, dbt and the checks together. Runs launched
    from the UI therefore wait for a `make run` in progress (and vice versa) instead of
    failing with DuckDB's "Could not set lock on file".
    """

    database: str
    wait: bool = True
    timeout_seconds: float | None = None

    _stack: ExitStack = PrivateAttr(default_factory=ExitStack)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        log = context.log
        say = (lambda msg: log.warning(msg)) if log is not None else None
        db = Path(self.database)
        try:
            self._stack.enter_context(
                run_lock(db, wait=self.wait, timeout=self.timeout_seconds, on_wait=say)
            )
            # the run writes the working database; readers hold the published one
            publish.ensure_working(db)
            check_warehouse_writable(config.build_db(db))
        except (LockBusy, WarehouseLocked) as error:
            self._stack.close()
            raise Failure(description=str(error)) from error

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._stack.close()


def run_lock_is_free(db_path: str | os.PathLike[str]) -> bool:
    """True when no pipeline run holds the warehouse (probe without taking the lock)."""
    path = lock_path(Path(db_path).resolve())
    if path in _held:
        return False
    if not path.exists():
        return True
    with open(path) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return True
