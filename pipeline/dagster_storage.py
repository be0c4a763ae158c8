"""Cheaper writes of Dagster's SQLite event log for the `make run` process.

Dagster's default instance storage (SQLite under `$DAGSTER_HOME/history/`) opens a new
SQLAlchemy engine and SQLite connection for every write and closes it after one
transaction. In WAL mode each commit is an fsync, and each close of the last
connection to a file checkpoints the WAL into the database (more fsyncs). A run of the
whole graph writes ~1,700 events (one per planned asset and check, then one to three
per materialization or check result), so on two cores shared with other jobs the
commits and closes alone took 30 of a 75 s first run (cProfile, load average 4; 7 s of
35 s when idle): more than `dbt build` itself.

`fast_event_log(instance)` gives the run's instance an event log storage with the same
files, tables and rows (the UI, `dagster` commands and other processes read them as
before) that keeps one engine per shard open for the run, and sets
`synchronous=NORMAL` on its connections: in WAL mode a commit then writes the log
without an fsync (a crash of the process loses nothing; a power failure can lose the
last transactions of the run history, never corrupt it). The connections close, and
SQLite checkpoints, when the instance is disposed at the end of the run.

Only an instance on the default SQLite storage is changed; any other storage
(Postgres, a custom class in dagster.yaml) is left as configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import DagsterInstance
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import Engine, create_engine, event


class RunSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one open engine per shard and no fsync per commit."""

    _engines: dict[str, Engine]

    def _engine(self, shard: str) -> Engine:
        engines = self.__dict__.setdefault("_engines", {})
        engine = engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                # a small pool on one thread (writes hold self._db_lock); connections
                # stay open, so SQLite does not checkpoint after every transaction
                pool_size=1, max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                              "check_same_thread": False},
            )
            event.listen(engine, "connect", _no_fsync_per_commit)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:  # same contract as the parent's
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self.__dict__.pop("_engines", {}).values():
                engine.dispose()  # closes the connections: SQLite checkpoints the WAL


def _no_fsync_per_commit(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def fast_event_log(instance: DagsterInstance) -> DagsterInstance:
    """Switch `instance`'s default SQLite event log to `RunSqliteEventLogStorage`.

    The storage object keeps its state (base folder, initialized shards, watchers);
    only its connection handling changes. Returns the instance.
    """
    storage = instance.event_log_storage
    if type(storage) is SqliteEventLogStorage:
        storage.__class__ = RunSqliteEventLogStorage
    return instance
