"""Write the whole site into a temp folder beside the target, then swap it in.

A reader (a browser tab, a web server on the folder) never sees a half-written site:
until the swap it has the previous one, after it the new one. The two renames are
each atomic; between them the folder is briefly absent, never partial. A build that
fails leaves the previous site untouched and removes its temp folder.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline import warehouse
from pipeline.reports import pages, templates
from pipeline.reports.data import ReportData, RuleSummary, load
from pipeline.reports.paths import COMPANIES_DIR, INDEX, company_filename

PARALLEL_FROM = 100  # companies; below that, forking costs more than it saves
CHUNK = 50


@dataclass
class BuildResult:
    out_dir: Path
    index: Path
    companies: int
    pages: int
    tieout_rows: int
    rules: list[RuleSummary] = field(default_factory=list)
    read_seconds: float = 0.0
    render_seconds: float = 0.0


_SHARED: tuple[ReportData, Path, dict[str, str]] | None = None  # inherited by forked workers


def _render_companies(indexes: Sequence[int]) -> int:
    """Write the pages of data.companies[i] for i in `indexes` (in a worker or in-process)."""
    assert _SHARED is not None
    data, target, common = _SHARED
    folder = target / COMPANIES_DIR
    for i in indexes:
        company = data.companies[i]
        html = templates.render("company.html", root="../", **common,
                                **pages.company_context(company, data))
        (folder / company_filename(company.source, company.symbol)).write_text(
            html, encoding="utf-8")
    return len(indexes)


def render_jobs() -> int:
    """Worker processes for the pages: $REPORTS_JOBS, else the warehouse's thread budget."""
    return max(1, int(os.environ.get("REPORTS_JOBS") or warehouse.threads()))


def render_site(data: ReportData, target: Path, *, warehouse_label: str,
                jobs: int | None = None) -> int:
    """Render every page into `target` (an empty folder); returns the number of pages.

    Pages are independent, so above PARALLEL_FROM companies they render in forked worker
    processes (the data is inherited, not pickled); rendering is pure Python and would
    otherwise use one core. Where fork is unavailable they render in this process.
    """
    global _SHARED
    built_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    common = {"built_at": built_at, "warehouse": warehouse_label}
    (target / COMPANIES_DIR).mkdir(parents=True, exist_ok=True)
    templates.environment().get_template("company.html")  # compile once, before any fork
    jobs = render_jobs() if jobs is None else jobs
    count = len(data.companies)
    _SHARED = (data, target, common)
    try:
        if jobs > 1 and count >= PARALLEL_FROM and "fork" in mp.get_all_start_methods():
            chunks = [range(i, min(count, i + CHUNK)) for i in range(0, count, CHUNK)]
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                written = sum(pool.map(_render_companies, chunks))
        else:
            written = _render_companies(range(count))
    finally:
        _SHARED = None
    index = templates.render("index.html", root="", **common, **pages.index_context(data))
    (target / INDEX).write_text(index, encoding="utf-8")
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


def build(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> BuildResult:
    """Read the marts (read-only) and write the site to `out_dir`, atomically."""
    db_path, out_dir = Path(db_path), Path(out_dir)
    started = time.perf_counter()
    data = load(db_path)
    read_seconds = time.perf_counter() - started
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        count = render_site(data, staging, warehouse_label=db_path.name)
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the site is for readers
        swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(
        out_dir=out_dir, index=out_dir / INDEX, companies=len(data.companies), pages=count,
        tieout_rows=data.tieout_rows, rules=data.rules, read_seconds=read_seconds,
        render_seconds=time.perf_counter() - started - read_seconds,
    )
