"""Abbreviations: "SAH" means what "subarachnoid hemorrhage" means, in every report.

Residents write shorthand (SAH, IVH, THA, OGT, CFV) and attendings spell it out, or the other
way round; both say the same. Each sentence is read with its abbreviations written out, so
the NER sees the words it knows, and the offsets of what it finds are mapped back to the
report as written (the table and the visualisation show "SAH", not the expansion).

Two sources: the packaged list (`data/abbreviations.toml`, case-sensitive, whole words), and
a report's own definitions ("subarachnoid hemorrhage (SAH)"), found by the
Schwartz-Hearst rule: the abbreviation's letters are the initials of the words before it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from scoring.vocabulary import read_data_toml

_DEFINITION = re.compile(r"([A-Za-z][A-Za-z-]*(?:\s+[A-Za-z][A-Za-z-]*){0,6})\s*\(\s*"
                         r"([A-Z][A-Za-z0-9]{1,6})s?\s*\)")


@functools.cache
def packaged() -> dict[str, str]:
    """Abbreviation -> words, from every table of `abbreviations.toml`."""
    out: dict[str, str] = {}
    for table in read_data_toml("abbreviations.toml").values():
        out.update(table)
    return out


def definitions(text: str) -> dict[str, str]:
    """A report's own "words (ABBR)" definitions: the shortest run of words before the
    parenthesis whose initials spell the abbreviation's capitals."""
    out: dict[str, str] = {}
    for m in _DEFINITION.finditer(text):
        words, abbreviation = m.group(1).split(), m.group(2)
        letters = [c.lower() for c in abbreviation if c.isupper()]
        for n in range(1, len(words) + 1):
            run = words[-n:]
            initials = [w[0].lower() for w in run]
            if initials == letters or (len(run) == len(letters) - 1 and "".join(
                    initials) == "".join(letters[:len(run)])):
                out[abbreviation] = " ".join(run).lower()
                break
    return out


@dataclass(frozen=True)
class Expanded:
    """A sentence with its abbreviations written out, and the way back to the original."""

    text: str
    # starts[i] / ends[i]: where the expanded text's character i begins / ends in the
    # original sentence (a character of an expansion: the whole abbreviation); one more
    # entry for the end.
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def back(self, start: int, end: int) -> tuple[int, int]:
        """An expanded span as a span of the original sentence; a finding that is part of
        an expansion ("hemorrhage" of "subarachnoid hemorrhage") is the abbreviation."""
        a = self.starts[start]
        b = self.ends[end - 1] if end > start else a
        return a, max(a, b)


@functools.lru_cache(maxsize=8192)
def _pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(r"(?<![\w/-])(" + alternatives + r")(?![\w-])")


def expand(sentence: str, local: dict[str, str] | None = None) -> Expanded | None:
    """The sentence with every known abbreviation written out, or None when it has none."""
    table = packaged() if not local else {**packaged(), **local}
    if not any(c.isupper() for c in sentence):
        return None
    pattern = _pattern(tuple(table))
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in pattern.finditer(sentence):
        words = table[m.group(1)]
        if sentence[max(0, m.start() - len(words) - 3):m.start()].lower().endswith(
                (words + " (", words + "(")):
            continue  # the definition itself: "subarachnoid hemorrhage (SAH)"
        parts.append(sentence[last:m.start()])
        starts.extend(range(last, m.start()))
        ends.extend(range(last + 1, m.start() + 1))
        parts.append(words)
        starts.extend([m.start()] * len(words))
        ends.extend([m.end()] * len(words))
        last = m.end()
    if not parts:
        return None
    parts.append(sentence[last:])
    starts.extend(range(last, len(sentence) + 1))
    ends.extend(range(last + 1, len(sentence) + 2))
    return Expanded("".join(parts), tuple(starts), tuple(ends))
