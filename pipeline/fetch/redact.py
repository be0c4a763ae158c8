"""Scrubbing secrets out of every string that may reach a log, metadata or an error.

The vendor key travels in a query string (that is how the provider wants it), so any
URL, exception text (http.client quotes URLs and header values in some errors) or
server error body could carry it. Everything user-visible goes through `Redactor`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"


class Redactor:
    """Replaces each secret, raw and URL-encoded, by `***`."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first so an encoded form containing the raw one is masked whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: object) -> str:
        out = str(text)
        for form in self._forms:
            out = out.replace(form, MASK)
        return out

    def contains_secret(self, text: str) -> bool:
        return any(form in text for form in self._forms)
