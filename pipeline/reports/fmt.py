"""Numbers for people: thousands separators, negatives in parentheses, a dash for NULL.

Statements print a negative amount as (38,014,000), not -38,014,000, so the tables do
too; chart axes keep a minus sign (a parenthesis on an axis reads as a footnote).
Values arrive as DECIMAL(38,10) (`Decimal`) or DOUBLE (`float`); both format here, so
what a page shows is the mart's value rounded for display, never recomputed.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

MISSING: Final = "\u2014"  # em dash: "not reported and not derivable"
MINUS: Final = "\u2212"

Number = Decimal | float | int


def _finite(value: Number | None) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True


def _parenthesize(text: str, negative: bool) -> str:
    return f"({text})" if negative else text


def _grouped(value: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    rounded = abs(value).quantize(quantum, rounding=ROUND_HALF_EVEN)
    return f"{rounded:,.{decimals}f}"


def amount(value: Number | None, decimals: int | None = None) -> str:
    """A money amount in full units: 70,345,000 / (38,014,000) / em dash for NULL.

    Whole numbers print without decimals; a value with cents prints two, so a
    fractional amount is never silently shown as a whole one.
    """
    if not _finite(value):
        return MISSING
    dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)  # type: ignore[arg-type]
    if decimals is None:
        if dec == dec.to_integral_value():  # the common case, and the fast path
            whole = int(dec)
            text = f"{abs(whole):,}"
            return f"({text})" if whole < 0 else text
        decimals = 2
    text = _grouped(dec, decimals)
    negative = dec < 0 and text.strip("0.,") != ""
    return _parenthesize(text, negative)


def line_item(kind: str, value: Number | None) -> str:
    """A statement cell by the line item's kind (reference.line_items.value_kind).

    Per-share values (EPS) always show cents; money and share counts show whole units.
    """
    if kind == "per_share":
        return amount(value, 2)
    return amount(value)


def percent(value: float | None, decimals: int = 1) -> str:
    """A fraction (0.25) as a percentage (25.0%), negatives in parentheses."""
    if not _finite(value):
        return MISSING
    assert value is not None
    text = f"{abs(value) * 100:,.{decimals}f}%"
    return _parenthesize(text, value < 0 and text.strip("0.%,") != "")


def ratio(value: float | None, decimals: int = 2) -> str:
    """A multiple (current ratio 1.85x), negatives in parentheses."""
    if not _finite(value):
        return MISSING
    assert value is not None
    text = f"{abs(value):,.{decimals}f}x"
    return _parenthesize(text, value < 0 and text.strip("0.x,") != "")


def score(value: float | None) -> str:
    """A quality score (passed / evaluated) as a whole percentage."""
    return percent(value, 0)


_UNITS: Final = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"), (1.0, ""))


def _decimals_for(step: float) -> int:
    """Enough decimals that ticks `step` apart print exactly (0.25 -> 2, 2.5 -> 1, 5 -> 0)."""
    if step <= 0 or not math.isfinite(step):
        return 0
    exponent = Decimal(repr(round(step, 6))).normalize().as_tuple().exponent
    return min(4, max(0, -int(exponent)))


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS}{text}" if negative else text


def axis_amounts(ticks: list[float]) -> list[str]:
    """Axis labels sharing one unit: 0, 20M, 40M / −0.5M, 0, 0.5M / 250K, 500K."""
    top = max((abs(t) for t in ticks), default=0.0)
    size, suffix = next(((s, x) for s, x in _UNITS if top >= s), (1.0, ""))
    step = abs(ticks[1] - ticks[0]) / size if len(ticks) > 1 else 1.0
    decimals = _decimals_for(step)
    out = []
    for tick in ticks:
        text = f"{abs(tick) / size:,.{decimals}f}"
        zero = text.strip("0.,") == ""
        out.append("0" if zero else _signed(text + suffix, tick < 0))
    return out


def axis_percents(ticks: list[float]) -> list[str]:
    """Axis labels for fractions: −50%, 0%, 50%."""
    step = abs(ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1.0
    decimals = _decimals_for(step)
    out = []
    for tick in ticks:
        text = f"{abs(tick) * 100:,.{decimals}f}"
        out.append("0%" if text.strip("0.,") == "" else _signed(text + "%", tick < 0))
    return out


def axis_ratios(ticks: list[float]) -> list[str]:
    """Axis labels for multiples: 0x, 0.5x, 1.0x."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = _decimals_for(step)
    out = []
    for tick in ticks:
        text = f"{abs(tick):,.{decimals}f}"
        out.append("0x" if text.strip("0.,") == "" else _signed(text + "x", tick < 0))
    return out
