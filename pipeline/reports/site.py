"""Write the site: in full into a temp folder swapped in, or only the pages that changed.

Incremental (content-addressed): one SQL query gives, per company, a digest of exactly
the rows its page renders (data.digest_sql); `manifest.json` in the site folder records
the digest each page was rendered from and a version of the renderer (this package's
code and templates, the Jinja2/MarkupSafe versions, the reference data every page
shows, the warehouse's name). A build re-renders a page whose digest differs or whose
file is missing, removes pages of companies that no longer exist (and any file the
site does not name), and always re-renders the index. A missing or unreadable
manifest, or another renderer version, means a full build.

Atomicity. A full build writes the whole site into a temp folder beside the target,
then swaps it in: a reader sees the previous site or the new one, never a partial one
(between the two renames the folder is briefly absent). An incremental build writes
each page to a temp file renamed over the old one (a page is never half-written) and
first rewrites the manifest without the pages it is about to touch, so a build killed
half-way leaves pages the manifest does not vouch for, which the next build renders
again: no page survives stale past the next successful build.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pipeline import warehouse
from pipeline.reports import pages, templates
from pipeline.reports.data import (
    CompanyKey,
    ReportData,
    RuleSummary,
    read_digests,
    read_line_items,
    read_report_data,
    read_rule_text,
)
from pipeline.reports.paths import COMPANIES_DIR, INDEX, MANIFEST, company_filename

PARALLEL_FROM = 100  # companies; below that, forking costs more than it saves
CHUNK = 50
MANIFEST_FORMAT = 1
PACKAGE_DIR = Path(__file__).parent


@dataclass
class BuildResult:
    out_dir: Path
    index: Path
    companies: int
    pages: int  # pages the site has (company pages + the index)
    tieout_rows: int
    rules: list[RuleSummary] = field(default_factory=list)
    read_seconds: float = 0.0
    render_seconds: float = 0.0
    full: bool = True  # a full build (no usable manifest, or the renderer changed)
    pages_rendered: int = 0  # company pages written by this build (the index not counted)
    pages_unchanged: int = 0
    pages_removed: int = 0


_SHARED: tuple[ReportData, Path, dict[str, str]] | None = None  # inherited by forked workers


def _write_atomic(path: Path, text: str) -> None:
    """Write `path` through a temp file in the same folder renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _render_companies(indexes: Sequence[int]) -> int:
    """Write the pages of data.companies[i] for i in `indexes` (in a worker or in-process)."""
    assert _SHARED is not None
    data, target, common = _SHARED
    folder = target / COMPANIES_DIR
    for i in indexes:
        company = data.companies[i]
        html = templates.render("company.html", root="../", **common,
                                **pages.company_context(company, data))
        _write_atomic(folder / company_filename(company.source, company.symbol), html)
    return len(indexes)


def render_jobs() -> int:
    """Worker processes for the pages: $REPORTS_JOBS, else the warehouse's thread budget."""
    return max(1, int(os.environ.get("REPORTS_JOBS") or warehouse.threads()))


def render_site(data: ReportData, target: Path, *, warehouse_label: str,
                jobs: int | None = None, only: set[CompanyKey] | None = None,
                built_at: str | None = None) -> int:
    """Render the pages (all, or the companies in `only`) and the index into `target`.

    Returns the number of files written. Pages are independent, so from PARALLEL_FROM
    pages they render in forked worker processes (the data is inherited, not pickled);
    rendering is pure Python and would otherwise use one core. Where fork is unavailable
    they render in this process. A company page carries no build time (the index does),
    so an unchanged page is byte for byte what a full build would write.
    """
    global _SHARED
    if built_at is None:
        built_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (target / COMPANIES_DIR).mkdir(parents=True, exist_ok=True)
    templates.environment().get_template("company.html")  # compile once, before any fork
    jobs = render_jobs() if jobs is None else jobs
    todo = [i for i, c in enumerate(data.companies) if only is None or c.key in only]
    count = len(todo)
    _SHARED = (data, target, {"built_at": "", "warehouse": warehouse_label})
    try:
        if jobs > 1 and count >= PARALLEL_FROM and "fork" in mp.get_all_start_methods():
            chunks = [todo[i:i + CHUNK] for i in range(0, count, CHUNK)]
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                written = sum(pool.map(_render_companies, chunks))
        else:
            written = _render_companies(todo)
    finally:
        _SHARED = None
    index = templates.render("index.html", root="", built_at=built_at,
                             warehouse=warehouse_label, **pages.index_context(data))
    _write_atomic(target / INDEX, index)
    return written + 1


def swap_in(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging` (same parent folder, so renames stay on one disk)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- the manifest ----------------------------------------------------------------------------


def renderer_version(warehouse_label: str, shared: object) -> str:
    """What every page depends on besides its company's rows: a change rebuilds all.

    `shared` is the reference data every page shows (line items and rule texts).
    """
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".html", ".css"}:
            h.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    for dist in ("jinja2", "markupsafe"):
        h.update(f"{dist}={metadata.version(dist)}\0".encode())
    h.update(f"{MANIFEST_FORMAT}\0{warehouse_label}\0{shared!r}".encode())
    return h.hexdigest()


def read_manifest(out_dir: Path) -> dict[str, object] | None:
    """The manifest, or None when missing or not one this code wrote (a full build)."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT
            or not isinstance(manifest.get("renderer"), str)
            or not isinstance(manifest.get("pages"), dict)):
        return None
    return manifest


def write_manifest(out_dir: Path, renderer: str, page_digests: dict[str, str]) -> None:
    _write_atomic(out_dir / MANIFEST, json.dumps(
        {"format": MANIFEST_FORMAT, "renderer": renderer,
         "pages": dict(sorted(page_digests.items()))}, indent=0) + "\n")


def _remove_strays(out_dir: Path, expected_pages: set[str]) -> int:
    """Remove every file the site does not name; returns the company pages removed."""
    removed = 0
    for path in out_dir.iterdir():
        if path.name in {INDEX, MANIFEST, COMPANIES_DIR}:
            continue
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    for path in (out_dir / COMPANIES_DIR).iterdir():
        if path.name in expected_pages:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed += not path.name.startswith(".")
    return removed


# --- the build -------------------------------------------------------------------------------


def build(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
          full: bool = False, built_at: str | None = None) -> BuildResult:
    """Read the marts (read-only) and bring the site in `out_dir` up to date.

    `full` forces a full build; `built_at` fixes the index's time stamp (tests).
    """
    db_path, out_dir = Path(db_path), Path(out_dir)
    label = db_path.name
    started = time.perf_counter()
    with warehouse.session(db_path, read_only=True) as con:
        digests = read_digests(con)
        line_items = read_line_items(con)
        renderer = renderer_version(label, (sorted(line_items.items()),
                                            sorted(read_rule_text(con).items())))
        manifest = None if full else read_manifest(out_dir)
        if manifest is not None and (manifest["renderer"] != renderer
                                     or not (out_dir / COMPANIES_DIR).is_dir()):
            manifest = None
        names = {key: company_filename(*key) for key in digests}
        if manifest is None:
            changed = set(digests)
            data = read_report_data(con, all_keys=digests)
        else:
            old = manifest["pages"]
            assert isinstance(old, dict)
            changed = {key for key, digest in digests.items()
                       if old.get(names[key]) != digest
                       or not (out_dir / COMPANIES_DIR / names[key]).is_file()}
            data = read_report_data(con, page_keys=changed, all_keys=digests)
    read_seconds = time.perf_counter() - started
    page_digests = {names[key]: digest for key, digest in digests.items()}
    tieout_rows = sum(r.passed + r.failed + r.skipped for r in data.rules)
    result = BuildResult(
        out_dir=out_dir, index=out_dir / INDEX, companies=len(data.companies),
        pages=len(data.companies) + 1, tieout_rows=tieout_rows, rules=data.rules,
        read_seconds=read_seconds, full=manifest is None, pages_rendered=len(changed),
        pages_unchanged=len(digests) - len(changed))
    if manifest is None:
        folder = out_dir / COMPANIES_DIR
        result.pages_removed = sum(1 for p in folder.glob("*.html") if p.name not in page_digests
                                   ) if folder.is_dir() else 0
        _build_full(data, out_dir, label, renderer, page_digests, built_at)
    else:
        old = manifest["pages"]
        assert isinstance(old, dict)
        # First forget the pages about to change: a build killed after this point leaves
        # pages the manifest does not vouch for, rendered again by the next build.
        keep = {name: digest for name, digest in old.items()
                if name in page_digests and name not in {names[k] for k in changed}}
        write_manifest(out_dir, renderer, keep)
        render_site(data, out_dir, warehouse_label=label, only=changed, built_at=built_at)
        result.pages_removed = _remove_strays(out_dir, set(page_digests))
        write_manifest(out_dir, renderer, page_digests)
    result.render_seconds = time.perf_counter() - started - read_seconds
    return result


def _build_full(data: ReportData, out_dir: Path, label: str, renderer: str,
                page_digests: dict[str, str], built_at: str | None) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        render_site(data, staging, warehouse_label=label, built_at=built_at)
        write_manifest(staging, renderer, page_digests)
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the site is for readers
        swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
