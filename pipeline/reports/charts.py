"""Charts as inline SVG strings, drawn in Python: no JavaScript, no network, no files.

A page opened from file:// (or mailed, or archived) shows the same picture as one
served over HTTP, and a test can find every chart in the DOM. Each chart is an <svg
class="chart"> with axes, gridlines, axis titles, a legend and one <title> tooltip per
data point (the browser shows it on hover). Every text is escaped here: series names
and labels may come from input data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 560, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 40, 48
PALETTE = ("#2563eb", "#f59e0b", "#059669", "#7c3aed", "#db2777")
NEGATIVE = "#dc2626"
GRID, AXIS, INK, MUTED = "#e5e7eb", "#9ca3af", "#111827", "#6b7280"

AxisFormat = Callable[[list[float]], list[str]]
ValueFormat = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and one value (or None) per x label."""

    name: str
    values: Sequence[float | None]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 x 10^k), zero included."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = [round(start, 10) + 0.0]
    while ticks[-1] < hi - 1e-9 * step:
        ticks.append(round(start + len(ticks) * step, 10) + 0.0)
    return ticks


class _Frame:
    """Plot geometry: x bands per label, y scale from the ticks."""

    def __init__(self, labels: Sequence[str], ticks: list[float]) -> None:
        self.labels = list(labels)
        self.ticks = ticks
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.band = self.plot_w / max(len(self.labels), 1)

    def x(self, index: int) -> float:
        return LEFT + (index + 0.5) * self.band

    def y(self, value: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        return TOP + self.plot_h * (hi - value) / (hi - lo)


def _open(chart_id: str, title: str, kind: str, empty: bool) -> list[str]:
    return [
        f'<svg class="chart" id="{_e(chart_id)}" data-kind="{kind}" '
        f'data-empty="{"true" if empty else "false"}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
        f'<rect class="bg" x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]


def _axes(frame: _Frame, axis: AxisFormat, y_title: str, x_title: str) -> list[str]:
    out = ['<g class="axes" font-size="11" fill="' + MUTED + '">']
    for tick, label in zip(frame.ticks, axis(frame.ticks), strict=True):
        y = frame.y(tick)
        stroke = AXIS if tick == 0 else GRID
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{stroke}" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(label)}</text>')
    every = max(1, math.ceil(len(frame.labels) / 12))
    base = TOP + frame.plot_h
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="{AXIS}"/>')
    for i, label in enumerate(frame.labels):
        if i % every == 0:
            out.append(f'<text x="{frame.x(i):.1f}" y="{base + 16}" '
                       f'text-anchor="middle">{_e(label)}</text>')
    out.append(f'<text class="axis-title" x="{LEFT + frame.plot_w / 2:.1f}" '
               f'y="{HEIGHT - 8}" text-anchor="middle" fill="{INK}">{_e(x_title)}</text>')
    cy = TOP + frame.plot_h / 2
    out.append(f'<text class="axis-title" x="14" y="{cy:.1f}" text-anchor="middle" '
               f'fill="{INK}" transform="rotate(-90 14 {cy:.1f})">{_e(y_title)}</text>')
    out.append("</g>")
    return out


def _legend(names: Sequence[tuple[str, str]]) -> list[str]:
    out = ['<g class="legend" font-size="12">']
    x = LEFT
    for name, color in names:
        out.append(f'<rect x="{x}" y="14" width="12" height="12" rx="2" fill="{color}"/>')
        out.append(f'<text x="{x + 17}" y="24" fill="{INK}">{_e(name)}</text>')
        x += 30 + 7 * len(name)
    out.append("</g>")
    return out


def _no_data(frame: _Frame) -> str:
    return (f'<text class="no-data" x="{LEFT + frame.plot_w / 2:.1f}" '
            f'y="{TOP + frame.plot_h / 2:.1f}" text-anchor="middle" font-size="13" '
            f'fill="{MUTED}">No data reported</text>')


def _values(series: Sequence[Series]) -> list[float]:
    return [float(v) for s in series for v in s.values if v is not None and math.isfinite(v)]


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
               *, y_title: str, axis: AxisFormat, value_format: ValueFormat,
               x_title: str = "Fiscal year") -> str:
    """Lines with a marker per point; a missing value breaks the line."""
    values = _values(series)
    frame = _Frame(labels, nice_ticks(min(values, default=0.0), max(values, default=1.0)))
    out = _open(chart_id, title, "line", not values)
    out += _axes(frame, axis, y_title, x_title)
    colors = [(s.name, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]
    out += _legend(colors)
    if not values:
        out.append(_no_data(frame))
    for s, (_, color) in zip(series, colors, strict=True):
        out.append(f'<g class="series" data-series="{_e(s.name)}">')
        run: list[str] = []
        for i, value in enumerate([*s.values, None]):
            if value is not None and math.isfinite(value):
                run.append(f"{frame.x(i):.1f},{frame.y(float(value)):.1f}")
                continue
            if len(run) > 1:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                           f'stroke="{color}" stroke-width="2.5" stroke-linejoin="round"/>')
            run = []
        for i, value in enumerate(s.values):
            if value is None or not math.isfinite(value):
                continue
            tip = f"{s.name}, {labels[i]}: {value_format(float(value))}"
            out.append(f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(float(value)):.1f}" r="4" '
                       f'fill="#ffffff" stroke="{color}" stroke-width="2.5">'
                       f"<title>{_e(tip)}</title></circle>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float | None],
              *, name: str, y_title: str, axis: AxisFormat, value_format: ValueFormat,
              x_title: str = "Fiscal year") -> str:
    """Bars from zero: positive in the series colour, negative in red."""
    present = _values([Series(name, values)])
    frame = _Frame(labels, nice_ticks(min(present, default=0.0), max(present, default=1.0)))
    out = _open(chart_id, title, "bar", not present)
    out += _axes(frame, axis, y_title, x_title)
    out += _legend([(name, PALETTE[0]), ("negative", NEGATIVE)])
    if not present:
        out.append(_no_data(frame))
    zero = frame.y(0.0)
    width = min(48.0, frame.band * 0.6)
    out.append(f'<g class="series" data-series="{_e(name)}">')
    for i, value in enumerate(values):
        if value is None or not math.isfinite(value):
            continue
        y = frame.y(float(value))
        top, height = min(y, zero), max(abs(zero - y), 1.0)
        color = NEGATIVE if value < 0 else PALETTE[0]
        tip = f"{name}, {labels[i]}: {value_format(float(value))}"
        out.append(f'<rect x="{frame.x(i) - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
                   f'height="{height:.1f}" rx="2" fill="{color}"><title>{_e(tip)}</title></rect>')
    out.append("</g></svg>")
    return "\n".join(out)


def sparkline(values: Sequence[float | None], *, label: str, width: int = 120,
              height: int = 28) -> str:
    """A small trend line for a table cell (no axes); last point marked."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    head = (f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{_e(label)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{_e(label)}</title>')
    if not points:
        return head + (f'<line x1="2" x2="{width - 2}" y1="{height / 2}" y2="{height / 2}" '
                       f'stroke="{GRID}" stroke-dasharray="3 3"/></svg>')
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> str:
        x = 3 + (width - 6) * (i / n if len(values) > 1 else 0.5)
        y = height - 3 - (height - 6) * ((v - lo) / span if hi != lo else 0.5)
        return f"{x:.1f},{y:.1f}"

    coords = [xy(i, v) for i, v in points]
    last_x, last_y = coords[-1].split(",")
    body = ""
    if len(coords) > 1:
        body += (f'<polyline points="{" ".join(coords)}" fill="none" stroke="{PALETTE[0]}" '
                 f'stroke-width="1.5" stroke-linejoin="round"/>')
    body += f'<circle cx="{last_x}" cy="{last_y}" r="2.5" fill="{PALETTE[0]}"/>'
    return head + body + "</svg>"
