"""Downloading filings (vendor API and SEC company facts) into SEEDS_DIR, off by default.

The loader only ever reads complete `*.json` files in SEEDS_DIR, so everything here is
about getting a whole, valid JSON document there atomically, politely (rate limits,
conditional requests, backoff) and without ever leaking the vendor API key.
"""

from pipeline.fetch.runner import FetchReport, Outcome, run_fetch
from pipeline.fetch.settings import FetchSettings, settings_from_env

__all__ = ["FetchReport", "FetchSettings", "Outcome", "run_fetch", "settings_from_env"]
