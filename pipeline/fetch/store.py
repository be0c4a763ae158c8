"""Where downloads land: safe file names, atomic writes, the validator state file.

The sensor and the loader read `SEEDS_DIR/*.json` at any moment, so a download is
streamed to a hidden temp file in the same directory (`.fetch-*.part`, never `*.json`),
fsynced, and `os.replace`d over the target only once the body is complete and valid.
The ETag / Last-Modified validators live in `SEEDS_DIR/.fetch_state` (no `.json`
suffix, so the loader never takes it for input), written the same atomic way.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FILE = ".fetch_state"
LOCK_FILE = ".fetch_lock"
TEMP_PREFIX = ".fetch-"
TEMP_SUFFIX = ".part"
STALE_TEMP_SECONDS = 3600.0

# Tickers: letters, digits and the punctuation exchanges use (BRK.B, BRK-B, ^GSPC, X=F).
_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9.\-_^=]{0,31}")
_CIK = re.compile(r"(?:CIK)?0*(\d{1,10})")


class UnsafeName(ValueError):
    """A symbol or CIK that cannot be turned into a file name inside SEEDS_DIR."""


def normalize_symbol(symbol: str) -> str:
    """Upper-cased ticker; anything that could leave SEEDS_DIR is refused.

    Upper-casing also keeps `aapl` and `AAPL` from racing for one file on
    case-insensitive file systems.
    """
    s = symbol.strip().upper()
    if "/" in s or "\\" in s or ".." in s or "\x00" in s or not _SYMBOL.fullmatch(s):
        raise UnsafeName(f"symbol {symbol!r} is not a plain ticker (letters, digits, . - _ ^ =)")
    return s


def normalize_cik(cik: str) -> str:
    """The SEC's ten-digit zero-padded CIK (`320193`, `CIK0000320193` -> `0000320193`)."""
    m = _CIK.fullmatch(cik.strip().upper())
    if not m or int(m.group(1)) == 0 or len(m.group(1)) > 10:
        raise UnsafeName(f"CIK {cik!r} is not a number of at most 10 digits")
    return m.group(1).zfill(10)


def vendor_file_name(symbol: str, period: str) -> str:
    return f"vendor-{normalize_symbol(symbol)}-{period}.json"


def sec_file_name(cik: str) -> str:
    return f"sec-CIK{normalize_cik(cik)}.json"


def fsds_file_name(quarter: str) -> str:
    """`2009q3` -> `sec-fsds-2009q3.zip` (the loader reads quarters in name order)."""
    if not re.fullmatch(r"\d{4}q[1-4]", quarter):
        raise UnsafeName(f"quarter {quarter!r} is not like 2009q3")
    return f"sec-fsds-{quarter}.zip"


COMPANYFACTS_ZIP_NAME = "sec-companyfacts.zip"


def target_path(seeds_dir: Path, name: str) -> Path:
    """`seeds_dir / name`, asserting it stays a direct child (defence in depth)."""
    path = seeds_dir / name
    if path.parent.resolve() != seeds_dir.resolve() or path.name != name:
        raise UnsafeName(f"file name {name!r} would leave {seeds_dir}")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def new_temp(directory: Path) -> tuple[int, Path]:
    """An exclusive temp file beside the target (same file system, so rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    return fd, Path(name)


def fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the dir)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, target: Path) -> None:
    """Atomically put a complete, fsynced temp file in place of `target`."""
    with temp.open("rb+") as f:
        os.fsync(f.fileno())
    os.chmod(temp, 0o644)  # mkstemp makes 0600; the loader may run as another user
    os.replace(temp, target)
    fsync_dir(target.parent)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    fd, temp = new_temp(target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        publish(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def remove_stale_temps(directory: Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Temp files a killed run left behind (only called while holding the lock)."""
    removed = 0
    cutoff = time.time() - older_than
    for p in directory.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()
                removed += 1
    return removed


class FetchLocked(RuntimeError):
    """Another fetch is writing into the same SEEDS_DIR."""


@contextlib.contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """One fetch per SEEDS_DIR at a time (a schedule and a manual run could overlap)."""
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FetchLocked(f"another fetch is running in {directory}") from None
        yield
    finally:
        os.close(fd)


@dataclass
class Validators:
    """What the server said about the version we hold, for the next conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    size: int | None = None
    fetched_at: str | None = None
    # The file's mtime when recorded: with the size unchanged it vouches for the bytes
    # without re-hashing (a 1.3 GB companyfacts.zip takes seconds to hash).
    mtime_ns: int | None = None


class StateFile:
    """`SEEDS_DIR/.fetch_state`: validators per downloaded file name. Never holds URLs."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE
        self.files: dict[str, Validators] = {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            for name, v in (doc.get("files") or {}).items():
                if isinstance(v, dict):
                    fields = {k: v.get(k) for k in Validators.__annotations__}
                    self.files[name] = Validators(**fields)
        except (OSError, ValueError, TypeError, AttributeError):
            self.files = {}  # missing or damaged state only costs one full download

    def usable(self, name: str, target: Path) -> Validators | None:
        """Validators only when the file they describe is still there, byte for byte.

        A 304 for a file the user deleted or edited would leave SEEDS_DIR without the
        server's version, so then the request goes out unconditional. Same size and
        mtime as recorded count as the same bytes (as the sensor and `make` assume);
        anything else is hashed.
        """
        v = self.files.get(name)
        if v is None or not target.is_file():
            return None
        try:
            stat = target.stat()
            if v.size is not None and stat.st_size != v.size:
                return None
            if v.mtime_ns is not None and v.size is not None and stat.st_mtime_ns == v.mtime_ns:
                return v
            if v.sha256 is not None and sha256_file(target) != v.sha256:
                return None
        except OSError:
            return None
        return v

    def record(self, name: str, v: Validators) -> None:
        self.files[name] = v
        self.save()

    def save(self) -> None:
        doc: dict[str, Any] = {"version": 1,
                               "files": {k: vars(v) for k, v in sorted(self.files.items())}}
        write_bytes_atomic(self.path, json.dumps(doc, indent=1, sort_keys=True).encode())
