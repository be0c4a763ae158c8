"""Where the site goes, and file names that are safe whatever a symbol contains.

Symbols are input data: `../x`, `CON`, `a/b`, `AAPL` next to `aapl` on a
case-insensitive disk, or 300 characters. A page's name keeps a readable slug of
letters and digits and adds a hash of the exact (source, symbol), so two companies
never share a file and no name leaves the folder or needs URL-encoding.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from pipeline import config

COMPANIES_DIR = "companies"
INDEX = "index.html"
MANIFEST = "manifest.json"  # what each page was rendered from (site.py)
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def reports_dir(warehouse_db: str | os.PathLike[str] | None = None) -> Path:
    """$REPORTS_DIR, else `reports/` beside the warehouse file."""
    override = os.environ.get("REPORTS_DIR")
    if override:
        return config.resolve_path(override)
    db = config.resolve_path(warehouse_db) if warehouse_db else config.warehouse_db()
    return db.parent / "reports"


def company_filename(source: str, symbol: str) -> str:
    slug = _UNSAFE.sub("-", f"{source}-{symbol}").strip("-")[:48] or "company"
    digest = hashlib.sha256(f"{source}\x00{symbol}".encode()).hexdigest()[:10]
    return f"{slug}-{digest}.html"


def company_href(source: str, symbol: str) -> str:
    """The link from the index (site root) to a company page."""
    return f"{COMPANIES_DIR}/{company_filename(source, symbol)}"
