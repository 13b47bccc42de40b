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

from scoring import lexicon
from scoring.vocabulary import read_data_toml

_PARENTHESIS = re.compile(r"\(\s*([A-Z][A-Za-z0-9]{1,6})s?\s*\)")
_WORDS_BEFORE = re.compile(r"([A-Za-z][A-Za-z-]*(?:\s+[A-Za-z][A-Za-z-]*){0,6})\s*$")


@functools.cache
def packaged() -> dict[str, str]:
    """Abbreviation -> words, from every table of `abbreviations.toml`."""
    out: dict[str, str] = {}
    for table in read_data_toml("abbreviations.toml").values():
        out.update(table)
    return out


def _long_form(abbreviation: str, words: str) -> str | None:
    """Schwartz & Hearst (2003): the abbreviation's characters found right to left in the
    words before it, its first character starting a word; the shortest such run of words."""
    a, w = len(abbreviation) - 1, len(words) - 1
    while a >= 0:
        c = abbreviation[a].lower()
        if not c.isalnum():
            a -= 1
            continue
        while w >= 0 and (words[w].lower() != c or (
                a == 0 and w > 0 and words[w - 1].isalnum())):
            w -= 1
        if w < 0:
            return None
        w -= 1
        a -= 1
    long = words[words.rfind(" ", 0, w + 1) + 1:].strip()
    n = len(long.split())
    return long.lower() if n <= min(len(abbreviation) + 5, 2 * len(abbreviation)) else None


def definitions(text: str) -> dict[str, str]:
    """A report's own "words (ABBR)" definitions."""
    out: dict[str, str] = {}
    if "(" not in text:
        return out
    for p in _PARENTHESIS.finditer(text):
        m = _WORDS_BEFORE.search(text, max(0, p.start() - 120), p.start())
        if m is None:
            continue
        long = _long_form(p.group(1), m.group(1))
        if long and len(long) > len(p.group(1)):
            out[p.group(1)] = long
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

    def then(self, later: Expanded | None) -> Expanded:
        """This rewriting followed by `later` (a rewriting of this text), as one way back."""
        if later is None:
            return self
        return Expanded(later.text, tuple(self.starts[i] for i in later.starts),
                        tuple(self.ends[i - 1] for i in later.ends))


@functools.lru_cache(maxsize=8192)
def _pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(r"(?<![\w/-])(" + alternatives + r")(s?)(?![\w-])")


def _plural(words: str) -> str:
    """"internal carotid artery" -> "internal carotid arteries", for "ICAs"."""
    head, space, last = words.rpartition(" ")
    return head + space + (lexicon.plural(last) or last)


def expand(sentence: str, local: dict[str, str] | None = None) -> Expanded | None:
    """The sentence with every known abbreviation written out, or None when it has none."""
    table = packaged() if not local else {**packaged(), **local}
    if not any(c.isupper() for c in sentence):
        return None
    pattern = _pattern(tuple(table))
    out: list[tuple[int, int, str]] = []
    for m in pattern.finditer(sentence):
        words = table[m.group(1)]
        if m.group(2):
            words = _plural(words)  # "bilat VAs": both vertebral arteries
        if sentence[max(0, m.start() - len(words) - 3):m.start()].lower().endswith(
                (words + " (", words + "(")):
            continue  # the definition itself: "subarachnoid hemorrhage (SAH)"
        out.append((m.start(), m.end(), words))
    return rewrite(sentence, out)


def rewrite(sentence: str, replacements: list[tuple[int, int, str]]) -> Expanded | None:
    """The sentence with each (start, end) span replaced by its words, in order, and the way
    back (each character of a replacement is the whole span replaced); None for none."""
    if not replacements:
        return None
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for start, end, words in replacements:
        parts.append(sentence[last:start])
        starts.extend(range(last, start))
        ends.extend(range(last + 1, start + 1))
        parts.append(words)
        starts.extend([start] * len(words))
        ends.extend([end] * len(words))
        last = end
    parts.append(sentence[last:])
    starts.extend(range(last, len(sentence) + 1))
    ends.extend(range(last + 1, len(sentence) + 2))
    return Expanded("".join(parts), tuple(starts), tuple(ends))
