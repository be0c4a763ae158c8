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

DEFAULT_VENDOR_API_URL = "https://financialmodelingprep.com/stable/financial-statement-full-as-reported"
DEFAULT_SEC_API_URL = "https://data.sec.gov/api/xbrl/companyfacts"
DEFAULT_KEY_ENV = "VENDOR_API_KEY"
VENDOR_PERIODS = ("annual", "quarter")
SEC_MAX_RPS_CEILING = 10.0  # the SEC's fair-access limit; never exceeded whatever is asked

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class FetchSettings:
    enabled: bool = False
    symbols: tuple[str, ...] = ()
    ciks: tuple[str, ...] = ()
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

    def __post_init__(self) -> None:
        for name in ("timeout_seconds", "attempt_deadline_seconds", "vendor_max_rps",
                     "sec_max_rps", "backoff_max_seconds", "max_retry_after_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"fetch setting {name} must be positive")
        if self.backoff_base_seconds < 0:
            raise ValueError("fetch setting backoff_base_seconds must not be negative")
        if self.max_attempts < 1:
            raise ValueError("fetch setting max_attempts must be at least 1")
        if self.max_bytes < 1:
            raise ValueError("fetch setting max_bytes must be positive")
        bad = [p for p in self.vendor_periods if p not in VENDOR_PERIODS]
        if bad:
            raise ValueError(f"vendor periods must be among {VENDOR_PERIODS}, got {bad}")

    @property
    def effective_sec_rps(self) -> float:
        return min(self.sec_max_rps, SEC_MAX_RPS_CEILING)


def split_list(value: str | None) -> tuple[str, ...]:
    """`"AAPL, MSFT  TROO"` -> ("AAPL", "MSFT", "TROO"): commas and/or whitespace."""
    return tuple(part for part in re.split(r"[\s,;]+", value or "") if part)


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
    )
