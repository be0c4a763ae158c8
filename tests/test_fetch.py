"""Fetching (issues 10 and 15) against a real HTTP server on 127.0.0.1 that the tests start.

The server plays both the vendor API and the SEC: it serves the fixtures in
tests/data/fetch/vendor and tests/data/sec with ETag / Last-Modified, and misbehaves on
purpose for some symbols and CIKs (429 + Retry-After, 500, slow, truncated bodies).
One Dagster materialization (module fixture `first_run`) covers the mixed case; the
other tests are small and targeted. The SEC's bulk zips (data-set quarters,
companyfacts.zip) and company_tickers.json are served from `FakeApi.bulk`, set per
test. Timeouts and backoffs are tiny: the file runs in a few seconds. Nothing here talks
to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import random
import re
import socket
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from dagster import AssetCheckSeverity, DagsterInstance, materialize, serialize_value

from pipeline.assets.fetch import CHECK_NAME, FetcherResource, fetched_filings, fetcher_resource
from pipeline.fetch import FetchSettings, run_fetch, settings_from_env
from pipeline.fetch.http import Downloader, parse_retry_after
from pipeline.fetch.ratelimit import RateLimiter
from pipeline.fetch.redact import Redactor
from pipeline.fetch.settings import parse_quarters
from pipeline.fetch.store import (
    STATE_FILE,
    UnsafeName,
    normalize_cik,
    normalize_symbol,
    remove_stale_temps,
    write_bytes_atomic,
)
from pipeline.ingest.load import load_seeds
from pipeline.resources import SeedsResource
from tests.helpers import TEST_DATA, query

VENDOR_FIXTURES = TEST_DATA / "fetch" / "vendor"
SEC_FIXTURES = {
    "0001640147": TEST_DATA / "sec" / "SNOW_companyfacts.json",  # served gzip-compressed
    "0001997711": TEST_DATA / "sec" / "LPA_companyfacts_ifrs.json",  # served plain
}
KEY_ENV = "FETCH_TEST_VENDOR_KEY"
KEY = "s3cr3t+K/ey=Zq81xv"  # needs URL-encoding: checks every encoded form is redacted
KEY_FORMS = (KEY, quote(KEY, safe=""), quote_plus(KEY))
UA = "Financials Warehouse Tests tests@example.com"
SLOW_SLEEP = 1.0
LAST_MODIFIED = format_datetime(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), usegmt=True)


# -- the fake vendor API + SEC ------------------------------------------------------------


@dataclass
class Seen:
    at: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0


@dataclass
class FakeApi:
    requests: list[Seen] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    send_validators: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    # /bulk/<name>: the SEC's bulk zips, set per test (bytes, or (bytes, declared length))
    bulk: dict[str, bytes | tuple[bytes, int]] = field(default_factory=dict)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.counts.clear()
            self.bulk.clear()
        self.send_validators = True

    def seen(self, prefix: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def handle(self, h: Handler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        seen = Seen(time.monotonic(), parts.path, query, dict(h.headers.items()))
        with self.lock:
            self.requests.append(seen)
        h.seen = seen
        if parts.path == "/vendor/as-reported":
            self.vendor(h, query)
        elif parts.path.startswith("/sec/"):
            self.sec(h, parts.path.removeprefix("/sec/"))
        elif parts.path.startswith("/bulk/"):
            self.bulk_file(h, parts.path.removeprefix("/bulk/"))
        elif parts.path.startswith("/sec-moved/"):
            h.reply(301, b"", {"Location": "/sec/" + parts.path.removeprefix("/sec-moved/")})
        elif parts.path.startswith("/sec-away/"):
            h.reply(302, b"", {"Location": "http://localhost:1/sec/x.json"})
        else:
            h.reply(404, b"not found")

    def vendor(self, h: Handler, q: dict[str, str]) -> None:
        key = q.get("apikey") or h.headers.get("X-Api-Key")
        sym, period = q.get("symbol", ""), q.get("period", "")
        with self.lock:
            self.counts[f"{sym}-{period}"] += 1
            n = self.counts[f"{sym}-{period}"]
        if key != KEY:
            # Like real APIs, echo what was sent: the client must redact it.
            return h.reply(401, f'{{"Error Message": "Invalid API KEY {key}"}}'.encode())
        if sym == "ECHO":
            return h.reply(403, f"forbidden: apikey={quote_plus(key)} symbol={sym}".encode())
        if sym == "SLOW":
            time.sleep(SLOW_SLEEP)
            return h.reply(200, b"[]")
        if sym == "TRUNC":
            body = (VENDOR_FIXTURES / "AAA-annual.json").read_bytes()
            if period == "annual":  # Content-Length larger than what is sent
                return h.raw(200, body[:150], {"Content-Length": str(len(body))})
            # chunked, connection closed before the last chunk
            h.raw(200, b"", {"Transfer-Encoding": "chunked"})
            h.wfile.write(b"%x\r\n%s\r\n" % (100, body[:100]))
            return None
        if sym == "WAIT":
            return h.reply(503, b"maintenance", {"Retry-After": "3600"})
        if sym == "FLAKY" and n <= 2:
            return h.reply(500, b"internal error")
        if sym == "LIMITED" and n == 1:
            if period == "annual":
                return h.reply(429, b"slow down", {"Retry-After": "1"})
            when = datetime.now(UTC) + timedelta(seconds=1)
            return h.reply(429, b"slow down", {"Retry-After": format_datetime(when, True)})
        path = VENDOR_FIXTURES / f"{sym}-{period}.json"
        if not path.is_file():
            return h.reply(404, b'{"Error Message": "unknown symbol"}')
        return self.serve(h, path.read_bytes())

    def sec(self, h: Handler, name: str) -> None:
        if not h.headers.get("User-Agent", "").strip():
            return h.reply(403, b"Undeclared Automated Tool")
        m = re.fullmatch(r"CIK(\d{10})\.json", name)
        cik = m.group(1) if m else ""
        if cik == "0000000009":  # gzip stream cut, no Content-Length, connection closed
            body = gzip.compress(SEC_FIXTURES["0001997711"].read_bytes())
            return h.raw(200, body[: len(body) // 2], {"Content-Encoding": "gzip"})
        if cik not in SEC_FIXTURES:
            return h.reply(404, b"NoSuchKey")
        return self.serve(h, SEC_FIXTURES[cik].read_bytes(), gzip_ok=cik == "0001640147")

    def bulk_file(self, h: Handler, name: str) -> None:
        if not h.headers.get("User-Agent", "").strip():
            return h.reply(403, b"Undeclared Automated Tool")
        with self.lock:
            body = self.bulk.get(name)
        if body is None:
            return h.reply(404, b"NoSuchKey")
        if isinstance(body, tuple):  # cut short: fewer bytes than Content-Length says
            return h.raw(200, body[0], {"Content-Length": str(body[1])})
        return self.serve(h, body)

    def serve(self, h: Handler, body: bytes, gzip_ok: bool = False) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED} if self.send_validators else {}
        inm, ims = h.headers.get("If-None-Match"), h.headers.get("If-Modified-Since")
        if self.send_validators and (inm == etag or (inm is None and ims == LAST_MODIFIED)):
            return h.reply(304, b"", headers)
        if gzip_ok and "gzip" in h.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return h.reply(200, body, {"Content-Type": "application/json", **headers})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    seen: Seen

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.close_connection = True
        try:
            self.server.api.handle(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def raw(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.seen.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.raw(status, body, {**(headers or {}), "Content-Length": str(len(body))})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeApi]]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.api = FakeApi()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", srv.api
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def api(server: tuple[str, FakeApi]) -> FakeApi:
    server[1].reset()
    return server[1]


@contextlib.contextmanager
def vendor_key() -> Iterator[None]:
    os.environ[KEY_ENV] = KEY
    try:
        yield
    finally:
        os.environ.pop(KEY_ENV, None)


def fast_settings(base: str, **overrides: Any) -> dict[str, Any]:
    """Resource/settings fields pointing at the local server, with tiny timeouts."""
    fields: dict[str, Any] = dict(
        enabled=True, vendor_api_url=f"{base}/vendor/as-reported", vendor_api_key_env=KEY_ENV,
        sec_api_url=f"{base}/sec", sec_user_agent=UA, timeout_seconds=0.25,
        attempt_deadline_seconds=5.0, max_attempts=3, backoff_base_seconds=0.01,
        backoff_max_seconds=0.05, max_retry_after_seconds=5.0, vendor_max_rps=100.0)
    fields.update(overrides)
    return fields


def settings(base: str, **overrides: Any) -> FetchSettings:
    fields = fast_settings(base, **overrides)
    return FetchSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


# -- capturing everything a run could leak into -------------------------------------------


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def capture_everything() -> Iterator[dict[str, str]]:
    """Python logging (root and dagster), sys.stdout/stderr and file descriptors 1 and 2."""
    out: dict[str, str] = {}
    handler = _ListHandler()
    loggers = [logging.getLogger(), logging.getLogger("dagster"),
               logging.getLogger("pipeline.fetch")]
    old_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    sink = tempfile.TemporaryFile()
    text_sink = io.TextIOWrapper(sink, encoding="utf-8", write_through=True)
    saved_fds = [os.dup(1), os.dup(2)]
    saved_streams = sys.stdout, sys.stderr
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(sink.fileno(), 1)
    os.dup2(sink.fileno(), 2)
    sys.stdout = sys.stderr = text_sink
    try:
        yield out
    finally:
        text_sink.flush()
        sys.stdout, sys.stderr = saved_streams
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in saved_fds:
            os.close(fd)
        for lg, level in zip(loggers, old_levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        sink.seek(0)
        out["output"] = sink.read().decode("utf-8", "replace")
        out["logs"] = "\n".join(handler.lines)
        text_sink.detach()
        sink.close()


def run_asset(fetcher: FetcherResource, seeds_dir: Path, *, raise_on_error: bool = True
              ) -> tuple[Any, str]:
    """Materialize `fetched_filings`; returns the result and every stored event as text."""
    instance = DagsterInstance.ephemeral()
    result = materialize([fetched_filings], instance=instance, raise_on_error=raise_on_error,
                         resources={"fetcher": fetcher,
                                    "seeds": SeedsResource(path=str(seeds_dir))})
    events = "\n".join(serialize_value(e) for e in instance.all_logs(result.run_id))
    return result, events


def downloads(result: Any) -> dict[tuple[str, str], dict[str, Any]]:
    meta = result.asset_materializations_for_node("fetched_filings")[0].metadata
    return {(d["source"], d["target"]): d for d in meta["downloads"].data}


# -- the mixed run ------------------------------------------------------------------------

SYMBOLS = ["AAA", "bbb", "SLOW", "TRUNC", "FLAKY", "LIMITED", "NOPE", "ECHO", "../evil", "a/b"]
CIKS = ["1640147", "CIK0001997711", "9", "8"]


@dataclass
class FirstRun:
    seeds: Path
    result: Any
    events: str
    captured: dict[str, str]
    requests: list[Seen]
    elapsed: float

    @property
    def outcomes(self) -> dict[tuple[str, str], dict[str, Any]]:
        return downloads(self.result)


@pytest.fixture(scope="module")
def first_run(server: tuple[str, FakeApi], tmp_path_factory: pytest.TempPathFactory
              ) -> FirstRun:
    base, api = server
    api.reset()
    seeds = tmp_path_factory.mktemp("fetch_first") / "seeds"
    fetcher = FetcherResource(**fast_settings(base, symbols=SYMBOLS, ciks=CIKS))
    start = time.monotonic()
    with vendor_key(), capture_everything() as captured:
        result, events = run_asset(fetcher, seeds)
    return FirstRun(seeds, result, events, captured, list(api.requests),
                    time.monotonic() - start)


def test_statuses_of_the_mixed_run(first_run: FirstRun) -> None:
    got = {k: (v["status"], v["attempts"]) for k, v in first_run.outcomes.items()}
    assert got == {
        ("vendor", "AAA annual"): ("downloaded", 1),
        ("vendor", "AAA quarter"): ("downloaded", 1),
        ("vendor", "BBB annual"): ("downloaded", 1),  # lower-case symbol normalized
        ("vendor", "BBB quarter"): ("empty", 1),  # [] is not written
        ("vendor", "SLOW annual"): ("failed", 0),
        ("vendor", "SLOW quarter"): ("failed", 0),
        ("vendor", "TRUNC annual"): ("failed", 0),
        ("vendor", "TRUNC quarter"): ("failed", 0),
        ("vendor", "FLAKY annual"): ("downloaded", 3),  # 500, 500, 200
        ("vendor", "FLAKY quarter"): ("downloaded", 3),
        ("vendor", "LIMITED annual"): ("downloaded", 2),  # 429, 200
        ("vendor", "LIMITED quarter"): ("downloaded", 2),
        ("vendor", "NOPE annual"): ("failed", 0),
        ("vendor", "NOPE quarter"): ("failed", 0),
        ("vendor", "ECHO annual"): ("failed", 0),
        ("vendor", "ECHO quarter"): ("failed", 0),
        ("vendor", "../evil annual"): ("failed", 0),
        ("vendor", "../evil quarter"): ("failed", 0),
        ("vendor", "a/b annual"): ("failed", 0),
        ("vendor", "a/b quarter"): ("failed", 0),
        ("sec", "CIK 0001640147"): ("downloaded", 1),
        ("sec", "CIK 0001997711"): ("downloaded", 1),
        ("sec", "CIK 0000000009"): ("failed", 0),
        ("sec", "CIK 0000000008"): ("failed", 0),
    }
    assert first_run.elapsed < 15


def test_every_fixture_lands_complete_and_nothing_else(first_run: FirstRun) -> None:
    expected = {
        "vendor-AAA-annual.json": VENDOR_FIXTURES / "AAA-annual.json",
        "vendor-AAA-quarter.json": VENDOR_FIXTURES / "AAA-quarter.json",
        "vendor-BBB-annual.json": VENDOR_FIXTURES / "BBB-annual.json",
        "vendor-FLAKY-annual.json": VENDOR_FIXTURES / "FLAKY-annual.json",
        "vendor-FLAKY-quarter.json": VENDOR_FIXTURES / "FLAKY-quarter.json",
        "vendor-LIMITED-annual.json": VENDOR_FIXTURES / "LIMITED-annual.json",
        "vendor-LIMITED-quarter.json": VENDOR_FIXTURES / "LIMITED-quarter.json",
        "sec-CIK0001640147.json": SEC_FIXTURES["0001640147"],  # arrived gzip-compressed
        "sec-CIK0001997711.json": SEC_FIXTURES["0001997711"],
    }
    landed = sorted(p.name for p in first_run.seeds.glob("*.json"))
    assert landed == sorted(expected)
    for name, fixture in expected.items():
        assert (first_run.seeds / name).read_bytes() == fixture.read_bytes(), name
    # besides the downloads only the state and lock files; no temp file left behind
    others = sorted(p.name for p in first_run.seeds.iterdir() if not p.name.endswith(".json"))
    assert others == [".fetch_lock", STATE_FILE]
    assert not list(first_run.seeds.parent.rglob("*evil*"))
    assert not (first_run.seeds / "a").exists()


def test_truncated_and_slow_bodies_fail_after_retries(first_run: FirstRun) -> None:
    o = first_run.outcomes
    assert "truncated body: 150 of 593 bytes" in o[("vendor", "TRUNC annual")]["error"]
    assert "connection broken" in o[("vendor", "TRUNC quarter")]["error"]  # chunked cut
    assert "gzip stream incomplete" in o[("sec", "CIK 0000000009")]["error"]
    assert "timed out" in o[("vendor", "SLOW annual")]["error"]
    for k in ("TRUNC annual", "TRUNC quarter", "SLOW annual"):
        assert o[("vendor", k)]["error"].endswith("(after 3 attempts)")
    counts = Counter(
        (r.query.get("symbol") or r.path, r.query.get("period")) for r in first_run.requests)
    assert counts[("TRUNC", "annual")] == counts[("SLOW", "quarter")] == 3
    assert counts[("/sec/CIK0000000009.json", None)] == 3


def test_no_retry_on_other_4xx_and_errors_name_the_target(first_run: FirstRun) -> None:
    counts = Counter((r.query.get("symbol") or r.path) for r in first_run.requests)
    assert counts["NOPE"] == counts["ECHO"] == 2  # one request per period, no retry
    assert counts["/sec/CIK0000000008.json"] == 1
    assert not any("evil" in r.path or "evil" in str(r.query) for r in first_run.requests)
    meta = first_run.result.asset_materializations_for_node("fetched_filings")[0].metadata
    failures = {(f["source"], f["target"]): f["error"] for f in meta["failures"].data}
    assert failures[("vendor", "NOPE annual")].startswith("HTTP 404")
    assert failures[("sec", "CIK 0000000008")].startswith("HTTP 404")
    assert "not a plain ticker" in failures[("vendor", "../evil annual")]
    assert meta["files_failed"].value == 14 and meta["files_downloaded"].value == 9
    # the run's error log names each symbol / CIK that failed
    for target in ("vendor SLOW annual", "vendor TRUNC quarter", "vendor NOPE annual",
                   "sec CIK 0000000009", "vendor ../evil quarter"):
        assert f"fetch {target}: FAILED: " in first_run.events


def test_warn_policy_asset_succeeds_and_check_warns(first_run: FirstRun) -> None:
    assert first_run.result.success
    [check] = first_run.result.get_asset_check_evaluations()
    assert check.check_name == CHECK_NAME
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["failed"].value == 14


def test_retry_after_is_honoured(first_run: FirstRun) -> None:
    def times(period: str) -> list[float]:
        return [r.at for r in first_run.requests
                if r.query.get("symbol") == "LIMITED" and r.query.get("period") == period]

    annual = times("annual")
    assert len(annual) == 2 and annual[1] - annual[0] >= 1.0  # backoff alone is ~0.01 s
    assert len(times("quarter")) == 2  # HTTP-date form parsed and waited out


def test_sec_gets_user_agent_and_at_most_10_per_second(first_run: FirstRun) -> None:
    sec = [r for r in first_run.requests if r.path.startswith("/sec/")]
    assert len(sec) == 6  # 2 good, 3 truncated attempts, 1 not found
    assert {r.headers.get("User-Agent") for r in sec} == {UA}
    gaps = [b.at - a.at for a, b in zip(sec, sec[1:], strict=False)]
    assert min(gaps) >= 0.09, gaps  # 1/10 s between request starts, minus socket jitter
    assert sec[-1].at - sec[0].at >= 0.45


def test_key_never_leaks(first_run: FirstRun) -> None:
    # the capture works (the run's own log lines are in it) ...
    assert "fetch vendor AAA annual: downloaded" in first_run.events
    assert "fetch vendor ECHO annual: FAILED: " in first_run.captured["output"]
    # ... the server echoed the key back in error bodies, and it was masked
    echo = first_run.outcomes[("vendor", "ECHO annual")]["error"]
    assert echo.startswith("HTTP 403") and "apikey=***" in echo
    haystacks = {"events": first_run.events, **first_run.captured}
    for path in first_run.seeds.iterdir():
        haystacks[path.name] = path.read_text(encoding="utf-8", errors="replace")
    for where, text in haystacks.items():
        for form in KEY_FORMS:
            assert form not in text, f"vendor key leaked into {where}"
    # ... while the key did reach the vendor, and only the vendor
    vendor = [r for r in first_run.requests if r.path.startswith("/vendor")]
    assert vendor and all(r.query.get("apikey") == KEY for r in vendor)
    assert not any(KEY in json.dumps(r.headers) for r in first_run.requests)


def test_state_file_is_not_loader_input(first_run: FirstRun) -> None:
    state = json.loads((first_run.seeds / STATE_FILE).read_text())
    assert sorted(state["files"]) == sorted(p.name for p in first_run.seeds.glob("*.json"))
    snow = state["files"]["sec-CIK0001640147.json"]
    assert snow["etag"].startswith('"') and snow["last_modified"] == LAST_MODIFIED
    assert snow["sha256"] == hashlib.sha256(SEC_FIXTURES["0001640147"].read_bytes()).hexdigest()
    assert not STATE_FILE.endswith(".json")
    assert first_run.seeds / STATE_FILE not in set(first_run.seeds.glob("*.json"))


def test_the_loader_can_run_on_what_is_there(first_run: FirstRun, tmp_path: Path) -> None:
    summary = load_seeds(first_run.seeds, tmp_path / "w.duckdb")
    assert summary.files_seen == 9 and summary.files_loaded == 9
    assert summary.files_rejected == 0


def test_second_run_downloads_nothing(first_run: FirstRun, server: tuple[str, FakeApi]
                                      ) -> None:
    base, api = server
    with api.lock:
        api.requests.clear()  # counters kept: FLAKY and LIMITED now answer normally
    before = {p.name: p.stat().st_mtime_ns for p in first_run.seeds.iterdir()}
    good = ["AAA", "BBB", "FLAKY", "LIMITED"]
    fetcher = FetcherResource(**fast_settings(base, symbols=good, ciks=CIKS[:2]))
    with vendor_key():
        result, _ = run_asset(fetcher, first_run.seeds)
    statuses = {k: v["status"] for k, v in downloads(result).items()}
    assert statuses == {**{("vendor", f"{s} {p}"): "not_modified"
                           for s in good for p in ("annual", "quarter")},
                        ("vendor", "BBB quarter"): "empty",
                        ("sec", "CIK 0001640147"): "not_modified",
                        ("sec", "CIK 0001997711"): "not_modified"}
    answered = Counter(r.status for r in api.requests)
    assert answered == Counter({304: 9, 200: 1})  # the 200 is BBB's empty quarter "[]"
    assert all(r.headers.get("If-None-Match") for r in api.requests if r.status == 304)
    after = {p.name: p.stat().st_mtime_ns for p in first_run.seeds.iterdir()}
    assert after == before  # not one file (state included) rewritten
    [check] = result.get_asset_check_evaluations()
    assert check.passed


# -- targeted cases -----------------------------------------------------------------------


class _NoSockets(socket.socket):
    """Network sockets raise; AF_UNIX stays (Dagster's asyncio loop makes a socketpair)."""

    def __init__(self, family: int = -1, *args: Any, **kwargs: Any) -> None:
        if family in (-1, socket.AF_INET, socket.AF_INET6):
            raise AssertionError("a network socket was opened")
        super().__init__(family, *args, **kwargs)


def test_fetching_off_opens_no_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FETCH_ENABLED", raising=False)
    monkeypatch.setenv("FETCH_SYMBOLS", "AAA")  # ignored while fetching is off
    resource = fetcher_resource()
    assert resource.enabled is False
    seeds = tmp_path / "seeds"
    monkeypatch.setattr(socket, "socket", _NoSockets)
    with pytest.raises(AssertionError):
        socket.create_connection(("127.0.0.1", 9))  # the patch is effective
    result, _ = run_asset(resource, seeds)
    meta = result.asset_materializations_for_node("fetched_filings")[0].metadata
    assert meta["enabled"].value is False and meta["downloads"].data == []
    assert not seeds.exists()  # not even the directory
    # enabled with nothing configured: still no socket
    result, _ = run_asset(FetcherResource(enabled=True), seeds)
    assert result.success and downloads(result) == {}


def test_plain_http_key_and_missing_settings_fail_without_a_request(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(socket, "socket", _NoSockets)
    s = settings("http://127.0.0.1:9", vendor_api_url="http://vendor.example/x",
                 symbols=("AAA",), vendor_periods=("annual",), ciks=("320193",),
                 sec_user_agent="")
    report = run_fetch(s, tmp_path, env={KEY_ENV: KEY})
    errors = {o.target: o.error for o in report.outcomes}
    assert errors["AAA annual"] == "refusing to send the API key over plain http (VENDOR_API_URL)"
    assert errors["CIK 0000320193"].startswith("SEC_USER_AGENT is not set")
    report = run_fetch(settings("http://127.0.0.1:9", symbols=("AAA",), sec_user_agent="bot",
                                vendor_periods=("annual",), ciks=("1",)), tmp_path, env={})
    errors = {o.target: o.error for o in report.outcomes}
    assert errors["AAA annual"] == f"{KEY_ENV} is not set: the vendor API needs a key"
    assert "contact e-mail" in errors["CIK 0000000001"]


def test_key_never_leaks_into_python_logging(api: FakeApi, server: tuple[str, FakeApi],
                                            tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    """Outside Dagster the library logs to the `pipeline.fetch` logger: redacted too."""
    caplog.set_level(logging.DEBUG)
    s = settings(server[0], symbols=("AAA", "ECHO"), vendor_periods=("annual",))
    report = run_fetch(s, tmp_path, env={KEY_ENV: KEY})
    assert [o.status for o in report.outcomes] == ["downloaded", "failed"]
    assert "fetch vendor ECHO annual: FAILED: HTTP 403 Forbidden: forbidden: apikey=***" \
        in caplog.text
    out, err = capfd.readouterr()
    for form in KEY_FORMS:
        assert form not in caplog.text + out + err
        assert form not in json.dumps([vars(o) for o in report.outcomes])


def test_key_in_header_mode_keeps_it_out_of_urls(api: FakeApi, server: tuple[str, FakeApi],
                                                 tmp_path: Path) -> None:
    s = settings(server[0], symbols=("AAA",), vendor_periods=("annual",),
                 vendor_api_key_header="X-Api-Key")
    report = run_fetch(s, tmp_path, env={KEY_ENV: KEY})
    assert [o.status for o in report.outcomes] == ["downloaded"]
    [req] = api.requests
    assert "apikey" not in req.query and req.headers["X-Api-Key"] == KEY


def test_server_without_validators_rewrites_nothing(api: FakeApi, server: tuple[str, FakeApi],
                                                    tmp_path: Path) -> None:
    api.send_validators = False
    s = settings(server[0], ciks=("1997711",))
    assert [o.status for o in run_fetch(s, tmp_path).outcomes] == ["downloaded"]
    target = tmp_path / "sec-CIK0001997711.json"
    mtime = target.stat().st_mtime_ns
    assert [o.status for o in run_fetch(s, tmp_path).outcomes] == ["unchanged"]
    assert target.stat().st_mtime_ns == mtime
    assert "If-None-Match" not in api.requests[-1].headers


def test_deleted_file_is_downloaded_again_not_304(api: FakeApi, server: tuple[str, FakeApi],
                                                  tmp_path: Path) -> None:
    s = settings(server[0], ciks=("1997711",))
    run_fetch(s, tmp_path)
    (tmp_path / "sec-CIK0001997711.json").unlink()
    assert [o.status for o in run_fetch(s, tmp_path).outcomes] == ["downloaded"]
    assert "If-None-Match" not in api.requests[-1].headers
    assert (tmp_path / "sec-CIK0001997711.json").read_bytes() == \
        SEC_FIXTURES["0001997711"].read_bytes()


def test_redirects_same_origin_only(api: FakeApi, server: tuple[str, FakeApi],
                                    tmp_path: Path) -> None:
    moved = run_fetch(settings(server[0], sec_api_url=f"{server[0]}/sec-moved",
                               ciks=("1997711",)), tmp_path)
    assert [o.status for o in moved.outcomes] == ["downloaded"]
    away = run_fetch(settings(server[0], sec_api_url=f"{server[0]}/sec-away", ciks=("5",)),
                     tmp_path)
    assert "refusing redirect to another origin" in away.outcomes[0].error
    assert [r.path for r in api.requests][-1] == "/sec-away/CIK0000000005.json"


def test_retry_after_beyond_the_limit_fails_at_once(api: FakeApi, server: tuple[str, FakeApi],
                                                    tmp_path: Path) -> None:
    s = settings(server[0], symbols=("WAIT",), vendor_periods=("annual",))
    start = time.monotonic()
    [outcome] = run_fetch(s, tmp_path, env={KEY_ENV: KEY}).outcomes
    assert time.monotonic() - start < 1.0 and len(api.requests) == 1
    assert outcome.error == ("HTTP 503 Service Unavailable: maintenance; server asked to retry "
                             "after 3600s, more than the 5s allowed (FETCH_MAX_RETRY_AFTER)")


def test_fail_on_error_policy(api: FakeApi, server: tuple[str, FakeApi], tmp_path: Path) -> None:
    fetcher = FetcherResource(**fast_settings(server[0], symbols=["NOPE", "AAA"],
                                              vendor_periods=["annual"], fail_on_error=True))
    with vendor_key():
        result, events = run_asset(fetcher, tmp_path, raise_on_error=False)
    assert not result.success
    assert (tmp_path / "vendor-AAA-annual.json").is_file()  # the others are still done
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "1 download(s) failed: vendor NOPE annual: HTTP 404" in message
    assert not any(form in events for form in KEY_FORMS)


def test_lock_blocks_a_concurrent_fetch(server: tuple[str, FakeApi], tmp_path: Path) -> None:
    from pipeline.fetch.store import exclusive

    with exclusive(tmp_path):
        report = run_fetch(settings(server[0], ciks=("1997711",)), tmp_path)
    assert report.outcomes[0].status == "failed"
    assert "another fetch is running" in report.outcomes[0].error


# -- SEC bulk zips: data-set quarters and companyfacts.zip ---------------------------------

REAL_QUARTER = TEST_DATA / "sec_fsds" / "2009q3.zip"
SUB_HEADER = "adsh\tcik\tname\tsic\tform\tperiod\tfy\tfp\tfiled"
NUM_HEADER = "adsh\ttag\tversion\tddate\tqtrs\tuom\tsegments\tcoreg\tvalue"


def quarter_zip(members: tuple[str, ...] = ("sub.txt", "num.txt"),
                compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A one-submission data-set zip (tab-separated, latin-1) with the given members."""
    adsh = "0009990001-09-000001"
    text = {
        "sub.txt": f"{SUB_HEADER}\n{adsh}\t9990001\tTEST BANCORP\t6021\t10-Q\t20091231"
                   "\t2009\tQ4\t20100210\n",
        "num.txt": f"{NUM_HEADER}\n{adsh}\tAssets\tus-gaap/2009\t20091231\t0\tUSD"
                   "\t\t\t1000.0000\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name in members:
            # a fixed time stamp: two calls give the same bytes (writestr(name) stamps now)
            zf.writestr(zipfile.ZipInfo(name, date_time=(2010, 2, 10, 0, 0, 0)),
                        text[name].encode("latin-1"), compress_type=compression)
    return buffer.getvalue()


def companyfacts_zip() -> bytes:
    """companyfacts.zip as the SEC publishes it: one CIK##########.json per company."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for cik, path in SEC_FIXTURES.items():
            zf.writestr(f"CIK{cik}.json", path.read_bytes())
    return buffer.getvalue()


def bulk_settings(base: str, **overrides: Any) -> FetchSettings:
    return settings(base, sec_fsds_url=f"{base}/bulk/{{quarter}}.zip",
                    sec_companyfacts_zip_url=f"{base}/bulk/companyfacts.zip", **overrides)


def statuses(report: Any) -> list[tuple[str, str, str]]:
    return [(o.source, o.target, o.status) for o in report.outcomes]


def test_quarter_fetched_once_then_skipped_without_a_request(
        api: FakeApi, server: tuple[str, FakeApi], tmp_path: Path) -> None:
    base = server[0]
    api.bulk.update({"2009q3.zip": REAL_QUARTER.read_bytes(), "2009q4.zip": quarter_zip()})
    seeds = tmp_path / "seeds"
    s = bulk_settings(base, sec_fsds_quarters=("2009q3", "2009Q4"))
    assert statuses(run_fetch(s, seeds)) == [("sec_fsds", "2009q3", "downloaded"),
                                             ("sec_fsds", "2009q4", "downloaded")]
    assert (seeds / "sec-fsds-2009q3.zip").read_bytes() == REAL_QUARTER.read_bytes()
    assert (seeds / "sec-fsds-2009q4.zip").read_bytes() == quarter_zip()
    assert [(r.path, r.headers.get("User-Agent")) for r in api.requests] == [
        ("/bulk/2009q3.zip", UA), ("/bulk/2009q4.zip", UA)]
    # a published quarter does not change: the next fetch makes no request at all (the
    # asset reports them as skipped, and the check passes)
    api.requests.clear()
    fetcher = FetcherResource(**fast_settings(
        base, sec_fsds_quarters=["2009q3", "2009q4"],
        sec_fsds_url=f"{base}/bulk/{{quarter}}.zip"))
    result, _ = run_asset(fetcher, seeds)
    assert {k: v["status"] for k, v in downloads(result).items()} == {
        ("sec_fsds", "2009q3"): "skipped", ("sec_fsds", "2009q4"): "skipped"}
    meta = result.asset_materializations_for_node("fetched_filings")[0].metadata
    assert meta["files_skipped"].value == 2 and meta["files_downloaded"].value == 0
    assert result.get_asset_check_evaluations()[0].passed
    assert api.requests == []
    # a quarter deleted from SEEDS_DIR is downloaded again (only that one)
    (seeds / "sec-fsds-2009q4.zip").unlink()
    assert statuses(run_fetch(s, seeds)) == [("sec_fsds", "2009q3", "skipped"),
                                             ("sec_fsds", "2009q4", "downloaded")]
    assert [r.path for r in api.requests] == ["/bulk/2009q4.zip"]
    # the loader reads what landed: the real quarter's 435 submissions, the synthetic one
    summary = load_seeds(seeds, tmp_path / "w.duckdb")
    assert (summary.files_seen, summary.files_loaded, summary.files_rejected) == (2, 2, 0)
    assert query(tmp_path / "w.duckdb", "select source_file, status, records, filings "
                 "from raw.load_log order by source_file") == [
        ("sec-fsds-2009q3.zip", "loaded", 435, 435), ("sec-fsds-2009q4.zip", "loaded", 1, 1)]


def test_corrupt_truncated_or_foreign_zips_are_never_installed(
        api: FakeApi, server: tuple[str, FakeApi], tmp_path: Path) -> None:
    good = companyfacts_zip()
    stored = quarter_zip(compression=zipfile.ZIP_STORED)
    assert stored.count(b"1000.0000") == 1
    api.bulk.update({
        "companyfacts.zip": good,
        "2010q1.zip": (quarter_zip(), len(quarter_zip()) + 100),  # cut short
        "2010q2.zip": quarter_zip(members=("sub.txt",)),  # no num.txt
        "2010q3.zip": stored.replace(b"1000.0000", b"9000.0000"),  # CRC mismatch
        "2010q4.zip": quarter_zip()[: len(quarter_zip()) // 2],  # no central directory
    })
    s = bulk_settings(server[0], sec_fsds_quarters=("2010q1", "2010q2", "2010q3", "2010q4"),
                      sec_companyfacts_zip=True)
    report = run_fetch(s, tmp_path)
    errors = {o.target: o.error for o in report.outcomes}
    assert statuses(report) == [("sec_fsds", q, "failed") for q in
                                ("2010q1", "2010q2", "2010q3", "2010q4")] + [
        ("sec", "companyfacts.zip", "downloaded")]
    assert errors["2010q1"] == (f"truncated body: {len(quarter_zip())} of "
                                f"{len(quarter_zip()) + 100} bytes (Content-Length) "
                                "(after 3 attempts)")
    assert errors["2010q2"] == ("2010q2.zip is not a Financial Statement Data Sets zip (no "
                                "num.txt; members: sub.txt) (after 1 attempt)")
    assert errors["2010q3"].startswith("zip member num.txt is corrupt (Bad CRC-32")
    assert errors["2010q4"].startswith("not a readable zip (")
    assert Counter(r.path for r in api.requests) == Counter({
        "/bulk/2010q1.zip": 3, "/bulk/2010q2.zip": 1, "/bulk/2010q3.zip": 3,
        "/bulk/2010q4.zip": 3, "/bulk/companyfacts.zip": 1})
    # a broken companyfacts.zip never replaces the good one already there
    api.bulk["companyfacts.zip"] = good[: len(good) // 2]
    api.bulk["2010q2.zip"] = b"<html>Request Rate Threshold Exceeded</html>"
    report = run_fetch(bulk_settings(server[0], sec_companyfacts_zip=True,
                                     sec_fsds_quarters=("2010q2",)), tmp_path)
    assert statuses(report) == [("sec_fsds", "2010q2", "failed"),
                                ("sec", "companyfacts.zip", "failed")]
    assert report.outcomes[1].error.startswith("not a readable zip (")
    assert (tmp_path / "sec-companyfacts.zip").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".fetch_lock", STATE_FILE, "sec-companyfacts.zip"]  # no quarter, no temp file


def test_companyfacts_zip_conditional_and_read_member_by_member(
        api: FakeApi, server: tuple[str, FakeApi], tmp_path: Path) -> None:
    api.bulk["companyfacts.zip"] = companyfacts_zip()
    s = bulk_settings(server[0], sec_companyfacts_zip=True)
    seeds = tmp_path / "seeds"
    assert statuses(run_fetch(s, seeds)) == [("sec", "companyfacts.zip", "downloaded")]
    target = seeds / "sec-companyfacts.zip"
    before = {p.name: p.stat().st_mtime_ns for p in seeds.iterdir()}
    state = json.loads((seeds / STATE_FILE).read_text())["files"]["sec-companyfacts.zip"]
    assert state["size"] == len(companyfacts_zip())
    assert state["mtime_ns"] == target.stat().st_mtime_ns
    assert statuses(run_fetch(s, seeds)) == [("sec", "companyfacts.zip", "not_modified")]
    last = api.requests[-1]
    assert last.status == 304 and last.headers["If-None-Match"].startswith('"')
    assert {p.name: p.stat().st_mtime_ns for p in seeds.iterdir()} == before
    # a bigger archive than FETCH_MAX_BULK_BYTES allows fails; the held one stays
    api.bulk["companyfacts.zip"] = companyfacts_zip() + b"\0"
    [small] = run_fetch(bulk_settings(server[0], sec_companyfacts_zip=True,
                                      max_bulk_bytes=1000), seeds).outcomes
    assert small.error == (f"body of {len(companyfacts_zip()) + 1} bytes exceeds "
                           "FETCH_MAX_BULK_BYTES (after 1 attempt)")
    summary = load_seeds(seeds, tmp_path / "w.duckdb")
    assert (summary.files_seen, summary.files_loaded, summary.files_rejected) == (2, 2, 0)
    assert query(tmp_path / "w.duckdb", "select source_file from raw.load_log "
                 "order by 1") == [("sec-companyfacts.zip/CIK0001640147.json",),
                                   ("sec-companyfacts.zip/CIK0001997711.json",)]


def test_bulk_settings_parsing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    on = {"FETCH_ENABLED": "1"}
    s = settings_from_env({**on, "FETCH_SEC_FSDS_QUARTERS": "2011q1, 2009Q3 2010q4..2011q2",
                           "FETCH_SEC_COMPANYFACTS_ZIP": "yes", "FETCH_MAX_BULK_BYTES": "5"})
    assert s.sec_fsds_quarters == ("2009q3", "2010q4", "2011q1", "2011q2")
    assert s.sec_companyfacts_zip and s.max_bulk_bytes == 5
    assert s.sec_fsds_url == ("https://www.sec.gov/files/dera/data/"
                              "financial-statement-data-sets/{quarter}.zip")
    assert s.sec_companyfacts_zip_url == \
        "https://www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip"
    assert settings_from_env({**on, "FETCH_SEC_FSDS_QUARTERS": "2009q4-2010q1"}
                             ).sec_fsds_quarters == ("2009q4", "2010q1")
    defaults = settings_from_env(on)
    assert defaults.sec_fsds_quarters == () and not defaults.sec_companyfacts_zip
    assert defaults.max_bulk_bytes == 4 << 30
    # while fetching is off nothing is parsed
    assert settings_from_env({"FETCH_SEC_FSDS_QUARTERS": "junk"}).enabled is False
    for env, message in [
        ({"FETCH_SEC_FSDS_QUARTERS": "2009q5"}, "'2009q5' is not a quarter like 2009q3"),
        ({"FETCH_SEC_FSDS_QUARTERS": "2008q4"}, "'2008q4' is before 2009q1"),
        ({"FETCH_SEC_FSDS_QUARTERS": "2011q2..2010q1"}, "range '2011q2..2010q1' ends before"),
        ({"FETCH_SEC_FSDS_QUARTERS": "2999q1"}, "'2999q1' has not ended yet"),
        ({"FETCH_SEC_FSDS_URL": "https://x.example/fsds.zip"}, "must contain {quarter}"),
        ({"FETCH_SEC_COMPANYFACTS_ZIP": "maybe"}, "FETCH_SEC_COMPANYFACTS_ZIP must be one"),
        ({"FETCH_MAX_BULK_BYTES": "1.5GB"}, "FETCH_MAX_BULK_BYTES must be a int"),
        ({"FETCH_BULK_DEADLINE": "0"}, "bulk_deadline_seconds must be positive"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            settings_from_env({**on, **env})
    assert parse_quarters("2024q1", today=date(2024, 4, 1)) == ("2024q1",)
    with pytest.raises(ValueError, match="has not ended yet"):
        parse_quarters("2024q1", today=date(2024, 3, 31))
    # no SEC user agent: every bulk download fails without a request
    monkeypatch.setattr(socket, "socket", _NoSockets)
    report = run_fetch(bulk_settings("http://127.0.0.1:9", sec_user_agent="",
                                     sec_fsds_quarters=("2009q3",), sec_companyfacts_zip=True),
                       tmp_path)
    assert statuses(report) == [("sec_fsds", "2009q3", "failed"),
                                ("sec", "companyfacts.zip", "failed")]
    assert all(o.error.startswith("SEC_USER_AGENT is not set") for o in report.outcomes)


def test_sec_symbols_resolved_to_ciks_through_company_tickers(
        api: FakeApi, server: tuple[str, FakeApi], tmp_path: Path) -> None:
    """FETCH_SEC_SYMBOLS: tickers -> CIKs via the SEC's company_tickers.json (kept hidden in
    SEEDS_DIR, fetched conditionally), deduplicated with FETCH_CIKS."""
    tickers = {"0": {"cik_str": 1640147, "ticker": "SNOW", "title": "Snowflake Inc."},
               "1": {"cik_str": 1997711, "ticker": "LPA-B", "title": "Logistic Properties"},
               "2": {"cik_str": 1997711, "ticker": "LPA", "title": "Logistic Properties"}}
    api.bulk["company_tickers.json"] = json.dumps(tickers).encode()
    s = settings(server[0], sec_symbols=("snow", "lpa.b", "NOPE"), ciks=("1640147",),
                 sec_tickers_url=f"{server[0]}/bulk/company_tickers.json")
    report = run_fetch(s, tmp_path)
    assert [(o.target, o.file, o.status) for o in report.outcomes] == [
        ("company_tickers.json", ".sec_company_tickers", "downloaded"),
        ("symbol NOPE", None, "failed"),
        ("CIK 0001640147", "sec-CIK0001640147.json", "downloaded"),  # once, not twice
        ("CIK 0001997711", "sec-CIK0001997711.json", "downloaded"),  # LPA.B = LPA-B
    ]
    assert report.outcomes[1].error == "ticker 'NOPE' is not in the SEC's company_tickers.json"
    assert [r.path for r in api.requests] == [
        "/bulk/company_tickers.json", "/sec/CIK0001640147.json", "/sec/CIK0001997711.json"]
    assert {r.headers.get("User-Agent") for r in api.requests} == {UA}
    # the tickers file is no loader input; the next run asks for it conditionally
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "sec-CIK0001640147.json", "sec-CIK0001997711.json"]
    report = run_fetch(s, tmp_path)
    assert [o.status for o in report.outcomes] == [
        "not_modified", "failed", "not_modified", "not_modified"]
    assert api.requests[-3].status == 304 and api.requests[-3].path.endswith("tickers.json")
    # the tickers list unreachable: the last good copy still resolves
    api.bulk.clear()
    report = run_fetch(settings(server[0], sec_symbols=("SNOW",),
                                sec_tickers_url=f"{server[0]}/bulk/company_tickers.json"),
                       tmp_path)
    assert [(o.target, o.status) for o in report.outcomes] == [
        ("company_tickers.json", "failed"), ("CIK 0001640147", "not_modified")]
    # ... and with no copy at all, each ticker fails naming why
    report = run_fetch(settings(server[0], sec_symbols=("SNOW",),
                                sec_tickers_url=f"{server[0]}/bulk/company_tickers.json"),
                       tmp_path / "empty")
    assert [(o.target, o.status) for o in report.outcomes] == [
        ("company_tickers.json", "failed"), ("symbol SNOW", "failed")]
    assert report.outcomes[1].error.startswith("no usable company_tickers.json to resolve")
    assert settings_from_env({"FETCH_ENABLED": "1", "FETCH_SEC_SYMBOLS": "AAPL,brk.b"}
                             ).sec_symbols == ("AAPL", "brk.b")


# -- units --------------------------------------------------------------------------------


def test_safe_names() -> None:
    assert normalize_symbol(" brk.b ") == "BRK.B"
    assert normalize_symbol("BRK-B") == "BRK-B"
    for bad in ("../x", "a/b", "a\\b", "..", ".", ".hidden", "", "A..B", "x\x00", "A B"):
        with pytest.raises(UnsafeName):
            normalize_symbol(bad)
    assert normalize_cik("320193") == normalize_cik("CIK0000320193") == "0000320193"
    for bad in ("0", "12345678901", "32a", "../1", "-1"):
        with pytest.raises(UnsafeName):
            normalize_cik(bad)


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:05 GMT", now) == 5.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    d = Downloader(timeout=1, attempt_deadline=1, max_attempts=9, backoff_base=1.0,
                   backoff_max=8.0, max_retry_after=1, max_bytes=1, redact=Redactor(),
                   rng=random.Random(7))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        values = [d.backoff(attempt) for _ in range(200)]
        assert ceiling / 2 <= min(values) and max(values) <= ceiling
        assert len(set(values)) > 100  # jittered


def test_rate_limiter_spacing_with_a_fake_clock() -> None:
    now = [100.0]
    limiter = RateLimiter(10, clock=lambda: now[0],
                          sleep=lambda s: now.__setitem__(0, now[0] + s))
    starts = [limiter.acquire() for _ in range(25)]
    assert all(b - a >= 0.1 - 1e-9 for a, b in zip(starts, starts[1:], strict=False))
    assert max(sum(s <= t < s + 1.0 for t in starts) for s in starts) == 10


def test_redactor_masks_raw_and_encoded_forms() -> None:
    r = Redactor([KEY, None, ""])
    text = f"a {KEY} b {quote(KEY, safe='')} c {quote_plus(KEY)}"
    assert r(text) == "a *** b *** c ***"
    assert Redactor()("nothing") == "nothing"


def test_settings_from_env() -> None:
    assert settings_from_env({}) == FetchSettings(enabled=False)
    assert settings_from_env({"FETCH_ENABLED": "0", "FETCH_TIMEOUT": "junk"}).enabled is False
    s = settings_from_env({"FETCH_ENABLED": "yes", "FETCH_SYMBOLS": "aapl, MSFT  troo",
                           "FETCH_CIKS": "320193;1640147", "SEC_USER_AGENT": " X x@y.z ",
                           "SEC_MAX_RPS": "50", "FETCH_TIMEOUT": "2.5",
                           "FETCH_FAIL_ON_ERROR": "1"})
    assert s.symbols == ("aapl", "MSFT", "troo") and s.ciks == ("320193", "1640147")
    assert s.sec_user_agent == "X x@y.z" and s.timeout_seconds == 2.5 and s.fail_on_error
    assert s.effective_sec_rps == 10.0  # never above the SEC's limit
    with pytest.raises(ValueError, match="FETCH_TIMEOUT"):
        settings_from_env({"FETCH_ENABLED": "1", "FETCH_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="FETCH_ENABLED"):
        settings_from_env({"FETCH_ENABLED": "maybe"})


def test_atomic_write_and_stale_temp_cleanup(tmp_path: Path) -> None:
    write_bytes_atomic(tmp_path / "x.json", b"[1]")
    assert (tmp_path / "x.json").read_bytes() == b"[1]"
    stale = tmp_path / ".fetch-old.part"
    stale.write_bytes(b"[1, 2")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = tmp_path / ".fetch-new.part"
    fresh.write_bytes(b"[")
    assert remove_stale_temps(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fetch-new.part", "x.json"]
