"""How one input value lands in raw.facts (the contract's "How values land" table).

Shared by both readers (vendor, SEC) so a value means the same whatever file it came in:

* JSON numbers and strings that are plain decimal numbers (`"260174000000.000000"`,
  `"-0.02"`) are numbers: DECIMAL(38,10), rounded half-even to 10 decimals when longer.
* NaN, Infinity and values beyond DECIMAL(38,10) (28 integer digits) cannot be
  represented: the caller writes a reject row (`NotRepresentable` carries the reason).
* Everything else is text; `value_text` keeps the value as given (JSON literals and
  containers as JSON text).

Numbers reach the warehouse as canonical decimal *text* (`number_text`) that DuckDB casts
in bulk: building a Python `Decimal` per fact costs more than parsing the JSON. The
canonical text has at most 10 fraction digits and at most 28 integer digits, so the cast
is exact (DuckDB's own cast rounds half away from zero; ours is half-even) and never
overflows.

value_text of a JSON number is its canonical text: the integer's digits, or the float's
shortest round-trip form (`2019.0`, `0.001`, `1e-07`) whenever that denotes exactly the
number written; a number a binary double cannot hold exactly keeps the text as written
(`123456789012345678.12345678901`). The loader reads a file with orjson (floats) and,
when a float there may have lost digits, again with the tolerant parser
(`loads_tolerant`), which keeps every number's text (`JsonNumber`): nothing is rounded by
a binary float on the way, and a filing gets the same facts and id whichever parser read
it.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

import orjson

SCALE = 10
MAX_INTEGER_DIGITS = 28  # DECIMAL(38,10): 38 - 10
QUANTUM = Decimal(1).scaleb(-SCALE)
LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
# Enough precision for any in-range value at 10 decimals (the default context has 28
# digits and would round 38-digit values).
DECIMAL_CONTEXT = Context(prec=MAX_INTEGER_DIGITS + SCALE + 2, rounding=ROUND_HALF_EVEN)

# A string that is a plain decimal number (no exponent, no separators, no spaces).
PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# A plain decimal DuckDB casts exactly: in range and at most 10 fraction digits.
SAFE_DECIMAL = re.compile(r"[+-]?[0-9]{1,28}(?:\.[0-9]{0,10})?")
# Shortest strings that can be plain decimals but not safe ones ("." + 11 digits).
UNSAFE_MIN_LEN = 12


class NotRepresentable(ValueError):  # noqa: N818 - reads as a reason, not an error class
    """The value is a number DECIMAL(38,10) cannot hold (NaN, Infinity, out of range)."""


class JsonNumber(str):
    """A JSON number as written in the file (tolerant parse): exact, never a float."""

    __slots__ = ()


class DupDict(dict):  # type: ignore[type-arg]
    """A JSON object from the tolerant parse that remembers shadowed duplicate keys.

    `dups` lists (key, earlier value) for each key that occurred again later in the
    same object: the later value wins (it is the dict's value), the earlier ones are
    reject rows.
    """

    __slots__ = ("dups",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.dups: list[tuple[str, Any]] = []
        for key, value in pairs:
            if key in self:
                self.dups.append((key, self[key]))
            self[key] = value


def loads_tolerant(text: str) -> Any:
    """stdlib JSON parse that sees what orjson refuses or hides.

    NaN / Infinity / -Infinity and numbers of any size are kept as `JsonNumber` (the
    text as written) so one bad value costs one reject, not the file; duplicate keys are
    recorded on `DupDict.dups`. Raises ValueError (JSONDecodeError) or RecursionError.
    """
    return json.loads(
        text,
        object_pairs_hook=DupDict,
        parse_float=JsonNumber,
        parse_int=JsonNumber,
        parse_constant=JsonNumber,
    )


def _decimal_of_text(text: str) -> Decimal:
    """Decimal of a number's text, or NotRepresentable."""
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - callers pass number syntax
        raise NotRepresentable(f"not a number: {text[:40]!r}") from exc
    if not number.is_finite():
        raise NotRepresentable(f"not a finite number ({text[:40]})")
    if number.copy_abs() >= LIMIT:
        raise NotRepresentable(f"out of DECIMAL(38,10) range ({text[:40]})")
    rounded = number.quantize(QUANTUM, context=DECIMAL_CONTEXT)
    if rounded.copy_abs() >= LIMIT:
        raise NotRepresentable(f"out of DECIMAL(38,10) range ({text[:40]})")
    return rounded


def is_number(value: Any) -> bool:
    """True when the value lands as value_number (or is a number that cannot)."""
    kind = type(value)
    if kind is int or kind is float or kind is JsonNumber or kind is Decimal:
        return True
    return kind is str and PLAIN_DECIMAL.fullmatch(value) is not None


def to_decimal(value: Any) -> Decimal | None:
    """value_number of one value: Decimal rounded half-even to 10 places, or None for text.

    Raises NotRepresentable for NaN, Infinity and numbers beyond DECIMAL(38,10).
    Booleans are text (JSON true/false), never 1/0.
    """
    kind = type(value)
    if kind is bool or value is None:
        return None
    if kind is int:
        if abs(value) >= LIMIT:
            raise NotRepresentable(f"out of DECIMAL(38,10) range ({str(value)[:40]})")
        return Decimal(value).quantize(QUANTUM, context=DECIMAL_CONTEXT)
    if kind is float:
        if not math.isfinite(value):
            raise NotRepresentable(f"not a finite number ({value})")
        return _decimal_of_text(repr(value))
    if kind is Decimal:
        return _decimal_of_text(str(value))
    if kind is JsonNumber:
        return _decimal_of_text(value)
    if isinstance(value, str) and PLAIN_DECIMAL.fullmatch(value):
        return _decimal_of_text(value)
    return None


def decimal_text(number: Decimal) -> str:
    """Plain (non-exponent) text of a Decimal, for the bulk cast."""
    return format(number, "f")


def number_text(value: Any) -> str | None:
    """The canonical decimal text DuckDB casts to value_number, or None for text values.

    Exact (<= 10 fraction digits, in range). Raises NotRepresentable like `to_decimal`.
    """
    kind = type(value)
    if kind is int:
        text = str(value)
        if len(text) > MAX_INTEGER_DIGITS and abs(value) >= LIMIT:
            raise NotRepresentable(f"out of DECIMAL(38,10) range ({text[:40]})")
        return text
    if kind is str or kind is JsonNumber:
        if SAFE_DECIMAL.fullmatch(value):
            return value
        if kind is str and (len(value) < UNSAFE_MIN_LEN or not PLAIN_DECIMAL.fullmatch(value)):
            return None
        return decimal_text(_decimal_of_text(value))
    if kind is float:
        text = repr(value)
        if SAFE_DECIMAL.fullmatch(text):
            return text
        if not math.isfinite(value):
            raise NotRepresentable(f"not a finite number ({value})")
        return decimal_text(_decimal_of_text(text))
    if kind is Decimal:
        return decimal_text(_decimal_of_text(str(value)))
    return None


def number_as_written(value: JsonNumber) -> int | float | JsonNumber:
    """The plain JSON value orjson would have produced for this number, when exact.

    Used so that a filing parsed by the tolerant parser hashes and renders exactly as
    the same filing parsed by orjson (content-addressed filing ids must not depend on
    which parser read the file). Numbers a float cannot hold exactly stay JsonNumber.
    """
    text = str(value)
    if "." not in text and "e" not in text and "E" not in text:
        try:
            number = int(text)
        except ValueError:  # NaN / Infinity
            return value
        return number if -(2**63) <= number < 2**64 else value
    try:
        as_float = float(text)
    except ValueError:  # pragma: no cover
        return value
    if not math.isfinite(as_float):
        return value
    try:
        exact = Decimal(repr(as_float)) == Decimal(text)
    except InvalidOperation:  # pragma: no cover
        return value
    return as_float if exact else value


def plain(value: Any) -> Any:
    """A tolerant-parse value made orjson-native (JsonNumber -> int/float when exact)."""
    kind = type(value)
    if kind is JsonNumber:
        return number_as_written(value)
    if kind is DupDict or kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    return value


def _fragment(obj: Any) -> Any:
    if type(obj) is JsonNumber:
        return orjson.Fragment(str(obj))
    raise TypeError(f"not JSON: {type(obj).__name__}")


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON of a parsed value (plain or tolerant), numbers as written."""
    option = orjson.OPT_PASSTHROUGH_SUBCLASS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(plain(value), default=_fragment, option=option)


def value_text(value: Any) -> str | None:
    """value_text: strings as given, JSON true/false as 'true'/'false', null as NULL,
    numbers as their text, objects and arrays as compact JSON text."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if kind is JsonNumber:
        number = number_as_written(value)
        return str(value) if type(number) is JsonNumber else value_text(number)
    if kind is Decimal:
        return str(value)
    if isinstance(value, dict | list):
        return dumps(value).decode()
    return str(value)
