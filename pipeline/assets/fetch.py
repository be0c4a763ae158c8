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


import dataclasses
import json
import os
from pathlib import Path
from typing import Any, get_origin, get_type_hints

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
from pipeline.resources import SeedsResource

CHECK_NAME = "downloads_succeeded"


def _config_fields() -> dict[str, Any]:
    """FetchSettings' fields as Dagster config: annotations and defaults (tuples as lists,
    which Dagster's config schema understands). Derived, so a new setting is added once,
    in FetchSettings."""
    hints = get_type_hints(FetchSettings)
    annotations: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(FetchSettings):
        kind = hints[f.name]
        is_tuple = get_origin(kind) is tuple
        annotations[f.name] = list[str] if is_tuple else kind
        defaults[f.name] = list(f.default) if is_tuple else f.default
    return {"__annotations__": annotations, **defaults}


def _settings(self: ConfigurableResource) -> FetchSettings:
    """The resource's config as the FetchSettings the fetcher runs with."""
    return FetchSettings(**{f.name: tuple(v) if isinstance(v := getattr(self, f.name), list)
                            else v for f in dataclasses.fields(FetchSettings)})


def _fetch(self: ConfigurableResource, seeds_dir: Path, log: object) -> FetchReport:
    settings = _settings(self)
    if not settings.enabled:
        return FetchReport(enabled=False)
    return run_fetch(settings, seeds_dir, log=log)


# Settings for downloading filings: one config field per FetchSettings field (see
# pipeline.fetch.settings); the vendor key's *name* only, never its value.
FetcherResource = type("FetcherResource", (ConfigurableResource,), {
    "__module__": __name__,
    "__doc__": "Settings for downloading filings: the fields of pipeline.fetch.FetchSettings.",
    **_config_fields(),
    "settings": _settings,
    "fetch": _fetch,
})


def fetcher_resource() -> ConfigurableResource:
    """The resource from environment variables (FETCH_ENABLED, FETCH_SYMBOLS, ...)."""
    s = settings_from_env()
    return FetcherResource(**{f.name: list(v) if isinstance(v := getattr(s, f.name), tuple)
                              else v for f in dataclasses.fields(FetchSettings)})


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
def fetched_filings(context: AssetExecutionContext, fetcher: FetcherResource,  # type: ignore[valid-type]
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
