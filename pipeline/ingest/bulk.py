"""The SEC's bulk `companyfacts.zip`: every filer's company-facts JSON in one archive.

Read member by member, never unpacked to disk: each member is one company-facts
document and goes through the same path as a `*.json` file in SEEDS_DIR (the SEC reader,
sha skip, one raw.load_log row), under the name `<zip name>/<member name>`. So a new
`companyfacts.zip` reloads only the companies whose JSON changed, and one bad member is
one rejected "file", never the whole archive.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pipeline.ingest.fsds import is_fsds


def is_bulk(path: Path) -> bool:
    """A zip of JSON members that is not a data-set zip (no sub.txt/num.txt)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False  # not judged here: the data-set reader rejects it with the reason
    return not is_fsds(names) and any(n.lower().endswith(".json") for n in names)


def members(path: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(member name, bytes or None, why unreadable or None) for every JSON member, in
    name order, one member in memory at a time."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(i.filename for i in zf.infolist()
                       if not i.is_dir() and i.filename.lower().endswith(".json"))
        for name in names:
            try:
                yield name, zf.read(name), None
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError,
                    NotImplementedError) as exc:
                yield name, None, f"unreadable zip member ({type(exc).__name__}: {exc})"


def json_bytes(path: Path) -> int:
    """Uncompressed bytes of the JSON members (what parsing them costs scales with)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist()
                       if not i.is_dir() and i.filename.lower().endswith(".json"))
    except (zipfile.BadZipFile, OSError):
        return 0
