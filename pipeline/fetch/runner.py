"""Plan and run every download of one fetch: vendor symbols x periods, SEC CIKs, then
the SEC bulk zips (Financial Statement Data Sets quarters, companyfacts.zip).

The bulk zips are large (a quarter ~50-100 MB, companyfacts.zip ~1.3 GB): they stream
to disk under their own size and time limits (FETCH_MAX_BULK_BYTES,
FETCH_BULK_DEADLINE) and are validated by opening the zip's central directory from the
file (never held in memory). A quarter is immutable once published: a quarter already
downloaded (the state file vouches for the bytes on disk) is skipped without a request.
companyfacts.zip changes daily and is fetched conditionally (ETag / Last-Modified).

Each download is independent: a bad symbol, a missing key or a server that keeps
failing produces one `failed` outcome naming the symbol or CIK, and the loop goes on.
Nothing here raises for a download problem; the caller (the Dagster asset) decides
what a failure means (warn by default, fail with FETCH_FAIL_ON_ERROR).
"""

from __future__ import annotations

import os
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from pipeline.fetch.http import LOG, Downloader, DownloadError, Fetched, is_loopback
from pipeline.fetch.ratelimit import RateLimiter
from pipeline.fetch.redact import Redactor
from pipeline.fetch.settings import FetchSettings, parse_quarter, quarter_name
from pipeline.fetch.store import (
    COMPANYFACTS_ZIP_NAME,
    FetchLocked,
    StateFile,
    UnsafeName,
    Validators,
    exclusive,
    fsds_file_name,
    normalize_cik,
    normalize_symbol,
    publish,
    remove_stale_temps,
    sec_file_name,
    sha256_file,
    target_path,
    vendor_file_name,
)
from pipeline.fetch.tickers import ciks_by_ticker, ticker_key

CLIENT_NAME = "financials-warehouse/0.1"
# skipped: a data-set quarter already downloaded (immutable), no request made
STATUSES = ("downloaded", "not_modified", "unchanged", "empty", "skipped", "failed")


@dataclass
class Outcome:
    """What happened to one download; every string here is already redacted."""

    source: str  # vendor | sec | sec_fsds
    target: str  # "AAPL annual", "CIK 0000320193", "2009q3", "companyfacts.zip"
    file: str | None  # file name inside SEEDS_DIR
    status: str  # one of STATUSES
    attempts: int = 0
    bytes: int = 0
    error: str | None = None


@dataclass
class FetchReport:
    enabled: bool
    seeds_dir: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {s: sum(o.status == s for o in self.outcomes) for s in STATUSES}

    def summary(self) -> str:
        if not self.enabled:
            return "fetching is off (FETCH_ENABLED not set): nothing downloaded"
        c = self.counts()
        text = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in c.items())
        return f"fetch: {len(self.outcomes)} downloads planned: {text}"

    def failure_text(self) -> str:
        return "; ".join(f"{o.source} {o.target}: {o.error}" for o in self.failures)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(o) for o in self.outcomes]


@dataclass
class _Plan:
    source: str
    target: str
    file: str
    url: str  # may contain the key: never logged, never stored
    headers: dict[str, str]
    limiter: RateLimiter
    validate: Callable[[Path], None]
    records: list[int] = field(default_factory=list)
    bulk: bool = False  # streamed under the bulk size and time limits
    immutable: bool = False  # once downloaded, never requested again


def _load_json(path: Path) -> Any:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # Possibly cut short by a server that gave no Content-Length: worth a retry.
        raise DownloadError(f"body is not complete JSON ({exc})", retryable=True) from None


def _vendor_validator(plan_records: list[int]) -> Callable[[Path], None]:
    def validate(path: Path) -> None:
        doc = _load_json(path)
        if isinstance(doc, dict):
            if "symbol" not in doc:
                message = doc.get("Error Message") or doc.get("error") or doc.get("message")
                detail = f": {str(message)[:200]}" if message else ""
                raise DownloadError(f"vendor answered with an error object{detail}",
                                    retryable=False)
            plan_records.append(1)
            return
        if not isinstance(doc, list) or not all(isinstance(x, dict) for x in doc):
            raise DownloadError("vendor body is not a filing or an array of filings",
                                retryable=False)
        plan_records.append(len(doc))

    return validate


def _sec_validator(cik: str, plan_records: list[int]) -> Callable[[Path], None]:
    def validate(path: Path) -> None:
        doc = _load_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("facts"), dict) \
                or "cik" not in doc:
            raise DownloadError("body is not an SEC company-facts document", retryable=False)
        try:
            same = int(doc["cik"]) == int(cik)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise DownloadError(f"document is for CIK {doc['cik']!r}, not {cik}",
                                retryable=False)
        plan_records.append(len(doc["facts"]))

    return validate


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The zip's central directory, read from disk (a truncated download has none)."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        # possibly cut short by a server that gave no Content-Length: worth a retry
        raise DownloadError(f"not a readable zip ({exc})", retryable=True) from None


def _check_members(zf: zipfile.ZipFile, names: list[str]) -> None:
    """Decompress the named members (CRC-checked by zipfile), streaming."""
    for name in names:
        try:
            with zf.open(name) as fh:
                while fh.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError,
                NotImplementedError) as exc:
            raise DownloadError(f"zip member {name} is corrupt ({exc})",
                                retryable=True) from None


FSDS_MEMBERS = ("sub.txt", "num.txt")  # what the loader needs of a data-set zip


def _fsds_validator(quarter: str, plan_records: list[int]) -> Callable[[Path], None]:
    """A data-set zip: central directory opens, sub.txt and num.txt present, and every
    member's CRC checks (a quarter is installed once and never fetched again)."""
    def validate(path: Path) -> None:
        with _open_zip(path) as zf:
            names = zf.namelist()
            missing = [m for m in FSDS_MEMBERS if m not in names]
            if missing:
                raise DownloadError(
                    f"{quarter}.zip is not a Financial Statement Data Sets zip (no "
                    f"{' or '.join(missing)}; members: {', '.join(names[:8]) or 'none'})",
                    retryable=False)
            _check_members(zf, names)
            plan_records.append(len(names))

    return validate


def _companyfacts_zip_validator(plan_records: list[int]) -> Callable[[Path], None]:
    """companyfacts.zip: central directory opens, JSON members, no data-set members.
    Only the first member is decompressed: the whole archive is ~15 GB inflated, and the
    loader rejects a corrupt member by itself (one company), never half of one."""
    def validate(path: Path) -> None:
        with _open_zip(path) as zf:
            names = zf.namelist()
            members = [n for n in names if n.lower().endswith(".json")]
            if not members or all(m in names for m in FSDS_MEMBERS):
                raise DownloadError(
                    "not a company-facts archive (no JSON members; members: "
                    f"{', '.join(names[:8]) or 'none'})", retryable=False)
            _check_members(zf, members[:1])
            plan_records.append(len(members))

    return validate


def _vendor_plans(settings: FetchSettings, key: str | None, limiter: RateLimiter,
                  failed: list[Outcome]) -> list[_Plan]:
    plans: list[_Plan] = []
    for raw_symbol in settings.symbols:
        for period in settings.vendor_periods:
            label = f"{raw_symbol} {period}"
            try:
                symbol = normalize_symbol(raw_symbol)
                name = vendor_file_name(symbol, period)
            except UnsafeName as exc:
                failed.append(Outcome("vendor", label, None, "failed", error=str(exc)))
                continue
            label = f"{symbol} {period}"
            error = None
            if not key:
                error = (f"{settings.vendor_api_key_env} is not set: the vendor API needs a key")
            elif urlsplit(settings.vendor_api_url).scheme != "https" \
                    and not is_loopback(settings.vendor_api_url):
                error = "refusing to send the API key over plain http (VENDOR_API_URL)"
            if error:
                failed.append(Outcome("vendor", label, name, "failed", error=error))
                continue
            assert key is not None
            query = {"symbol": symbol, "period": period}
            headers = {"Accept": "application/json", "User-Agent": CLIENT_NAME}
            if settings.vendor_api_key_header:
                headers[settings.vendor_api_key_header] = key
            else:
                query["apikey"] = key
            base = settings.vendor_api_url
            url = base + ("&" if "?" in base else "?") + urlencode(query)
            records: list[int] = []
            plans.append(_Plan("vendor", label, name, url, headers, limiter,
                               _vendor_validator(records), records))
    return plans


def _user_agent_problem(ua: str) -> str | None:
    if not ua:
        return ("SEC_USER_AGENT is not set: the SEC requires a descriptive User-Agent "
                "such as 'Company Name admin@example.com'")
    if any(ord(c) < 32 or ord(c) > 126 for c in ua):
        return "SEC_USER_AGENT must be printable ASCII on one line"
    if "@" not in ua or " " not in ua:
        return ("SEC_USER_AGENT must name you and give a contact e-mail, "
                "e.g. 'Company Name admin@example.com'")
    return None


def _sec_plans(settings: FetchSettings, limiter: RateLimiter,
               failed: list[Outcome], ciks: tuple[str, ...] | None = None) -> list[_Plan]:
    plans: list[_Plan] = []
    ua_problem = _user_agent_problem(settings.sec_user_agent)
    for raw_cik in settings.ciks if ciks is None else ciks:
        try:
            cik = normalize_cik(raw_cik)
            name = sec_file_name(cik)
        except UnsafeName as exc:
            failed.append(Outcome("sec", f"CIK {raw_cik}", None, "failed", error=str(exc)))
            continue
        label = f"CIK {cik}"
        if ua_problem:
            failed.append(Outcome("sec", label, name, "failed", error=ua_problem))
            continue
        url = f"{settings.sec_api_url.rstrip('/')}/CIK{cik}.json"
        headers = {"Accept": "application/json", "User-Agent": settings.sec_user_agent}
        records: list[int] = []
        plans.append(_Plan("sec", label, name, url, headers, limiter,
                           _sec_validator(cik, records), records))
    return plans


# company_tickers.json, kept hidden and without the .json suffix: never loader input
TICKERS_FILE = ".sec_company_tickers"


def _tickers_validator(plan_records: list[int]) -> Callable[[Path], None]:
    def validate(path: Path) -> None:
        try:
            plan_records.append(len(ciks_by_ticker(_load_json(path))))
        except ValueError as exc:
            raise DownloadError(str(exc), retryable=False) from None

    return validate


def _tickers_plan(settings: FetchSettings, limiter: RateLimiter,
                  failed: list[Outcome]) -> _Plan | None:
    """company_tickers.json, fetched conditionally, when FETCH_SEC_SYMBOLS names tickers."""
    if not settings.sec_symbols:
        return None
    ua_problem = _user_agent_problem(settings.sec_user_agent)
    if ua_problem:
        failed.extend(Outcome("sec", f"symbol {s}", None, "failed", error=ua_problem)
                      for s in settings.sec_symbols)
        return None
    headers = {"Accept": "application/json", "User-Agent": settings.sec_user_agent}
    records: list[int] = []
    return _Plan("sec", "company_tickers.json", TICKERS_FILE, settings.sec_tickers_url,
                 headers, limiter, _tickers_validator(records), records)


def _resolve_symbols(symbols: tuple[str, ...], path: Path
                     ) -> tuple[tuple[str, ...], list[Outcome]]:
    """CIKs of the tickers (from the file on disk: this run's download, else the last
    good one), and a failed outcome per ticker the SEC does not list."""
    try:
        known = ciks_by_ticker(orjson.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        why = f"no usable company_tickers.json to resolve the ticker ({exc})"
        return (), [Outcome("sec", f"symbol {s}", None, "failed", error=why) for s in symbols]
    ciks: list[str] = []
    failed: list[Outcome] = []
    for symbol in symbols:
        cik = known.get(ticker_key(symbol))
        if cik is None:
            failed.append(Outcome("sec", f"symbol {symbol}", None, "failed",
                                  error=f"ticker {symbol!r} is not in the SEC's "
                                        "company_tickers.json"))
        else:
            ciks.append(str(cik))
    return tuple(ciks), failed


def _bulk_plans(settings: FetchSettings, limiter: RateLimiter,
                failed: list[Outcome]) -> list[_Plan]:
    """Data-set quarters (oldest first), then companyfacts.zip."""
    wanted: list[tuple[str, str, str, str, Callable[[list[int]], Callable[[Path], None]],
                       bool]] = []
    for raw_quarter in settings.sec_fsds_quarters:
        try:
            quarter = quarter_name(*parse_quarter(raw_quarter))
            name = fsds_file_name(quarter)
        except (ValueError, UnsafeName) as exc:
            failed.append(Outcome("sec_fsds", raw_quarter, None, "failed", error=str(exc)))
            continue
        url = settings.sec_fsds_url.replace("{quarter}", quarter)
        wanted.append(("sec_fsds", quarter, name, url,
                       lambda records, q=quarter: _fsds_validator(q, records), True))
    if settings.sec_companyfacts_zip:
        wanted.append(("sec", "companyfacts.zip", COMPANYFACTS_ZIP_NAME,
                       settings.sec_companyfacts_zip_url, _companyfacts_zip_validator, False))
    if not wanted:
        return []
    ua_problem = _user_agent_problem(settings.sec_user_agent)
    plans: list[_Plan] = []
    for source, target, name, url, validator, immutable in wanted:
        if ua_problem:
            failed.append(Outcome(source, target, name, "failed", error=ua_problem))
            continue
        headers = {"Accept": "application/zip", "User-Agent": settings.sec_user_agent}
        records: list[int] = []
        plans.append(_Plan(source, target, name, url, headers, limiter, validator(records),
                           records, bulk=True, immutable=immutable))
    return plans


def _dedupe(plans: list[_Plan]) -> list[_Plan]:
    seen: set[str] = set()
    out = []
    for p in plans:
        if p.file not in seen:
            seen.add(p.file)
            out.append(p)
    return out


def run_fetch(
    settings: FetchSettings,
    seeds_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    log: Any = LOG,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Download everything configured into `seeds_dir`; never raises for one download.

    With fetching off this returns at once: no directory is created, no socket opened.
    """
    if not settings.enabled:
        return FetchReport(enabled=False)
    env = os.environ if env is None else env
    key = env.get(settings.vendor_api_key_env) or None
    redact = Redactor([key])
    report = FetchReport(enabled=True, seeds_dir=str(seeds_dir))
    failed: list[Outcome] = []
    vendor_limiter = RateLimiter(settings.vendor_max_rps)
    sec_limiter = RateLimiter(settings.effective_sec_rps)
    if settings.sec_max_rps > settings.effective_sec_rps:
        log.warning(f"SEC_MAX_RPS={settings.sec_max_rps:g} lowered to the SEC's limit of "
                    f"{settings.effective_sec_rps:g} requests per second")
    vendor_plans = _vendor_plans(settings, key, vendor_limiter, failed)
    sec_plans = _sec_plans(settings, sec_limiter, failed)
    bulk_plans = _bulk_plans(settings, sec_limiter, failed)
    plans = _dedupe(vendor_plans + sec_plans + bulk_plans)
    tickers_plan = _tickers_plan(settings, sec_limiter, failed)
    report.outcomes.extend(failed)
    for o in failed:
        _log_outcome(log, o, redact)
    if not plans and tickers_plan is None:
        return report

    seeds_dir.mkdir(parents=True, exist_ok=True)
    downloader = Downloader(
        timeout=settings.timeout_seconds, attempt_deadline=settings.attempt_deadline_seconds,
        max_attempts=settings.max_attempts, backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        max_retry_after=settings.max_retry_after_seconds, max_bytes=settings.max_bytes,
        redact=redact, log=log, sleep=sleep)
    bulk_downloader = Downloader(
        timeout=settings.timeout_seconds, attempt_deadline=settings.bulk_deadline_seconds,
        max_attempts=settings.max_attempts, backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        max_retry_after=settings.max_retry_after_seconds, max_bytes=settings.max_bulk_bytes,
        redact=redact, log=log, sleep=sleep, max_bytes_setting="FETCH_MAX_BULK_BYTES")
    try:
        with exclusive(seeds_dir):
            remove_stale_temps(seeds_dir)
            state = StateFile(seeds_dir)
            if tickers_plan is not None:  # FETCH_SEC_SYMBOLS: tickers -> CIKs first
                outcome = _run_one(tickers_plan, seeds_dir, state, downloader, redact)
                ciks, unknown = _resolve_symbols(settings.sec_symbols, seeds_dir / TICKERS_FILE)
                resolved: list[Outcome] = []
                plans = _dedupe(vendor_plans + sec_plans
                                + _sec_plans(settings, sec_limiter, resolved, ciks) + bulk_plans)
                for o in (outcome, *unknown, *resolved):
                    report.outcomes.append(o)
                    _log_outcome(log, o, redact)
            for plan in plans:
                outcome = _run_one(plan, seeds_dir, state,
                                   bulk_downloader if plan.bulk else downloader, redact)
                report.outcomes.append(outcome)
                _log_outcome(log, outcome, redact)
    except FetchLocked as exc:
        for plan in ([tickers_plan] if tickers_plan else []) + plans:
            report.outcomes.append(Outcome(plan.source, plan.target, plan.file, "failed",
                                           error=str(exc)))
        log.error(redact(str(exc)))
    return report


def _log_outcome(log: Any, o: Outcome, redact: Redactor) -> None:
    if o.status == "failed":
        log.error(redact(f"fetch {o.source} {o.target}: FAILED: {o.error}"))
        return
    if o.status == "skipped":
        log.info(f"fetch {o.source} {o.target}: skipped {o.file} (a published quarter does "
                 "not change: already downloaded, no request made)")
        return
    tries = "attempt" if o.attempts == 1 else "attempts"
    log.info(redact(f"fetch {o.source} {o.target}: {o.status} {o.file} "
                    f"({o.bytes} bytes, {o.attempts} {tries})"))


def _run_one(plan: _Plan, seeds_dir: Path, state: StateFile, downloader: Downloader,
             redact: Redactor) -> Outcome:
    outcome = Outcome(plan.source, plan.target, plan.file, "failed")
    fetched: Fetched | None = None
    try:
        target = target_path(seeds_dir, plan.file)
        headers = dict(plan.headers)
        held = state.usable(plan.file, target)
        if held and plan.immutable:
            outcome.status = "skipped"
            return outcome
        if held and held.etag:
            headers["If-None-Match"] = held.etag
        if held and held.last_modified:
            headers["If-Modified-Since"] = held.last_modified
        fetched = downloader.get(plan.url, headers, seeds_dir, plan.limiter, plan.validate,
                                 f"{plan.source} {plan.target}")
        outcome.attempts = fetched.attempts
        if fetched.status == 304:
            if held is None:
                raise DownloadError("HTTP 304 to an unconditional request", retryable=False)
            outcome.status = "not_modified"
            return outcome
        assert fetched.temp is not None and fetched.sha256 is not None
        outcome.bytes = fetched.size
        if plan.records and plan.records[-1] == 0:
            outcome.status = "empty"  # e.g. no quarterly filings: keep what we have
            return outcome
        held_sha = held.sha256 if held and held.sha256 else (
            sha256_file(target) if target.is_file() else None)
        if held_sha == fetched.sha256:
            outcome.status = "unchanged"  # server without validators, same bytes
        else:
            publish(fetched.temp, target)
            outcome.status = "downloaded"
        state.record(plan.file, Validators(
            etag=fetched.etag, last_modified=fetched.last_modified, sha256=fetched.sha256,
            size=fetched.size, fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            mtime_ns=target.stat().st_mtime_ns))
        return outcome
    except DownloadError as exc:
        outcome.error = redact(exc)
    except Exception as exc:  # noqa: BLE001 - one download must not stop the others
        outcome.error = redact(f"{type(exc).__name__}: {exc}")
    finally:
        if fetched is not None and fetched.temp is not None:
            fetched.temp.unlink(missing_ok=True)
    outcome.status = "failed"
    return outcome

