"""Measurements compared across a report pair: a velocity, a percentage, a volume or a length.

Sizes of named findings are compared on the findings themselves (`Mention.size_mm`, the
context check and `significance.SIZE_BANDS`). Many measurements belong to no finding the NER
names: a peak systolic velocity, an endometrial thickness, a thyroid uptake, a fibroid
remeasured in a reworded sentence. A value that one report gives and the other gives
differently is a modest measurement change: a minor discrepancy of its own kind (a change
that crosses a management threshold is major through the finding's size instead).

Both reports are read whole (their scored sections), so a reordered or reworded report keeps
its values: "4.1 cm" equals "41 mm", "<50%" equals "less than 50 percent". Only a value
changed on both sides counts (one report's value without a counterpart of its kind in the
other is an addition, which the findings already compare).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# unit -> (quantity, factor to its base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 1.0), "cm": ("length", 10.0),
    "cm/s": ("velocity", 1.0), "cm/sec": ("velocity", 1.0), "m/s": ("velocity", 100.0),
    "%": ("percent", 1.0), "percent": ("percent", 1.0),
    "ml": ("volume", 1.0), "cc": ("volume", 1.0),
}
_NUMBER = r"\d+(?:\.\d+)?"
_MEASURE = re.compile(
    rf"(?<![\d/.:])({_NUMBER})((?:\s*(?:x|×|by)\s*{_NUMBER})*)\s*-?\s*"
    r"(cm/sec|cm/s|m/s|mm|cm|ml|cc|%|percent)(?![a-z/])", re.IGNORECASE)
_ANOTHER = re.compile(_NUMBER)
# Relative and absolute slack: rounding ("4.1 cm" / "41 mm"), never a real change.
_REL, _ABS = 0.02, 0.05


def values(text: str) -> set[tuple[str, float]]:
    """Every (quantity, value in its base unit) the text states."""
    out: set[tuple[str, float]] = set()
    for m in _MEASURE.finditer(text):
        quantity, factor = _UNITS[m.group(3).lower()]
        for number in [m.group(1), *_ANOTHER.findall(m.group(2))]:
            out.add((quantity, round(float(number) * factor, 3)))
    return out


def _matched(value: tuple[str, float], others: Iterable[tuple[str, float]]) -> bool:
    quantity, v = value
    return any(q == quantity and abs(v - o) <= max(_ABS, _REL * max(v, o)) for q, o in others)


def changed(prelim: str, final: str) -> list[tuple[str, float, float]]:
    """(quantity, preliminary value, final value) for each quantity whose values differ on
    both sides; empty when every value of one report has its counterpart in the other."""
    p, f = values(prelim), values(final)
    lone_p = sorted(v for v in p if not _matched(v, f))
    lone_f = sorted(v for v in f if not _matched(v, p))
    out = []
    for quantity in sorted({q for q, _ in lone_p} & {q for q, _ in lone_f}):
        a = next(v for q, v in lone_p if q == quantity)
        b = next(v for q, v in lone_f if q == quantity)
        out.append((quantity, a, b))
    return out
