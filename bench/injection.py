"""Edits that turn a real final report into a synthetic preliminary, by error type.

Used by `eval_injection.py` and to write the development injection set for `score-batch`.
The edits are generic text operations (sentence order, negation, side, severity words,
abbreviations, units); none is written for a particular report. Derived texts exist only in
memory or in files the caller asks for outside the repository (the IU licence forbids
redistributing modified reports).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import cache

from _iu import DATA

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
HEADING = re.compile(r"^(FINDINGS|IMPRESSION):\s*", re.MULTILINE)

ABBREVIATIONS = [
    ("right lower lobe", "RLL"), ("left lower lobe", "LLL"), ("right upper lobe", "RUL"),
    ("left upper lobe", "LUL"), ("right middle lobe", "RML"),
]
SYNONYMS = [
    ("cardiomegaly", "enlarged heart"), ("pleural effusion", "pleural fluid"),
    ("hyperinflated", "hyperexpanded"), ("hyperexpanded", "hyperinflated"),
    ("low lung volumes", "hypoinflated lungs"), ("pulmonary edema", "pulmonary oedema"),
    ("granuloma", "calcified nodule"), ("atherosclerotic", "atherosclerosis of the aorta and"),
    ("degenerative changes", "spondylosis"), ("pneumothorax", "PTX"),
    ("congestive heart failure", "CHF"), ("opacity", "opacification"),
]
SEVERITY_SWAP = {"mild": "severe", "mildly": "severely", "severe": "mild", "small": "large",
                 "large": "small", "minimal": "extensive", "moderate": "mild", "trace": "large",
                 "tiny": "large", "moderately": "mildly", "slight": "marked",
                 "extensive": "minimal", "marked": "slight", "markedly": "slightly"}
# "small" / "large" that name an organ or a kind, not a severity: swapping them is another
# edit (a place or a diagnosis), which the severity edit must not pass for a severity change.
ORGAN_NAMED = r"(?!\s+(?:bowel|intestin\w*|cell|vessels?|airways?|saphenous|bore)\b)"
CRITICAL_ADDITIONS = [
    ("Small right apical pneumothorax.", "pneumothorax"),
    ("Large left pleural effusion.", "pleural effusion"),
    ("Spiculated 2 cm nodule in the left upper lobe.", "nodule"),
    ("Displaced fracture of the right sixth rib.", "fracture"),
    ("Free air under the right hemidiaphragm.", "free air"),
    ("Right upper lobe mass.", "mass"),
]


def split(text: str) -> list[tuple[str, list[str]]]:
    """[(heading, [sentences])] of a FINDINGS/IMPRESSION report."""
    parts = HEADING.split(text)
    out = []
    for i in range(1, len(parts), 2):
        sentences = [s.strip() for s in SENTENCE.split(parts[i + 1].strip()) if s.strip()]
        out.append((parts[i], sentences))
    return out


def join(sections: list[tuple[str, list[str]]]) -> str:
    return "\n".join(f"{h}: {' '.join(s)}" for h, s in sections if s)


def _sentences(sections: list[tuple[str, list[str]]]) -> list[tuple[int, int]]:
    return [(i, j) for i, (_, ss) in enumerate(sections) for j in range(len(ss))]


def _negative(sentence: str) -> bool:
    return bool(re.search(r"\b(no|not|without|negative for|free of|clear|removal|removed)\b",
                          sentence, re.I))


# CheXpert lists some anatomy words as mentions and leaves the finding to its rules; a sentence
# naming only these ("the heart is normal") states no finding.
ANATOMY_ONLY = {"the heart", "heart size", "cardiac size", "cardiac shadow", "cardiac contour",
                "cardiac silhouette", "_mediastinum", "cardiomediastinum", "contour",
                "mediastinal configuration", "mediastinal silhouette", "pericardial silhouette",
                "cardiac silhouette and vascularity", "support", "marker", "density",
                "prominen", "elevation", "fissure", "_line_", "lines", "tube", "valve"}


@cache
def _chexpert_phrases() -> tuple[str, ...]:
    """The CheXpert labeler's mention phrases: an independent notion of 'names a finding'."""
    folder = DATA / "lexicon-sources" / "chexpert-labeler" / "phrases" / "mention"
    phrases = set()
    for path in folder.glob("*.txt"):
        phrases |= {p.strip().lower() for p in path.read_text().splitlines() if p.strip()}
    return tuple(sorted(phrases - ANATOMY_ONLY))


def names_finding(sentence: str) -> bool:
    """A sentence that states a finding as present, by CheXpert's phrase list."""
    low = sentence.lower()
    if _negative(sentence) or re.search(r"\b(normal|unremarkable|intact|stable)\b", low):
        return False
    return any(p in low for p in _chexpert_phrases())


def _replace_sentence(text: str, pick: Callable[[str], str | None], rng: random.Random,
                      finding_only: bool = False) -> str | None:
    sections = split(text)
    spots = _sentences(sections)
    rng.shuffle(spots)
    for i, j in spots:
        old = sections[i][1][j]
        if finding_only and not names_finding(old):
            continue
        new = pick(old)
        if new is not None and new != old:
            sections[i][1][j] = new
            return join(sections)
    return None


def identity(text: str, rng: random.Random) -> str | None:
    return text


# A denial with a verb of its own ("No shunt vascularity is appreciated") is a clause, not a
# noun phrase: "There is no X" or "X is excluded" around it would not be English.
_CLAUSE = re.compile(r"\b(is|are|was|were|seen|noted|identified|appreciated|demonstrated|"
                     r"present)\b", re.IGNORECASE)


def reword(sentences: list[str], rng: random.Random) -> bool:
    """'There is no X' <-> 'No X', then the sentences shuffled, in place; False when nothing
    changed. The benign edit of both injection benches (IU chest and MedPix)."""
    changed = False
    for k, s in enumerate(sentences):
        if s.startswith("There is no "):
            sentences[k] = "No " + s[len("There is no "):]
            changed = True
        elif s.startswith("No ") and not s.startswith("No acute") and not _CLAUSE.search(s):
            sentences[k] = "There is no " + s[3:]
            changed = True
    if len(sentences) > 1:
        before = list(sentences)
        rng.shuffle(sentences)
        changed = changed or sentences != before
    return changed


# How attendings restyle a sentence without changing what it says: each negation form, hedges
# of one strength, neighbouring severity words, abbreviations written out or in. Generic text
# rules, none written for a report.
_NEGATION_FORMS = [
    lambda x: f"No {x}.", lambda x: f"There is no {x}.", lambda x: f"No evidence of {x}.",
    lambda x: f"Negative for {x}.", lambda x: f"{x[0].upper() + x[1:]} is not seen.",
    lambda x: f"{x[0].upper() + x[1:]} is excluded.",
    lambda x: f"No radiographic evidence of {x}.",
]
_HEDGES = [("likely", "probably"), ("probably", "likely"), ("consistent with", "compatible with"),
           ("compatible with", "consistent with"), ("suggestive of", "likely representing"),
           ("may represent", "possibly representing")]
_NEIGHBOURS = [("minimal", "mild"), ("mild", "minimal"), ("tiny", "small"), ("small", "tiny")]
_NO_X = re.compile(r"^(?:There (?:is|are) no|No) ([a-z][a-z ,-]{2,60}?)\.?$", re.IGNORECASE)


def _expansions() -> list[tuple[str, str]]:
    """(words, abbreviation) of the scorer's packaged list: the restyling writes either."""
    from scoring.abbreviations import packaged

    return [(w, a) for a, w in packaged().items() if len(a) >= 3 and a.isupper()]


def restyle_sentence(s: str, rng: random.Random) -> str:
    """One sentence rewritten in another attending's words, meaning kept."""
    m = _NO_X.match(s.strip())
    if m and " or " not in m.group(1) and " and " not in m.group(1) and \
            not _CLAUSE.search(m.group(1)):
        return rng.choice(_NEGATION_FORMS)(m.group(1).strip())
    for a, b in rng.sample(_HEDGES, len(_HEDGES)):
        if re.search(rf"\b{a}\b", s):
            return re.sub(rf"\b{a}\b", b, s, count=1)
    for a, b in _NEIGHBOURS:
        if re.search(rf"\b{a}\b", s, re.I):
            return re.sub(rf"\b{a}\b", b, s, count=1, flags=re.I)
    for words, short in _expansions():
        if re.search(rf"\b{re.escape(words)}\b", s, re.I):
            return re.sub(rf"\b{re.escape(words)}\b", short, s, count=1, flags=re.I)
    return s


def _first_upper(s: str) -> str:
    """The first letter capital, the rest as written ("CT", "GGO" stay capitals)."""
    return s[:1].upper() + s[1:]


def restyle(sentences: list[str], rng: random.Random) -> bool:
    """A real restyling, in place: about half the sentences rewritten (negation forms, hedges
    of one strength, minimal/mild, abbreviations), the order changed, and prose turned into
    telegraphic items or the other way round. False when nothing changed."""
    before = list(sentences)
    for k, s in enumerate(sentences):
        if rng.random() < 0.6:
            sentences[k] = restyle_sentence(s, rng)
    if len(sentences) > 1:
        rng.shuffle(sentences)
    if rng.random() < 0.5:  # telegraphic: drop "There is/are"
        sentences[:] = [_first_upper(re.sub(r"^There (?:is|are) (?:a |an )?", "", s))
                        if not s.startswith("There is no") else s for s in sentences]
    return sentences != before


def _each_section(text: str, rng: random.Random,
                  edit: Callable[[list[str], random.Random], bool]) -> str | None:
    """`edit` applied to the sentences of each section in place; None when nothing changed."""
    sections = split(text)
    changed = False
    for _, sentences in sections:
        changed = edit(sentences, rng) or changed
    return join(sections) if changed else None


def restyling(text: str, rng: random.Random) -> str | None:
    """Sentences rewritten, reordered and restyled in each section (see `restyle`)."""
    return _each_section(text, rng, restyle)


def benign_rewording(text: str, rng: random.Random) -> str | None:
    """Sentence order within each section and 'There is no X' <-> 'No X'."""
    return _each_section(text, rng, reword)


def paraphrase(text: str, rng: random.Random) -> str | None:
    """Lobe abbreviations, cm <-> mm, synonyms radiologists use interchangeably."""
    out = text
    for long, short in ABBREVIATIONS:
        out = re.sub(long, short, out, flags=re.I)
    out = re.sub(r"(\d+(?:\.\d+)?)\s*cm\b",
                 lambda m: f"{float(m.group(1)) * 10:g} mm", out)
    for a, b in SYNONYMS:
        if re.search(rf"\b{a}\b", out, re.I):
            out = re.sub(rf"\b{a}\b", b, out, count=1, flags=re.I)
            break
    return out if out != text else None


def _phrases(sentence: str) -> set[str]:
    low = sentence.lower()
    return {p for p in _chexpert_phrases() if p in low}


def _stated_elsewhere(sections: list[tuple[str, list[str]]], i: int, j: int) -> bool:
    """Every finding phrase of sentence (i, j) is stated, not denied, by another sentence of
    the report ("Mild cardiomegaly." in the impression of "The heart is mildly enlarged.
    ... Cardiomegaly."): left out, the report still says all it said (DESIGN §4: nothing
    clinical differs)."""
    phrases = _phrases(sections[i][1][j])
    others = [s for a, b in _sentences(sections) if (a, b) != (i, j)
              for s in [sections[a][1][b]] if not _negative(s)]
    return bool(phrases) and all(any(p in o.lower() for o in others) for p in phrases)


def omission(text: str, rng: random.Random) -> str | None:
    """Drop one sentence that states a positive finding (no negation word) that no other
    sentence of the report states."""
    sections = split(text)
    spots = [(i, j) for i, j in _sentences(sections) if names_finding(sections[i][1][j])
             and not _stated_elsewhere(sections, i, j)]
    if not spots:
        return None
    i, j = rng.choice(spots)
    del sections[i][1][j]
    if not any(ss for _, ss in sections):
        return None
    return join(sections)


def negation_flip(text: str, rng: random.Random) -> str | None:
    def flip(s: str) -> str | None:
        for pattern, repl in ((r"^There is no ", "There is "), (r"^There are no ", "There are "),
                              (r"^There (is|are) (?!no )", r"There \1 no "),
                              (r"^No ", ""), (r"\bno evidence of\b", "evidence of"),
                              (r"\bwithout\b", "with")):
            if re.search(pattern, s):
                new = re.sub(pattern, repl, s, count=1)
                return new[0].upper() + new[1:]
        if names_finding(s):
            return "No " + s[0].lower() + s[1:]
        return None

    sections = split(text)
    flippable = [s for _, ss in sections for s in ss if flip(s) is not None and (
        _negative(s) or names_finding(s))]
    if not flippable:
        return None
    return _replace_sentence(text, lambda s: flip(s) if s in flippable else None, rng)


def laterality_swap(text: str, rng: random.Random) -> str | None:
    def swap(s: str) -> str | None:
        # A sentence naming both sides says the same after a swap (as a set of sides).
        if not re.search(r"\b(left|right)\b", s, re.I) or (
                re.search(r"\bleft\b", s, re.I) and re.search(r"\bright\b", s, re.I)):
            return None
        table = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}
        return re.sub(r"\b(left|right|Left|Right)\b", lambda m: table[m.group(1)], s)

    return _replace_sentence(text, swap, rng, finding_only=True)


def severity_swap(text: str, rng: random.Random) -> str | None:
    words = "|".join(SEVERITY_SWAP)

    def swap(s: str) -> str | None:
        m = re.search(rf"\b({words})\b{ORGAN_NAMED}", s, re.I)
        if not m:
            return None
        word = m.group(1)
        new = SEVERITY_SWAP[word.lower()]
        new = new.capitalize() if word[0].isupper() else new
        return s[:m.start()] + new + s[m.end():]

    return _replace_sentence(text, swap, rng, finding_only=True)


def added_critical(text: str, rng: random.Random) -> str | None:
    options = [(s, key) for s, key in CRITICAL_ADDITIONS if key not in text.lower()]
    if not options:
        return None
    sentence, _ = rng.choice(options)
    sections = split(text)
    heading, sentences = sections[-1]
    sections[-1] = (heading, [sentence, *sentences])
    return join(sections)


ERRORS: dict[str, Callable[[str, random.Random], str | None]] = {
    "omission": omission,
    "negation_flip": negation_flip,
    "laterality_swap": laterality_swap,
    "severity_swap": severity_swap,
    "added_critical": added_critical,
}
BENIGN: dict[str, Callable[[str, random.Random], str | None]] = {
    "identity": identity,
    "benign_rewording": benign_rewording,
    "restyling": restyling,
    "paraphrase": paraphrase,
}
