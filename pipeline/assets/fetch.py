"""The `fetched_filings` asset and the `fetcher` resource: downloads into SEEDS_DIR.

Off by default: unless FETCH_ENABLED is set the asset records `enabled: false` and
returns without creating a directory or opening a socket, so `make run` and the tests
work anywhere. The raw load asset depends on this one, so in a run fetching happens
first and the loader reads whatever complete files are in SEEDS_DIR afterwards.

Failure policy (why "warn" is the default): one symbol the vendor does not know, or an
SEC outage, should not stop a daily run from loading what is already there. A failed
download therefore leaves the asset materialized, lists each failure (symbol or CIK and
the reason) in metadata and in the error log, and fails the WARN-severity asset check
`fetched_filings:downloads_succeeded`, which is non-blocking so the raw load still runs.
With FETCH_FAIL_ON_ERROR=1 the asset fails instead, after every download was tried;
Dagster then skips the downstream raw load in that run (files already downloaded stay).

The vendor key never reaches resource config, metadata, logs or errors: the resource
holds only the *name* of the environment variable, and every message is redacted.
"""


import json
import os
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    ConfigurableResource,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pipeline.fetch import FetchReport, FetchSettings, run_fetch, settings_from_env
from pipeline.fetch.redact import Redactor
from pipeline.fetch.settings import (
    DEFAULT_KEY_ENV,
    DEFAULT_SEC_API_URL,
    DEFAULT_VENDOR_API_URL,
    VENDOR_PERIODS,
)
from pipeline.resources import SeedsResource

CHECK_NAME = "downloads_succeeded"


class FetcherResource(ConfigurableResource):
    """Settings for downloading filings; see pipeline.fetch.settings for each field."""

    enabled: bool = False
    symbols: list[str] = []
    ciks: list[str] = []
    vendor_periods: list[str] = list(VENDOR_PERIODS)
    vendor_api_url: str = DEFAULT_VENDOR_API_URL
    vendor_api_key_env: str = DEFAULT_KEY_ENV  # the variable's name, never its value
    vendor_api_key_header: str = ""
    vendor_max_rps: float = 5.0
    sec_api_url: str = DEFAULT_SEC_API_URL
    sec_user_agent: str = ""
    sec_max_rps: float = 10.0
    timeout_seconds: float = 30.0
    attempt_deadline_seconds: float = 600.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0
    max_bytes: int = 512 * 1024 * 1024
    fail_on_error: bool = False

    def settings(self) -> FetchSettings:
        return FetchSettings(
            enabled=self.enabled, symbols=tuple(self.symbols), ciks=tuple(self.ciks),
            vendor_periods=tuple(self.vendor_periods), vendor_api_url=self.vendor_api_url,
            vendor_api_key_env=self.vendor_api_key_env,
            vendor_api_key_header=self.vendor_api_key_header,
            vendor_max_rps=self.vendor_max_rps, sec_api_url=self.sec_api_url,
            sec_user_agent=self.sec_user_agent, sec_max_rps=self.sec_max_rps,
            timeout_seconds=self.timeout_seconds,
            attempt_deadline_seconds=self.attempt_deadline_seconds,
            max_attempts=self.max_attempts, backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
            max_retry_after_seconds=self.max_retry_after_seconds, max_bytes=self.max_bytes,
            fail_on_error=self.fail_on_error)

    def fetch(self, seeds_dir: Path, log: object) -> FetchReport:
        if not self.enabled:
            return FetchReport(enabled=False)
        return run_fetch(self.settings(), seeds_dir, log=log)


def fetcher_resource() -> FetcherResource:
    """The resource from environment variables (FETCH_ENABLED, FETCH_SYMBOLS, ...)."""
    s = settings_from_env()
    if not s.enabled:
        return FetcherResource(enabled=False)
    return FetcherResource(
        enabled=True, symbols=list(s.symbols), ciks=list(s.ciks),
        vendor_periods=list(s.vendor_periods), vendor_api_url=s.vendor_api_url,
        vendor_api_key_env=s.vendor_api_key_env, vendor_api_key_header=s.vendor_api_key_header,
        vendor_max_rps=s.vendor_max_rps, sec_api_url=s.sec_api_url,
        sec_user_agent=s.sec_user_agent, sec_max_rps=s.sec_max_rps,
        timeout_seconds=s.timeout_seconds, attempt_deadline_seconds=s.attempt_deadline_seconds,
        max_attempts=s.max_attempts, backoff_base_seconds=s.backoff_base_seconds,
        backoff_max_seconds=s.backoff_max_seconds,
        max_retry_after_seconds=s.max_retry_after_seconds, max_bytes=s.max_bytes,
        fail_on_error=s.fail_on_error)


def report_metadata(report: FetchReport, redact: Redactor) -> dict[str, object]:
    """Asset metadata; redacted once more as a last line of defence."""
    counts = report.counts()
    failures = [{"source": o.source, "target": o.target, "error": o.error}
                for o in report.failures]
    downloads = json.loads(redact(json.dumps(report.as_dicts())))
    return {
        "enabled": report.enabled,
        "summary": redact(report.summary()),
        **{f"files_{status}": n for status, n in counts.items()},
        "downloads": MetadataValue.json(downloads),
        "failures": MetadataValue.json(json.loads(redact(json.dumps(failures)))),
        **({"seeds_dir": MetadataValue.path(report.seeds_dir)} if report.seeds_dir else {}),
    }


@asset(
    name="fetched_filings",
    group_name="extract",
    kinds={"python"},
    description="Filings downloaded into SEEDS_DIR from the vendor API and the SEC "
                "(off unless FETCH_ENABLED=1; conditional requests, atomic writes).",
    check_specs=[AssetCheckSpec(
        CHECK_NAME, asset="fetched_filings",
        description="Every configured download succeeded (or was unchanged).")],
)
def fetched_filings(context: AssetExecutionContext, fetcher: FetcherResource,
                    seeds: SeedsResource) -> MaterializeResult:
    redact = Redactor([os.environ.get(fetcher.vendor_api_key_env)])
    report = fetcher.fetch(seeds.directory(), log=context.log)
    context.log.info(redact(report.summary()))
    metadata = report_metadata(report, redact)
    failed = report.failures
    if failed and fetcher.fail_on_error:
        raise Failure(description=redact(f"{len(failed)} download(s) failed: "
                                         f"{report.failure_text()}"),
                      metadata=metadata)
    check = AssetCheckResult(
        check_name=CHECK_NAME,
        passed=not failed,
        severity=AssetCheckSeverity.WARN,
        metadata={"failed": len(failed),
                  "failures": MetadataValue.text(redact(report.failure_text()) or "none"),
                  "enabled": report.enabled},
    )
    return MaterializeResult(metadata=metadata, check_results=[check])
