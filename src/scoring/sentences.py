"""Sentences of a scored section, each with the organ sub-heading it stands under.

Real reports are not clean prose: lines wrap inside sentences (one HL7 OBX per line), findings
come as numbered lists or bullets ("1. Acute appendicitis. 2. No abscess."), CT and MR
templates put organs as sub-headings ("LIVER: Normal.", "Kidneys: No hydronephrosis."), and
periods double up. A sentence is the unit the NER reads and caches, so templated sentences
("The spleen is unremarkable.") are analysed once however many reports repeat them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A list marker at the start of a line or of an inline item: "1.", "2)", "-", "•", "a."
_MARKER = re.compile(r"^[ \t]*(?:\(?\d{1,2}[.)](?!\d)|[-–•*·▪●]|[a-h][.)](?=\s))[ \t]*")
# An organ sub-heading: a few words then a colon, at the start of a line or item.
_SUBHEADING = re.compile(r"^[ \t]*([A-Za-z][A-Za-z0-9 /,&'-]{0,60}?)[ \t]*:[ \t]*")
# Sentence ends: . ! ? ; followed by space (not inside a number, not after an abbreviation).
_END = re.compile(r"(?<=[.!?;])[ \t]+(?=\S)|(?<=\.\.)(?=\S)")
_INLINE_ITEM = re.compile(r"(?<=[.;])[ \t]+(?=\(?\d{1,2}[.)][ \t]+[A-Za-z])")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:dr|vs|approx|e\.g|i\.e|st|no|fig|figs|mr|mrs|ms|incl|resp|cf|al|etc|ca|sr|jr|"
    r"prof|hx|dx|pt|pts|yr|yrs|min|max|avg)\.|\b[a-z]\.)$", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    heading: str | None  # the organ sub-heading above it, as written ("LIVER")
    lenient: bool  # in an impression: every noun phrase may name a diagnosis


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    for piece in text[start:end].split("\n"):
        out.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    return out


def _units(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Runs of lines that belong together: a wrapped sentence is one unit; a list item, a
    sub-heading or a line after a full stop or a blank line starts a new one. The flag says
    whether a blank line came before (a sub-heading's reach ends there)."""
    units: list[list[int]] = []
    blank_before = []
    previous_end = ""
    previous_word = ""
    previous_length = 0
    blank = True
    for a, b in _lines(text, start, end):
        line = text[a:b].rstrip("\r")
        if not line.strip():
            blank = True
            continue
        new = (blank or not units or previous_end in ".!?:;" or _MARKER.match(line)
               or (_SUBHEADING.match(line) and not _MARKER.match(line) and line.isupper())
               or _starts_item(line, previous_word, previous_length))
        if new:
            units.append([a, a + len(line)])
            blank_before.append(blank)
        else:
            units[-1][1] = a + len(line)
        previous_end = line.rstrip()[-1:] if line.rstrip() else ""
        previous_word = line.rsplit(None, 1)[-1].lower() if line.split() else ""
        previous_length = len(line.strip())
        blank = False
    return [(u[0], u[1], bb) for u, bb in zip(units, blank_before, strict=True)]


# A line ending in one of these continues on the next ("... with\nmild stranding").
_CONTINUES = frozenset({"and", "or", "of", "the", "a", "an", "with", "without", "to", "in",
                        "on", "at", "by", "for", "from", "into", "within", "is", "are", "was",
                        "were", "which", "that", "no", "not", "measuring", "than", "as", "but"})


def _starts_item(line: str, previous_word: str, previous_length: int) -> bool:
    """A telegraphic list item on its own line: it starts with a capital, or the line before
    is short (a list, not text wrapped at a margin), and the line before did not stop in the
    middle of a phrase. A wrapped sentence goes on in lower case after a long line."""
    if previous_word.endswith(",") or previous_word in _CONTINUES:
        return False
    first = line.lstrip()[:1]
    return first.isupper() or previous_length < 50


def _split_unit(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Sentence spans of one unit, inline numbered items apart."""
    pieces: list[tuple[int, int]] = []
    cut = a
    chunk = text[a:b]
    boundaries = sorted({m.start() for m in _END.finditer(chunk)}
                        | {m.start() for m in _INLINE_ITEM.finditer(chunk)})
    for pos in boundaries:
        before = chunk[:pos].rstrip()
        if _ABBREVIATIONS.search(before) and not before.endswith(".."):
            continue
        pieces.append((cut, a + pos))
        cut = a + pos
    pieces.append((cut, b))
    return pieces


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Without list markers, surrounding space and trailing extra periods."""
    while True:
        m = _MARKER.match(text[a:b])
        if not m or m.end() == 0:
            break
        a += m.end()
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def split_sentences(text: str, start: int, end: int, lenient: bool = False,
                    ) -> list[Sentence]:
    """The sentences of text[start:end] with the sub-heading each stands under."""
    out: list[Sentence] = []
    heading: str | None = None
    for a, b, blank_before in _units(text, start, end):
        if blank_before and heading is not None and not _SUBHEADING.match(
                text[a:b].lstrip(" \t-•*·")):
            heading = None
        for sa, sb in _split_unit(text, a, b):
            sa, sb = _trim(text, sa, sb)
            m = _SUBHEADING.match(text[sa:sb])
            if m and _looks_like_heading(m.group(1)) and not _diagnosis_first(
                    m.group(1), text[sa + m.end():sb]):
                heading = m.group(1).strip()
                sa += m.end()
                sa, sb = _trim(text, sa, sb)
            if sb - sa < 2 or not any(c.isalnum() for c in text[sa:sb]):
                continue
            out.append(Sentence(sa, sb, heading, lenient))
    return out


# "Acute calculous cholecystitis: impacted stone, ...": a diagnosis followed by its signs, not
# an organ sub-heading; "Pneumothorax: none." is a heading with its answer.
_DIAGNOSIS_WORD = re.compile(r"(itis|osis|oma|emia|pathy|rrhage|thrombosis|embolism|fracture|"
                             r"obstruction|abscess|dissection|aneurysm|infarct\w*|hematoma|"
                             r"torsion|perforation|rupture|tear)$", re.IGNORECASE)
_ANSWER = re.compile(r"^\W*(no|none|not|negative|absent|normal|unremarkable|yes|present)\b",
                     re.IGNORECASE)


def _diagnosis_first(heading: str, rest: str) -> bool:
    return bool(_DIAGNOSIS_WORD.search(heading.strip())) and not _ANSWER.match(rest)


def _looks_like_heading(words: str) -> bool:
    """A sub-heading is short and has no verb-like sentence material."""
    parts = words.split()
    return 1 <= len(parts) <= 5 and parts[0].lower() not in ("no", "not", "without") and not any(
        w.lower() in ("is", "are", "was", "with", "the") for w in parts)
