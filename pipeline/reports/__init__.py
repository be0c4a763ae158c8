"""Static HTML reports over the marts: an index of companies and one page per company.

data (bulk reads of the marts) -> pages (formatted cells, KPIs, SVG charts) ->
templates (escaped HTML) -> site (written beside the warehouse, swapped in atomically).
No JavaScript and no external resource: every page opens from file://.
"""

from pipeline.reports.site import BuildResult, build

__all__ = ["BuildResult", "build"]
