"""Downloading filings (vendor API, SEC company facts, the SEC's bulk zips: Financial
Statement Data Sets quarters and companyfacts.zip) into SEEDS_DIR, off by default.

The loader reads every `*.json` and `*.zip` in SEEDS_DIR, so everything here is about
getting a whole, valid document there atomically, politely (rate limits, conditional
requests, backoff) and without ever leaking the vendor API key.
"""

from pipeline.fetch.runner import FetchReport, Outcome, run_fetch
from pipeline.fetch.settings import FetchSettings, settings_from_env

__all__ = ["FetchReport", "FetchSettings", "Outcome", "run_fetch", "settings_from_env"]
