"""One polite GET with the standard library: timeouts, retries, backoff, streaming to disk.

Why http.client and not urllib/requests: no new dependency, no proxy or redirect magic
sending the key somewhere unexpected, and direct access to the raw byte count so a body
shorter than its Content-Length is caught (urllib's `read(n)` silently stops short).

Retried: 429 and 5xx (honouring Retry-After, in seconds or as an HTTP date), timeouts,
connection errors, truncated or unparseable bodies. Not retried: other 4xx, TLS
certificate errors, bodies too large, wrong shapes. Backoff is exponential with
"equal jitter" (half fixed, half random), capped; Retry-After is a floor, and a
Retry-After beyond `max_retry_after` fails the download at once instead of hanging.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import logging
import os
import random
import ssl
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from pipeline.fetch.ratelimit import RateLimiter
from pipeline.fetch.redact import Redactor
from pipeline.fetch.store import new_temp

CHUNK = 64 * 1024
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
LOG = logging.getLogger("pipeline.fetch")


class DownloadError(Exception):
    """One failed attempt; `retryable` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


@dataclass
class Fetched:
    """A 200 (body complete and validated, in `temp`) or a 304 (nothing to write)."""

    status: int
    attempts: int = 1
    temp: Path | None = None
    etag: str | None = None
    last_modified: str | None = None
    size: int = 0
    sha256: str | None = None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


Validate = Callable[[Path], None]


class Downloader:
    def __init__(
        self,
        *,
        timeout: float,
        attempt_deadline: float,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        max_retry_after: float,
        max_bytes: int,
        redact: Redactor,
        log: logging.Logger | logging.LoggerAdapter | object = LOG,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_bytes_setting: str = "FETCH_MAX_BYTES",
    ) -> None:
        self.timeout = timeout
        self.attempt_deadline = attempt_deadline
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_bytes = max_bytes
        self.max_bytes_setting = max_bytes_setting  # named in "too large" errors
        self.redact = redact
        self.log = log
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._tls = ssl.create_default_context()

    def backoff(self, attempt: int) -> float:
        """Equal jitter: somewhere in [d/2, d] with d = base * 2^(attempt-1), capped."""
        d = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return d / 2 + self.rng.uniform(0, d / 2)

    def get(self, url: str, headers: Mapping[str, str], dest_dir: Path,
            limiter: RateLimiter, validate: Validate, label: str) -> Fetched:
        """GET with retries; raises DownloadError (message redacted) once it gives up."""
        last: DownloadError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                fetched = self._attempt(url, headers, dest_dir, limiter, validate)
                fetched.attempts = attempt
                return fetched
            except DownloadError as exc:
                last = exc
            if not last.retryable or attempt == self.max_attempts:
                break
            delay = self.backoff(attempt)
            if last.retry_after is not None:
                if last.retry_after > self.max_retry_after:
                    raise DownloadError(
                        f"{last}; server asked to retry after {last.retry_after:.0f}s, more "
                        f"than the {self.max_retry_after:.0f}s allowed (FETCH_MAX_RETRY_AFTER)",
                        retryable=False, status=last.status) from None
                delay = max(delay, last.retry_after)
            self.log.warning(self.redact(
                f"fetch {label}: attempt {attempt}/{self.max_attempts} failed ({last}); "
                f"retrying in {delay:.2f}s"))
            self.sleep(delay)
        assert last is not None
        tries = "attempt" if attempt == 1 else "attempts"
        raise DownloadError(self.redact(f"{last} (after {attempt} {tries})"),
                            retryable=False, status=last.status) from None

    # -- one attempt (following same-origin redirects) --------------------------------

    def _attempt(self, url: str, headers: Mapping[str, str], dest_dir: Path,
                 limiter: RateLimiter, validate: Validate) -> Fetched:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            limiter.acquire()
            deadline = time.monotonic() + self.attempt_deadline
            conn, resp = self._open(current, headers)
            try:
                status = resp.status
                if status in REDIRECTS:
                    current = self._redirect(current, resp.getheader("Location"))
                    continue
                if status == 304:
                    return Fetched(status=304)
                if status == 200:
                    return self._stream(resp, dest_dir, validate, deadline)
                snippet = self._snippet(resp)
                retry_after = parse_retry_after(resp.getheader("Retry-After"))
                msg = f"HTTP {status} {resp.reason}".rstrip()
                if snippet:
                    msg += f": {snippet}"
                retryable = status == 429 or 500 <= status <= 599
                raise DownloadError(self.redact(msg), retryable=retryable, status=status,
                                    retry_after=retry_after if retryable else None)
            except TimeoutError:
                raise DownloadError(f"timed out (no data for {self.timeout:g}s)",
                                    retryable=True) from None
            except http.client.HTTPException as exc:
                raise DownloadError(self.redact(f"connection broken: {exc!r}"),
                                    retryable=True) from None
            except OSError as exc:
                raise DownloadError(self.redact(f"connection error: {exc}"),
                                    retryable=True) from None
            finally:
                conn.close()
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _redirect(self, current: str, location: str | None) -> str:
        if not location:
            raise DownloadError("redirect without a Location header", retryable=False)
        target = urljoin(current, location)
        if origin(target) != origin(current):
            # Headers (User-Agent, maybe the key) must not follow to another host.
            raise DownloadError(self.redact(f"refusing redirect to another origin: {target}"),
                                retryable=False)
        return target

    def _open(self, url: str, headers: Mapping[str, str]
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(self.redact(f"unsupported URL {url!r}"), retryable=False)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=self._tls)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={**headers, "Connection": "close",
                                                "Accept-Encoding": "gzip"})
            return conn, conn.getresponse()
        except http.client.InvalidURL as exc:
            conn.close()
            raise DownloadError(self.redact(f"invalid URL: {exc}"), retryable=False) from None
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise DownloadError(self.redact(f"TLS certificate rejected: {exc}"),
                                retryable=False) from None
        except TimeoutError:
            conn.close()
            raise DownloadError(f"timed out (no response within {self.timeout:g}s)",
                                retryable=True) from None
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            raise DownloadError(self.redact(f"connection error: {exc!r}"),
                                retryable=True) from None
        except ValueError as exc:  # e.g. a header value with a newline
            conn.close()
            raise DownloadError(self.redact(f"invalid request: {exc}"), retryable=False) from None

    @staticmethod
    def _snippet(resp: http.client.HTTPResponse, limit: int = 300) -> str:
        """A little of an error body for the message (redacted by the caller)."""
        try:
            raw = resp.read(limit)
        except (http.client.HTTPException, OSError):
            return ""
        return " ".join(raw.decode("utf-8", "replace").split())[:limit]

    def _stream(self, resp: http.client.HTTPResponse, dest_dir: Path, validate: Validate,
                deadline: float) -> Fetched:
        length_header = resp.getheader("Content-Length")
        expected = int(length_header) if length_header and length_header.strip().isdigit() \
            else None
        if expected is not None and expected > self.max_bytes:
            raise DownloadError(f"body of {expected} bytes exceeds {self.max_bytes_setting}",
                                retryable=False)
        encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise DownloadError(f"unsupported Content-Encoding {encoding!r}", retryable=False)
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
        try:
            fd, temp = new_temp(dest_dir)
        except OSError as exc:
            raise DownloadError(f"cannot create a temp file in SEEDS_DIR: {exc}",
                                retryable=False) from None
        try:
            digest = hashlib.sha256()
            received = size = 0
            with os.fdopen(fd, "wb") as out:
                while True:
                    if time.monotonic() > deadline:
                        raise DownloadError(
                            f"body not complete within {self.attempt_deadline:g}s",
                            retryable=True)
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    received += len(chunk)
                    data = inflate.decompress(chunk) if inflate else chunk
                    size += len(data)
                    if size > self.max_bytes:
                        raise DownloadError(f"body exceeds {self.max_bytes_setting}",
                                            retryable=False)
                    digest.update(data)
                    out.write(data)
                if inflate is not None:
                    tail = inflate.flush()
                    digest.update(tail)
                    out.write(tail)
                    size += len(tail)
                    if not inflate.eof:
                        raise DownloadError("truncated body: gzip stream incomplete",
                                            retryable=True)
            if expected is not None and received != expected:
                raise DownloadError(
                    f"truncated body: {received} of {expected} bytes (Content-Length)",
                    retryable=True)
            validate(temp)
            return Fetched(status=200, temp=temp, etag=resp.getheader("ETag"),
                           last_modified=resp.getheader("Last-Modified"), size=size,
                           sha256=digest.hexdigest())
        except zlib.error as exc:
            temp.unlink(missing_ok=True)
            raise DownloadError(f"corrupt gzip body: {exc}", retryable=True) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
