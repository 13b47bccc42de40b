"""Read sentences into findings, once each: the parse is the costly step, and CT and MR
reports are templated ("The spleen is unremarkable." recurs across thousands of them).

`SentenceReader.read_many` parses only the sentences it has not seen (batched through
`nlp.pipe`) and keeps the readings in a bounded LRU cache. A reading holds only what the
sentence itself says, with offsets inside the sentence; where the sentence stands (section,
organ sub-heading, exam) is added by `scoring.ner`, so one reading serves every report.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.entities import ENTITY, Entity
from scoring.mention import Polarity
from scoring.nlp import Doc, Language, Span, Token
from scoring.pipeline import NEGATION_CUES, build_pipeline
from scoring.terms import TERMS, TermKind, kind, value


@dataclass(frozen=True)
class Found:
    """One finding of one sentence; offsets are characters inside the sentence."""

    start: int
    end: int
    text: str
    concept: str
    head: str | None
    kind: str
    anatomy: str | None
    fixed: bool
    how: str
    words: str
    polarity: Polarity
    historical: bool = False
    laterality: str | None = None
    severity: int | None = None
    severity_words: str | None = None
    change: str | None = None
    position: str | None = None
    size_mm: float | None = None
    size_words: str | None = None
    sentence_anatomy: tuple[str, ...] = ()
    descriptors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    found: tuple[Found, ...]
    bare_normal: bool  # "Normal." / "Unremarkable.": says it of the organ heading above it


def _prefix(t: Token) -> bool:
    """"non" of "non-small", a prefix of the word after it, not a word of its own."""
    return t.lower_ == "non" and t.i + 1 < len(t.doc) and t.doc[t.i + 1].text == "-"


# A denial of what a finding does, not of the finding: "no residual filling of the
# aneurysm", "without enhancement of the cyst", "enhancement within the thrombus is excluded"
# say the aneurysm, the cyst and the thrombus are there.
_DENIED_PROPERTY_OF = re.compile(
    r"\b(filling|opacification|enhancement|flow|rupture|"
    r"growth|enlargement|recanalization|thrombosis|perfusion|extension|invasion)\s+"
    r"(of|within|in)\s+(the|an?|this|that|its)\s+([\w-]+\s+){0,2}$", re.IGNORECASE)


def _polarity(ent: Span, e: Entity) -> Polarity:
    if e.absent:
        return "absent"
    if ent._.is_negated and not _DENIED_PROPERTY_OF.search(
            ent.doc[ent.sent.start:ent.start].text + " "):
        return "absent"
    if e.how != "normal" and any(t.lower_ in NEGATION_CUES and not _prefix(t) for t in ent):
        return "absent"  # but a name's own prefix denies nothing: "non-small cell carcinoma"
    doc = ent.doc
    if ent.start >= 1 and doc[ent.start - 1].lower_ in ("no", "without"):
        return "absent"  # "No abnormal signal": ConText's "no abnormal" overlaps the finding
    if _DENIED_LINK.search(doc[ent.sent.start:ent.start].text):
        return "absent"  # "No findings consistent with pneumonia": what is denied is named
    if ent.start >= 2 and doc[ent.start - 1].text == "-" and doc[ent.start - 2].lower_ == "non":
        return "absent"  # "non-mass-like", "non-obstructing": the prefix denies the word
    if ent._.is_uncertain or ent._.is_hypothetical:
        return "possible"
    return "present"


# A denial, then (no comma or semicolon between) a link to what it would have shown, ending
# just before the finding: "no opacity consistent with pneumonia" denies the pneumonia;
# "a mass without calcification, consistent with lymphoma" does not deny the lymphoma.
_DENIED_LINK = re.compile(
    r"\b(no|without|negative for)\b[^,;]*\b(consistent with|compatible with|suggestive of|"
    r"to suggest|suspicious for|concerning for|diagnostic of|indicative of|typical of|"
    r"in keeping with|characteristic of)(\s+(an?|the|acute|active))?\s*$", re.IGNORECASE)


def _adjective(word: str) -> str:
    """'mildly' -> 'mild', so "mildly enlarged heart" reads "mild cardiomegaly"."""
    return word[:-2] if word.endswith("ly") else word


# Position words that only a device can have: a catheter "embolized" to the pulmonary artery
# is out of place, an aneurysm "embolized" was treated.
_DEVICE_ONLY_POSITION = frozenset({"embolized", "embolised"})


def _found(ent: Span, e: Entity, places: tuple[str, ...]) -> Found:
    q = e.quals
    positions = [p for p in q.get("position", [])
                 if e.kind == "device" or p[2].lower() not in _DEVICE_ONLY_POSITION]
    sides = {v for _, v, _ in q.get("laterality", [])}
    severity = min(q["severity"]) if q.get("severity") else None
    size = min(q["size"]) if q.get("size") else None
    return Found(
        start=ent.start_char, end=ent.end_char, text=ent.text, concept=e.concept,
        head=e.head, kind=e.kind, anatomy=e.anatomy, fixed=e.fixed, how=e.how,
        words=e.words, polarity=_polarity(ent, e), historical=bool(ent._.is_historical),
        laterality=("bilateral" if len(sides) > 1 else next(iter(sides))) if sides else None,
        severity=int(severity[1]) if severity else None,
        severity_words=_adjective(severity[2].lower()) if severity else None,
        change=min(q["change"])[1] if q.get("change") else None,
        position=min(positions)[1] if positions else None,
        size_mm=float(size[1]) if size else None, size_words=size[2] if size else None,
        sentence_anatomy=places, descriptors=tuple(dict.fromkeys(e.descriptors)),
    )


def read_doc(doc: Doc) -> Reading:
    places = tuple(dict.fromkeys(
        value(s) for s in doc.spans.get(TERMS, []) if kind(s) is TermKind.ANATOMY))
    found = tuple(_found(ent, ent._.get(ENTITY), places) for ent in doc.ents
                  if ent._.get(ENTITY) is not None)
    return Reading(found, bool(doc.user_data.get("bare_normal")))


class SentenceReader:
    """The NLP pipeline behind a bounded cache of sentence readings."""

    def __init__(self, nlp: Language | None = None, cache_size: int = 50_000) -> None:
        self.nlp = nlp or build_pipeline()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, bool], Reading] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def read_many(self, sentences: Sequence[tuple[str, bool]]) -> list[Reading]:
        """Readings of (sentence text, lenient) in order; new sentences parsed in one batch."""
        todo = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        self.misses += len(todo)
        self.hits += len(sentences) - len(todo)
        if todo:
            docs = (self._doc(text, lenient) for text, lenient in todo)
            for key, doc in zip(todo, self.nlp.pipe(docs), strict=True):
                self._cache[key] = read_doc(doc)
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        out = []
        for key in sentences:
            reading = self._cache.get(key)
            if reading is None:  # evicted by this very batch: read it alone
                reading = read_doc(self.nlp(self._doc(*key)))
            else:
                self._cache.move_to_end(key)
            out.append(reading)
        return out

    def _doc(self, text: str, lenient: bool) -> Doc:
        doc = self.nlp.make_doc(text)
        doc.user_data["lenient"] = lenient
        return doc
