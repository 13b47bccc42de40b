"""Who wrote a report: the XCN-like fields (OBR-32/33/34) as id, name, assigning authority.

Senders fill these two ways. As XCN components (`A456^Attending^Alan^^^Dr^^^HOSP`: id,
family, given, middle, suffix, prefix, degree, source table, assigning authority) and, as the
standard has it for OBR-32..35 (v2.3 CM, v2.5 NDL), as a CNN in the first component's
sub-components (`A456&Attending&Alan&&&Dr&&&HOSP`, then start and end times in later
components). Both arrive here in the standard separators (`message.py` translates a sender's
own) and are read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.escaping import unescape
from ingest.quirks import person_in_first_component


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    authority: str


def _at(parts: list[str], index: int) -> str:
    return parts[index].strip() if index < len(parts) else ""


def parse_person(field: str) -> Person | None:
    """The person in one field (first repetition); None when it names nobody."""
    field = (field or "").strip()
    if not field:
        return None
    components = field.split("^")
    first = components[0]
    if person_in_first_component(components):
        # CNN in the first component (NDL: later components are times, not a name)
        parts = first.split("&")
        authority = _at(parts, 8) or _at(parts, 9)
    else:
        parts = components
        hd = _at(parts, 8).split("&")
        authority = _at(hd, 0) or _at(hd, 1)
    pid, family, given, middle, suffix, prefix, degree = (unescape(_at(parts, i))
                                                          for i in range(7))
    name = " ".join(p for p in (prefix, given, middle, family, suffix) if p)
    if degree:
        name = f"{name}, {degree}" if name else degree
    if not pid and not name:
        return None
    return Person(pid[:199], name[:256], unescape(authority)[:199])


def attribution(prelim_author: str, final_attending: str) -> dict[str, Any]:
    """The `pairs` columns naming the preliminary's author (the trainee: the preliminary's
    configured `resident` field) and the final's attending (its `attending` field)."""
    out: dict[str, Any] = {}
    for role, field in (("trainee", prelim_author), ("attending", final_attending)):
        person = parse_person(field)
        out[f"{role}_id"] = (person.id or None) if person else None
        out[f"{role}_name"] = (person.name or None) if person else None
        out[f"{role}_authority"] = (person.authority or None) if person else None
    return out
