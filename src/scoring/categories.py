"""Structured categories: BI-RADS, LI-RADS, Lung-RADS, TI-RADS, Bosniak, PI-RADS, CAD-RADS,
V/Q probability, Weber and Garden fractures, breast density.

A category is how a report says what should happen next, so what matters is the category, not
its wording ("BI-RADS 2: benign" = "Category 2 - Benign"), and a change across a management
line (BI-RADS 2 -> 4: routine screening -> biopsy) is a major discrepancy, while a change
inside one (BI-RADS 1 -> 2) is minor. A category stated in one report only is silence in the
other, not a disagreement. Lines follow shared/notes/significance.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scoring.result import EntityRow


@dataclass(frozen=True)
class System:
    name: str
    pattern: re.Pattern[str]
    # value -> (rank, management group): ranks order values, groups are management lines.
    values: dict[str, tuple[int, int]]
    # words one of which any statement of the system contains (a cheap test first)
    keys: tuple[str, ...] = ()


def _values(groups: list[list[str]]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    rank = 0
    for g, members in enumerate(groups):
        for v in members:
            out[v] = (rank, g)
            rank += 1
    return out


_ROMAN = {"i": "1", "ii": "2", "iif": "2f", "iii": "3", "iv": "4"}
_SEP = r"[\s:=#-]*(?:category|cat\.?|assessment|score|class|type|level|stage|grade)?[\s:=#(-]*"
SYSTEMS: tuple[System, ...] = (
    System("BI-RADS", re.compile(r"\bbi-?rads" + _SEP + r"([0-6])\s*-?\s*([abc])?\b", re.I),
           _values([["0"], ["1", "2"], ["3"], ["4", "4a", "4b", "4c", "5"], ["6"]]),
           keys=("rads",)),
    System("LI-RADS", re.compile(r"\b(?:li-?rads" + _SEP + r"(?:lr-?)?|lr-)(1|2|3|4|5|m|tiv)\b",
                                 re.I),
           _values([["1", "2"], ["3"], ["4"], ["5"], ["m"], ["tiv"]]), keys=("rads", "lr-")),
    System("Lung-RADS", re.compile(r"\blung-?rads" + _SEP + r"(0|1|2|3|4a|4b|4x|s)\b", re.I),
           _values([["0"], ["1", "2"], ["3"], ["4a"], ["4b"], ["4x"], ["s"]]), keys=("rads",)),
    System("TI-RADS", re.compile(r"\b(?:ti-?rads" + _SEP + r"(?:tr-?)?|tr-?)([1-5])\b", re.I),
           _values([["1", "2"], ["3"], ["4"], ["5"]]), keys=("rads", "tr")),
    System("Bosniak", re.compile(r"\bbosniak" + _SEP + r"(iif|iii|ii|iv|i|2f|[1-4])\b", re.I),
           _values([["1", "2"], ["2f"], ["3", "4"]]), keys=("bosniak",)),
    System("PI-RADS", re.compile(r"\bpi-?rads(?:\s*v?2(?:\.1)?)?" + _SEP + r"([1-5])\b", re.I),
           _values([["1", "2"], ["3"], ["4", "5"]]), keys=("rads",)),
    System("CAD-RADS", re.compile(r"\bcad-?rads" + _SEP + r"([0-5]|n)\b", re.I),
           _values([["0", "1", "2"], ["3"], ["4", "5"], ["n"]]), keys=("rads",)),
    System("V/Q probability", re.compile(
        r"\b(normal|very low|low|intermediate|indeterminate|high)[\s-]+probability\b", re.I),
        _values([["normal", "very low", "low"], ["intermediate", "indeterminate"], ["high"]]),
        keys=("probability",)),
    System("Weber", re.compile(r"\bweber" + _SEP + r"([abc])\b", re.I),
           _values([["a"], ["b"], ["c"]]), keys=("weber",)),
    System("Garden", re.compile(r"\bgarden" + _SEP + r"(iv|iii|ii|i|[1-4])\b", re.I),
           _values([["1", "2"], ["3", "4"]]), keys=("garden",)),
    System("breast density", re.compile(
        r"\b(?:breast )?(?:density|composition)" + _SEP + r"(?:acr\s*)?([abcd])\b(?![-/])",
        re.I), _values([["a"], ["b"], ["c"], ["d"]]), keys=("density", "composition")),
)


@dataclass(frozen=True)
class Stated:
    system: System
    value: str
    text: str
    span: tuple[int, int]


def read(text: str) -> dict[str, Stated]:
    """The category each system is given in a report: its highest-ranked value (a report
    that states one per breast is assessed by the worse)."""
    out: dict[str, Stated] = {}
    low = text.lower()
    for system in SYSTEMS:
        if not any(k in low for k in system.keys):
            continue
        for m in system.pattern.finditer(text):
            raw = "".join(g for g in m.groups() if g).lower()
            value = _ROMAN.get(raw, raw)
            if value not in system.values:
                continue
            seen = out.get(system.name)
            if seen is None or system.values[value][0] > system.values[seen.value][0]:
                out[system.name] = Stated(system, value, m.group(0), m.span())
    return out


def compare(prelim: str, final: str, section: str) -> list[EntityRow]:
    """One row per system both reports state: matched, or mismatched by `category`."""
    p, f = read(prelim), read(final)
    rows = []
    for name in p.keys() & f.keys():
        a, b = p[name], f[name]
        system = a.system
        same = a.value == b.value
        across = system.values[a.value][1] != system.values[b.value][1]
        rows.append(EntityRow(
            category="matched" if same else "mismatched", concept=f"category:{name}",
            label=f"{name} {b.value.upper()}", kind="category", section=section,
            prelim_text=a.text, prelim_span=a.span, final_text=b.text, final_span=b.span,
            prelim_attributes={"category": a.value.upper()},
            final_attributes={"category": b.value.upper()},
            reason=None if same else "category", match="exact",
            significance="significant" if across else "incidental",
            actionable=not same and across,
            prelim_label=f"{name} {a.value.upper()}" if not same else None))
    return sorted(rows, key=lambda r: r.final_span or (0, 0))
