"""NER back-ends, chosen by name: report text in, `Mention`s with their attributes out.

`lexicon` (default) is our own radiology lexicon on spaCy; `scispacy` loads the paper's
`en_core_sci_lg` where a site has installed it. Both share the attribute reading of
`attach_qualifiers`, so they differ only in which spans they call entities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from scoring.errors import BackendUnavailable
from scoring.lexicon import ABSENT, Lexicon, load_lexicon
from scoring.mention import Mention, Polarity
from scoring.pipeline import NEGATION_CUES, QUALIFIERS, build_pipeline
from scoring.sections import Section

_SIZE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(?:x|by|×)\s*(\d+(?:\.\d+)?))?"
    r"(?:\s*(?:x|by|×)\s*(\d+(?:\.\d+)?))?\s*(mm|cm|millimeters?|centimeters?)\b",
    re.IGNORECASE,
)


class NerBackend(Protocol):
    name: str

    def extract(self, text: str, sections: Sequence[Section]) -> list[Mention]: ...

    def extract_many(
        self, items: Sequence[tuple[str, Sequence[Section]]]
    ) -> list[list[Mention]]: ...


def _sizes(doc: Doc) -> list[tuple[Span, float, str]]:
    out = []
    for m in _SIZE.finditer(doc.text):
        span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
        if span is None:
            continue
        dims = [float(d) for d in m.group(1, 2, 3) if d]
        factor = 10.0 if m.group(4).lower().startswith("c") else 1.0
        out.append((span, max(dims) * factor, m.group(0)))
    return out


def _distance(qualifier: Span, ent: Span) -> tuple[int, int]:
    """Token distance from a qualifier to an entity; ties prefer the entity that follows."""
    if qualifier.start >= ent.start and qualifier.end <= ent.end:
        return (0, 0)
    if qualifier.end <= ent.start:
        return (ent.start - qualifier.end, 0)
    return (qualifier.start - ent.end + 1, 1)


def _nearest(span: Span, ents: Sequence[Span], ent_sents: Sequence[int]) -> int | None:
    sent = span.sent.start
    same_sentence = [i for i, start in enumerate(ent_sents) if start == sent]
    if not same_sentence:
        return None
    return min(same_sentence, key=lambda i: _distance(span, ents[i]))


def _polarity(ent: Span, concept_polarity: str | None) -> Polarity:
    if concept_polarity == "absent" or ent._.is_negated:
        return "absent"
    if any(t.lower_ in NEGATION_CUES for t in ent):
        return "absent"
    if ent._.is_uncertain or ent._.is_hypothetical:
        return "possible"
    return "present"


def attach_qualifiers(
    doc: Doc,
    ents: Sequence[Span],
    mentions: list[Mention],
    lexicon: Lexicon,
    fixed_anatomy: Sequence[str | None],
) -> None:
    """Give each qualifier word to the nearest entity of its sentence.

    Several words of one kind on one entity: laterality left+right becomes bilateral; for
    severity and change the nearest word wins; a finding whose concept has a fixed anatomy keeps
    it, the others take the most specific place named next to them.
    """
    found: list[dict[str, list[tuple[tuple[int, int], str, str]]]] = [{} for _ in ents]
    # Span.sent walks the doc each time: look each entity's sentence up once.
    ent_sents = [e.sent.start for e in ents]
    for span in doc.spans.get(QUALIFIERS, []):
        target = _nearest(span, ents, ent_sents)
        if target is None:
            continue
        for part in span.label_.split(";"):
            key, value = part.split("=", 1)
            found[target].setdefault(key, []).append((_distance(span, ents[target]), value,
                                                      span.text))
    for span, size_mm, words in _sizes(doc):
        target = _nearest(span, ents, ent_sents)
        if target is not None:
            found[target].setdefault("size", []).append(
                (_distance(span, ents[target]), str(size_mm), words))

    for mention, quals, fixed in zip(mentions, found, fixed_anatomy, strict=True):
        sides = {v for _, v, _ in quals.get("laterality", [])}
        if sides:
            mention.laterality = "bilateral" if len(sides) > 1 else sides.pop()
        if quals.get("severity"):
            _, level, words = min(quals["severity"])
            mention.severity = int(level)
            mention.words["severity"] = _adjective(words.lower())
        if quals.get("change"):
            mention.change = min(quals["change"])[1]
        if quals.get("position"):
            mention.position = min(quals["position"])[1]
        if quals.get("size"):
            _, size, words = min(quals["size"])
            mention.size_mm = float(size)
            mention.words["size"] = words
        mention.anatomy = fixed or _most_specific(
            [v for _, v, _ in sorted(quals.get("anatomy", []))], lexicon)


def _adjective(word: str) -> str:
    """'mildly' -> 'mild', so "mildly enlarged heart" reads "mild cardiomegaly"."""
    return word[:-2] if word.endswith("ly") else word


def _most_specific(places: list[str], lexicon: Lexicon) -> str | None:
    """The nearest place, unless a later one is a part of it ("left lung base" -> lung base)."""
    if not places:
        return None
    best = places[0]
    for place in places[1:]:
        if best in lexicon.anatomy_ancestors(place):
            best = place
    return best


class LexiconNer:
    """Our own radiology lexicon on a blank spaCy pipeline: fast, offline, explainable."""

    name = "lexicon"

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.nlp: Language = build_pipeline(self.lexicon)

    def extract(self, text: str, sections: Sequence[Section]) -> list[Mention]:
        return self.extract_many([(text, sections)])[0]

    def extract_many(
        self, items: Sequence[tuple[str, Sequence[Section]]]
    ) -> list[list[Mention]]:
        jobs = [(i, s) for i, (_, sections) in enumerate(items) for s in sections]
        texts = (items[i][0][s.start:s.end] for i, s in jobs)
        out: list[list[Mention]] = [[] for _ in items]
        for (i, section), doc in zip(jobs, self._docs(texts), strict=True):
            out[i].extend(self._mentions(doc, section))
        return out

    def _docs(self, texts: Iterable[str]) -> Iterator[Doc]:
        """Processed docs whose `ents` are the entities (batched through `nlp.pipe`)."""
        return self.nlp.pipe(texts)

    def _read(self, ent: Span) -> tuple[str, str, str, Polarity, str | None]:
        """concept id, label, kind, polarity and fixed anatomy of one entity."""
        concept = self.lexicon.concept(ent.ent_id_.removesuffix(ABSENT))
        stated_absent = ent.ent_id_.endswith(ABSENT)
        polarity = "absent" if stated_absent else _polarity(ent, concept.polarity)
        return concept.id, concept.label, concept.kind, polarity, concept.anatomy

    def _mentions(self, doc: Doc, section: Section) -> list[Mention]:
        ents = list(doc.ents)
        read = [self._read(ent) for ent in ents]
        mentions = [_mention(ent, section, *r[:4]) for ent, r in zip(ents, read, strict=True)]
        attach_qualifiers(doc, ents, mentions, self.lexicon, [r[4] for r in read])
        return _dedupe(mentions, self.lexicon)


class ScispacyNer(LexiconNer):
    """The paper's NER: every `en_core_sci_lg` entity is a finding named by its own words.

    The lexicon's qualifier tagger and ConText still read the attributes, so the context check
    works the same way on both back-ends.
    """

    name = "scispacy"

    def __init__(self, model: str = "en_core_sci_lg") -> None:
        import spacy

        try:
            sci = spacy.load(model, exclude=["parser", "lemmatizer"])
        except OSError as exc:
            raise BackendUnavailable("ner", "scispacy", f"{model} is not installed",
                                     available=["lexicon"]) from exc
        super().__init__()
        self.sci = sci

    def _docs(self, texts: Iterable[str]) -> Iterator[Doc]:
        """scispacy's entities, then our pipeline minus the lexicon ruler for attributes."""
        for text in texts:
            doc = self.nlp.make_doc(text)
            spans = [doc.char_span(e.start_char, e.end_char, label="FINDING",
                                   alignment_mode="expand") for e in self.sci(text).ents]
            doc.ents = filter_spans([s for s in spans if s is not None])
            for name, proc in self.nlp.pipeline:
                if name != "entity_ruler":
                    doc = proc(doc)
            yield doc

    def _read(self, ent: Span) -> tuple[str, str, str, Polarity, str | None]:
        words = ent.text.lower()
        return words, words, "finding", _polarity(ent, None), None


def _mention(ent: Span, section: Section, concept: str, label: str, kind: str,
             polarity: Polarity) -> Mention:
    return Mention(
        concept=concept, label=label, kind=kind, text=ent.text,
        start=section.start + ent.start_char, end=section.start + ent.end_char,
        section=section.name,
        sentence=(section.start + ent.sent.start_char, section.start + ent.sent.end_char),
        polarity=polarity, historical=bool(ent._.is_historical),
    )


_MERGEABLE = ("laterality", "severity", "size_mm", "change", "position")


def _merge_into(kept: Mention, m: Mention, lexicon: Lexicon) -> bool:
    """Fold `m` into `kept` when it repeats the same statement, perhaps in fewer words."""
    if (kept.concept, kept.polarity) != (m.concept, m.polarity):
        return False
    for attr in _MERGEABLE:
        a, b = getattr(kept, attr), getattr(m, attr)
        if a is not None and b is not None and a != b:
            return False
    if not lexicon.anatomy_compatible(kept.anatomy, m.anatomy):
        return False
    for attr in _MERGEABLE:
        if getattr(kept, attr) is None and getattr(m, attr) is not None:
            setattr(kept, attr, getattr(m, attr))
    if m.anatomy and (kept.anatomy is None or kept.anatomy in lexicon.anatomy_ancestors(m.anatomy)):
        kept.anatomy = m.anatomy
    for key, words in m.words.items():
        kept.words.setdefault(key, words)
    return True


def _dedupe(mentions: Iterable[Mention], lexicon: Lexicon) -> list[Mention]:
    """One row per distinct statement: a finding said twice in one section is said once,
    with everything either sentence added about it."""
    out: list[Mention] = []
    for m in mentions:
        if not any(_merge_into(kept, m, lexicon) for kept in out):
            out.append(m)
    return out


NER_BACKENDS: dict[str, Callable[..., NerBackend]] = {
    "lexicon": LexiconNer,
    "scispacy": ScispacyNer,
}


def make_ner(name: str, **kwargs: object) -> NerBackend:
    if name not in NER_BACKENDS:
        raise BackendUnavailable("ner", name, "unknown back-end", available=list(NER_BACKENDS))
    return NER_BACKENDS[name](**kwargs)
