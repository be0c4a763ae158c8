"""HTML templates (Jinja2 files in templates/, autoescaping on).

Every value is escaped unless it is a chart: charts arrive as `Markup` from
pipeline.reports.charts, which escapes its own text; everything else (names, symbols,
rule details, provenance) is data and goes through Jinja's escaping, attributes
included. The stylesheet is included inline so one page is one self-contained file
that opens from file:// and references nothing outside itself (a Content-Security-
Policy meta tag forbids any fetch as a second line of defence).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).with_name("templates")


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
