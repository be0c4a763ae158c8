"""Helpers shared by the operations tests: content hashes of the marts, raw versions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from tests.helpers import query


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def mart_hashes(db: Path) -> dict[str, str]:
    """Content hash of every marts table (timestamp columns aside), order-independent."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        hashes = {}
        for table in tables:
            cols = [c for c, kind in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table]).fetchall() if not kind.startswith("TIMESTAMP")]
            select = ", ".join(quote(c) for c in cols)
            rows = con.execute(
                f"select {select} from marts.{quote(table)} order by all"  # noqa: S608 - quoted catalog names
            ).fetchall()
            hashes[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return hashes
    finally:
        con.close()


def raw_versions(db: Path) -> tuple[list[str], int, int]:
    """The filing versions, fact count and reject count of raw."""
    ids = [r[0] for r in query(db, "select filing_id from raw.filings order by 1")]
    facts = query(db, "select count(*) from raw.facts")[0][0]
    rejects = query(db, "select count(*) from raw.rejects")[0][0]
    return ids, facts, rejects
