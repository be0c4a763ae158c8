"""Fetch settings: one frozen value object, built from the environment or the resource.

Fetching is off unless FETCH_ENABLED is truthy; when it is off the other variables are
not even parsed, so a typo in an unused setting can never break `make run`. The vendor
key is deliberately NOT a setting: only the *name* of the variable that holds it is, and
the value is read from the environment at download time, so it never lands in Dagster's
resource config, the UI, run storage or metadata.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

DEFAULT_VENDOR_API_URL = "https://financialmodelingprep.com/stable/financial-statement-full-as-reported"
DEFAULT_SEC_API_URL = "https://data.sec.gov/api/xbrl/companyfacts"
DEFAULT_KEY_ENV = "VENDOR_API_KEY"
# The SEC's documented locations of the Financial Statement Data Sets (one zip per
# quarter) and of the bulk company-facts archive (every filer's companyfacts JSON).
DEFAULT_SEC_FSDS_URL = ("https://www.sec.gov/files/dera/data/financial-statement-data-sets/"
                        "{quarter}.zip")
DEFAULT_SEC_COMPANYFACTS_ZIP_URL = \
    "https://www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip"
FIRST_FSDS_QUARTER = (2009, 1)  # the data sets start with 2009q1
DEFAULT_SEC_TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"
VENDOR_PERIODS = ("annual", "quarter")
SEC_MAX_RPS_CEILING = 10.0  # the SEC's fair-access limit; never exceeded whatever is asked

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class FetchSettings:
    enabled: bool = False
    symbols: tuple[str, ...] = ()
    ciks: tuple[str, ...] = ()
    # tickers whose SEC company facts to fetch: resolved to CIKs via company_tickers.json
    sec_symbols: tuple[str, ...] = ()
    sec_tickers_url: str = DEFAULT_SEC_TICKERS_URL
    vendor_periods: tuple[str, ...] = VENDOR_PERIODS
    vendor_api_url: str = DEFAULT_VENDOR_API_URL
    vendor_api_key_env: str = DEFAULT_KEY_ENV
    # Empty: the key goes in the `apikey` query parameter (the provider's convention);
    # otherwise in this request header (keeps it out of URLs altogether).
    vendor_api_key_header: str = ""
    vendor_max_rps: float = 5.0
    sec_api_url: str = DEFAULT_SEC_API_URL
    sec_user_agent: str = ""
    sec_max_rps: float = SEC_MAX_RPS_CEILING
    timeout_seconds: float = 30.0  # per socket operation (connect, each read)
    attempt_deadline_seconds: float = 600.0  # whole attempt, against trickling servers
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0  # a longer Retry-After fails the download now
    max_bytes: int = 512 * 1024 * 1024
    fail_on_error: bool = False
    # SEC bulk files (zips): quarters as "2009q3"; companyfacts.zip is ~1.3 GB, streamed
    # to disk under its own size and time limits.
    sec_fsds_quarters: tuple[str, ...] = ()
    sec_fsds_url: str = DEFAULT_SEC_FSDS_URL
    sec_companyfacts_zip: bool = False
    sec_companyfacts_zip_url: str = DEFAULT_SEC_COMPANYFACTS_ZIP_URL
    max_bulk_bytes: int = 4 * 1024 * 1024 * 1024
    bulk_deadline_seconds: float = 7200.0

    def __post_init__(self) -> None:
        for name in ("timeout_seconds", "attempt_deadline_seconds", "vendor_max_rps",
                     "sec_max_rps", "backoff_max_seconds", "max_retry_after_seconds",
                     "bulk_deadline_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"fetch setting {name} must be positive")
        if self.backoff_base_seconds < 0:
            raise ValueError("fetch setting backoff_base_seconds must not be negative")
        if self.max_attempts < 1:
            raise ValueError("fetch setting max_attempts must be at least 1")
        if self.max_bytes < 1 or self.max_bulk_bytes < 1:
            raise ValueError("fetch settings max_bytes and max_bulk_bytes must be positive")
        for quarter in self.sec_fsds_quarters:
            parse_quarter(quarter)  # raises with the reason
        if "{quarter}" not in self.sec_fsds_url:
            raise ValueError("FETCH_SEC_FSDS_URL must contain {quarter} (e.g. "
                             f"{DEFAULT_SEC_FSDS_URL}), got {self.sec_fsds_url!r}")
        bad = [p for p in self.vendor_periods if p not in VENDOR_PERIODS]
        if bad:
            raise ValueError(f"vendor periods must be among {VENDOR_PERIODS}, got {bad}")

    @property
    def effective_sec_rps(self) -> float:
        return min(self.sec_max_rps, SEC_MAX_RPS_CEILING)


def split_list(value: str | None) -> tuple[str, ...]:
    """`"AAPL, MSFT  TROO"` -> ("AAPL", "MSFT", "TROO"): commas and/or whitespace."""
    return tuple(part for part in re.split(r"[\s,;]+", value or "") if part)


_QUARTER = re.compile(r"(\d{4})[qQ]([1-4])")
_RANGE = re.compile(r"(\w+)(?:\.\.|-|:)(\w+)")


def parse_quarter(text: str, today: date | None = None) -> tuple[int, int]:
    """`"2009q3"` -> (2009, 3). The data sets start with 2009q1, and a quarter is
    published after it ends: a quarter not yet over cannot be fetched."""
    m = _QUARTER.fullmatch(text.strip())
    if not m:
        raise ValueError(f"FETCH_SEC_FSDS_QUARTERS: {text!r} is not a quarter like 2009q3")
    year, quarter = int(m.group(1)), int(m.group(2))
    if (year, quarter) < FIRST_FSDS_QUARTER:
        raise ValueError(f"FETCH_SEC_FSDS_QUARTERS: {text!r} is before 2009q1, the first "
                         "quarter of the SEC's Financial Statement Data Sets")
    today = today or datetime.now(UTC).date()
    if (year, quarter) >= (today.year, (today.month - 1) // 3 + 1):
        raise ValueError(f"FETCH_SEC_FSDS_QUARTERS: {text!r} has not ended yet (the SEC "
                         "publishes a quarter's data set after the quarter)")
    return year, quarter


def quarter_name(year: int, quarter: int) -> str:
    return f"{year}q{quarter}"


def parse_quarters(value: str | None, today: date | None = None) -> tuple[str, ...]:
    """`"2009q3, 2010q1..2010q3"` -> ("2009q3", "2010q1", "2010q2", "2010q3"): quarters
    and inclusive ranges (`a..b`, `a-b` or `a:b`), separated by commas or spaces; sorted,
    duplicates dropped (the loader reads files in name order, so oldest first)."""
    out: set[int] = set()  # year * 4 + quarter - 1
    for part in split_list(value):
        m = _RANGE.fullmatch(part)
        ends = [parse_quarter(x, today) for x in (m.groups() if m else (part,))]
        first, last = (y * 4 + q - 1 for y, q in (ends[0], ends[-1]))
        if first > last:
            raise ValueError(f"FETCH_SEC_FSDS_QUARTERS: range {part!r} ends before it starts")
        out.update(range(first, last + 1))
    return tuple(quarter_name(i // 4, i % 4 + 1) for i in sorted(out))


def parse_bool(name: str, value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0/true/false/yes/no/on/off, got {value!r}")


def _number(env: Mapping[str, str], name: str, kind: type, default: float | int) -> float | int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}, got {raw!r}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> FetchSettings:
    """FetchSettings from environment variables (see the README's fetching section)."""
    env = os.environ if env is None else env
    if not parse_bool("FETCH_ENABLED", env.get("FETCH_ENABLED")):
        return FetchSettings(enabled=False)
    d = FetchSettings()
    return FetchSettings(
        enabled=True,
        symbols=split_list(env.get("FETCH_SYMBOLS")),
        ciks=split_list(env.get("FETCH_CIKS")),
        sec_symbols=split_list(env.get("FETCH_SEC_SYMBOLS")),
        sec_tickers_url=env.get("SEC_TICKERS_URL") or d.sec_tickers_url,
        vendor_periods=split_list(env.get("FETCH_VENDOR_PERIODS")) or VENDOR_PERIODS,
        vendor_api_url=env.get("VENDOR_API_URL") or d.vendor_api_url,
        vendor_api_key_env=env.get("VENDOR_API_KEY_ENV") or d.vendor_api_key_env,
        vendor_api_key_header=env.get("VENDOR_API_KEY_HEADER") or "",
        vendor_max_rps=_number(env, "VENDOR_MAX_RPS", float, d.vendor_max_rps),
        sec_api_url=env.get("SEC_API_URL") or d.sec_api_url,
        sec_user_agent=(env.get("SEC_USER_AGENT") or "").strip(),
        sec_max_rps=_number(env, "SEC_MAX_RPS", float, d.sec_max_rps),
        timeout_seconds=_number(env, "FETCH_TIMEOUT", float, d.timeout_seconds),
        attempt_deadline_seconds=_number(env, "FETCH_DEADLINE", float,
                                         d.attempt_deadline_seconds),
        max_attempts=_number(env, "FETCH_MAX_ATTEMPTS", int, d.max_attempts),
        backoff_base_seconds=_number(env, "FETCH_BACKOFF_BASE", float, d.backoff_base_seconds),
        backoff_max_seconds=_number(env, "FETCH_BACKOFF_MAX", float, d.backoff_max_seconds),
        max_retry_after_seconds=_number(env, "FETCH_MAX_RETRY_AFTER", float,
                                        d.max_retry_after_seconds),
        max_bytes=_number(env, "FETCH_MAX_BYTES", int, d.max_bytes),
        fail_on_error=parse_bool("FETCH_FAIL_ON_ERROR", env.get("FETCH_FAIL_ON_ERROR")),
        sec_fsds_quarters=parse_quarters(env.get("FETCH_SEC_FSDS_QUARTERS")),
        sec_fsds_url=env.get("FETCH_SEC_FSDS_URL") or d.sec_fsds_url,
        sec_companyfacts_zip=parse_bool("FETCH_SEC_COMPANYFACTS_ZIP",
                                        env.get("FETCH_SEC_COMPANYFACTS_ZIP")),
        sec_companyfacts_zip_url=env.get("FETCH_SEC_COMPANYFACTS_ZIP_URL")
        or d.sec_companyfacts_zip_url,
        max_bulk_bytes=_number(env, "FETCH_MAX_BULK_BYTES", int, d.max_bulk_bytes),
        bulk_deadline_seconds=_number(env, "FETCH_BULK_DEADLINE", float,
                                      d.bulk_deadline_seconds),
    )
