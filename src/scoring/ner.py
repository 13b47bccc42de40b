"""NER back-ends, chosen by name: report text in, `Mention`s with their attributes out.

`lexicon` (default) is our own whole-body vocabulary on the parsed sentence
(`scoring.pipeline`, `scoring.entities`); `scispacy` takes its entities from the paper's
`en_core_sci_lg` where a site has installed it. Both read a report in two steps:

1. `read_many`: split each report into sentences and read each sentence once (cached);
2. `mentions`: place each finding of a sentence in its report: the organ sub-heading it
   stands under, the exam's body region (a bare "effusion" is pleural on a chest film and
   articular on a knee MR), the canonical concept of head + anatomy, and a label that reads
   naturally ("tear of the anterior cruciate ligament").
The scorer decides the exam between the two steps, from the procedure or the readings.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scoring import abbreviations
from scoring.analysis import Found, Reading, SentenceReader
from scoring.backends import BuildContext, Registry
from scoring.errors import BackendUnavailable
from scoring.exam import REGION_ROOT
from scoring.mention import SEVERITY_WORDS, Mention
from scoring.sections import Section, split_sections
from scoring.sentences import Sentence, split_sentences
from scoring.spelling import Speller
from scoring.vocabulary import Vocabulary, load_vocabulary


@dataclass
class ReadReport:
    """One report read sentence by sentence, before the exam is known."""

    text: str
    sentences: list[tuple[Section, Sentence, Reading]] = field(default_factory=list)

    def places(self) -> Iterable[str]:
        for _, _, reading in self.sentences:
            for f in reading.found:
                if f.anatomy:
                    yield f.anatomy


class NerBackend(Protocol):
    name: str

    def read_many(self, items: Sequence[tuple[str, Sequence[Section]]]) -> list[ReadReport]: ...

    def mentions(self, read: ReadReport, region: str = "unknown") -> list[Mention]: ...

    def extract_many(self, items: Sequence[tuple[str, Sequence[Section]]],
                     regions: Sequence[str] | None = None) -> list[list[Mention]]: ...


ner_backends: Registry[NerBackend] = Registry("ner")

_WORD = re.compile(r"[a-z0-9]+")
_ONE_LETTER_SIDE = r"([RL])\.?(?=\s)"  # "L ICA:", "R. kidney:", not "L-spine"
_HEADING_SIDE = re.compile(r"^\s*(?:(?:right|left|bilateral|both)\b|" + _ONE_LETTER_SIDE
                           + r")\s*", re.IGNORECASE)
_SHORT_SIDE = re.compile(r"\s*" + _ONE_LETTER_SIDE)  # upper case only: "l" may be a word
_SPLIT_HEADING = re.compile(r"\s*(?:/|,|&|\band\b)\s*", re.IGNORECASE)


class LexiconNer:
    """Our whole-body vocabulary on the parsed sentence: offline, explainable, cached."""

    name = "lexicon"

    def __init__(self, vocabulary: Vocabulary | None = None,
                 reader: SentenceReader | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self.reader = reader or SentenceReader()
        self._places = self.vocabulary.anatomy_term_index()
        self.speller = Speller.of(self.vocabulary)

    # ---------------------------------------------------------------- protocol
    def extract(self, text: str, sections: Sequence[Section],
                region: str = "unknown") -> list[Mention]:
        return self.extract_many([(text, sections)], [region])[0]

    def extract_many(self, items: Sequence[tuple[str, Sequence[Section]]],
                     regions: Sequence[str] | None = None) -> list[list[Mention]]:
        reads = self.read_many(items)
        regions = regions or ["unknown"] * len(reads)
        return [self.mentions(r, region) for r, region in zip(reads, regions, strict=True)]

    def read_many(self, items: Sequence[tuple[str, Sequence[Section]]]) -> list[ReadReport]:
        items = [(_answered(text), sections) for text, sections in items]
        plan: list[tuple[int, Section, Sentence]] = []
        local = [abbreviations.definitions(text) for text, _ in items]
        for i, (text, sections) in enumerate(items):
            impressions = [(s.start, s.end) for s in split_sections(text)
                           if s.name == "impression"]
            for section in sections:
                lenient = section.name == "impression"
                for sentence in split_sentences(text, section.start, section.end, lenient):
                    if not lenient and any(a <= sentence.start < b for a, b in impressions):
                        sentence = Sentence(sentence.start, sentence.end, sentence.heading, True)
                    plan.append((i, section, sentence))
        # Abbreviations written out before reading ("SAH" -> "subarachnoid hemorrhage"); what
        # is found is mapped back to the words as written.
        expanded = [self._rewritten(items[i][0][s.start:s.end], local[i]) for i, _, s in plan]
        readings = self.reader.read_many(
            [(x.text if x else items[i][0][s.start:s.end], s.lenient)
             for (i, _, s), x in zip(plan, expanded, strict=True)])
        out = [ReadReport(text) for text, _ in items]
        for (i, section, sentence), reading, x in zip(plan, readings, expanded, strict=True):
            if x is not None:
                reading = _written(reading, x, items[i][0][sentence.start:sentence.end])
            out[i].sentences.append((section, sentence, reading))
        return out

    def _rewritten(self, sentence: str, local: dict[str, str]) -> abbreviations.Expanded | None:
        """Abbreviations written out, then typos of vocabulary words corrected."""
        x = abbreviations.expand(sentence, local)
        typos = self.speller.correct(x.text if x is not None else sentence)
        return x.then(typos) if x is not None else typos

    # ---------------------------------------------------------------- placing findings
    def mentions(self, read: ReadReport, region: str = "unknown") -> list[Mention]:
        out: list[Mention] = []
        for section, sentence, reading in read.sentences:
            heading = self.heading_places(sentence.heading)
            words = frozenset(_WORD.findall(read.text[sentence.start:sentence.end].lower()))
            level = spinal_level(sentence.heading, read.text[sentence.start:sentence.end])
            if reading.bare_normal and heading:
                for rid in heading:
                    out.append(self._normal(read.text, section, sentence, rid))
            for f in reading.found:
                mention = self._mention(read.text, section, sentence, f, heading, region)
                if mention is not None:
                    mention.sentence_words = words
                    mention.level = level
                    if mention.laterality is None and sentence.heading:
                        # "Right breast: ... a spiculated mass": the sub-heading's side
                        mention.laterality = _heading_side(sentence.heading)
                    out.append(mention)
        return _dedupe(out, self.vocabulary)

    def heading_places(self, heading: str | None) -> list[str]:
        """The organs of a sub-heading ("LIVER", "Liver/Gallbladder", "Lungs and pleura")."""
        if not heading:
            return []
        whole = self._places.get(heading.lower()) or self._places.get(
            _HEADING_SIDE.sub("", heading).lower())  # "Right superficial femoral artery"
        if whole:
            return [whole]
        parts = [self._places.get(p.lower()) for p in _SPLIT_HEADING.split(heading) if p]
        return [p for p in parts if p]

    def _normal(self, text: str, section: Section, sentence: Sentence, rid: str) -> Mention:
        place = self.vocabulary.label(rid) or rid
        return Mention(
            concept="abnormality", label=f"abnormality of the {place}", kind="finding",
            text=text[sentence.start:sentence.end], start=sentence.start, end=sentence.end,
            section=section.name, sentence=(sentence.start, sentence.end), polarity="absent",
            anatomy=rid, head="abnormality", how="normal", anatomy_label=place,
            coarse=self.vocabulary.coarse(rid), region=self.vocabulary.region(rid))

    def _mention(self, text: str, section: Section, sentence: Sentence, f: Found,
                 heading: list[str], region: str) -> Mention | None:
        vocabulary = self.vocabulary
        anatomy = f.anatomy
        if anatomy is None and heading:
            anatomy = heading[0]
        head = vocabulary.heads.get(f.head or "")
        if anatomy is None and head is not None:
            anatomy = head.defaults.get(region)
        if f.concept == "abnormality":
            if f.polarity != "absent" and anatomy is None and f.change != "acute" and \
                    f.words.rstrip("s") in ("finding", "process"):
                return None  # "the findings are consistent with ...": no finding of its own
            anatomy = anatomy or REGION_ROOT.get(region)
        concept, label, codes = self._name(f, anatomy, region)
        start = sentence.start + f.start
        place = vocabulary.label(anatomy)
        words: dict[str, str] = {}
        if f.severity is not None:
            words["severity"] = f.severity_words or SEVERITY_WORDS[f.severity]
        if f.size_words:
            words["size"] = f.size_words
        return Mention(
            concept=concept, label=label, kind=f.kind, text=f.text, start=start,
            end=sentence.start + f.end, section=section.name,
            sentence=(sentence.start, sentence.end), polarity=f.polarity,
            historical=f.historical, laterality=f.laterality, severity=f.severity,
            size_mm=f.size_mm, change=f.change, anatomy=anatomy, position=f.position,
            words=words, head=f.head, how=f.how, anatomy_label=place, descriptors=f.descriptors,
            coarse=vocabulary.coarse(anatomy), region=vocabulary.region(anatomy),
            codes=codes)

    def _name(self, f: Found, anatomy: str | None, region: str = "unknown",
              ) -> tuple[str, str, tuple[str, ...]]:
        """Concept id, label and codes: the named concept where head + place has one."""
        vocabulary = self.vocabulary
        finding = vocabulary.findings.get(f.concept)
        generic = finding is None or (finding.anatomy is None and finding.id == finding.head)
        if generic and f.head and anatomy and f.head != "abnormality":
            canon = vocabulary.canonical(f.head, anatomy)
            head = vocabulary.heads.get(f.head)
            default = head.defaults.get(region) if head else None
            if canon is None and default and vocabulary.region(default) == \
                    vocabulary.region(anatomy):
                # "left lower lobe effusion" on a chest film: a pleural effusion by the lobe
                canon = vocabulary.canonical(f.head, default)
            if canon is not None:
                return canon.id, canon.label, canon.codes
        place = vocabulary.label(anatomy)
        if f.how == "normal" or f.concept == "abnormality":
            return "abnormality", f"abnormality of the {place}" if place else "abnormality", ()
        if finding is not None and (not generic or f.how == "vocabulary"):
            head = vocabulary.heads.get(finding.head or "")
            if generic and place and finding.label not in place:
                prep = head.prep if head else "in"
                return finding.id, f"{finding.label} {prep} the {place}", finding.codes
            return finding.id, finding.label, finding.codes
        head = vocabulary.heads.get(f.head or "")
        words = f.words or (head.label if head else f.concept.lstrip("~"))
        if f.how == "phrase":
            return f.concept, f"{words} ({place})" if place else words, ()
        codes = finding.codes if finding is not None else ()
        if place and place not in words:
            prep = head.prep if head else "of"
            return f.concept, f"{words} {prep} the {place}", codes
        return f.concept, words, codes


class ScispacyNer(LexiconNer):
    """The paper's NER: every `en_core_sci_lg` entity is a finding named by its own words.

    Our pipeline still reads qualifiers, places and ConText, so the context check works the
    same way on both back-ends."""

    name = "scispacy"

    def __init__(self, model: str = "en_core_sci_lg") -> None:
        from scoring.nlp import spacy

        try:
            self.sci = spacy.load(model, exclude=["parser", "lemmatizer"])
        except OSError as exc:
            raise BackendUnavailable("ner", "scispacy", f"{model} is not installed",
                                     available=["lexicon"]) from exc
        from scoring.pipeline import build_pipeline

        super().__init__(reader=SentenceReader(build_pipeline(entities_from=self.sci)))


def _written(reading: Reading, x: abbreviations.Expanded, original: str) -> Reading:
    """A reading of the expanded sentence with its offsets and words as the report wrote them."""
    found = []
    for f in reading.found:
        start, end = x.back(f.start, f.end)
        found.append(dataclasses.replace(f, start=start, end=end, text=original[start:end]))
    return dataclasses.replace(reading, found=tuple(found))


_SIDE = re.compile(r"\b(left|right|bilateral|both)\b", re.IGNORECASE)


# A structured template's feature line answered yes ("- Nonrim arterial phase
# hyperenhancement: Yes."): the feature is a finding, not an organ heading. The colon becomes a
# comma (offsets stay); "...: No" lines stay unread (a negative against silence counts nothing).
_ANSWERED_YES = re.compile(r"(?im)^([ \t]*(?:[-•*]|\d+[.)])?[ \t]*[a-z][^:\n]{2,80}):"
                           r"(?=[ \t]*(?:yes|present|positive)\b)")


def _answered(text: str) -> str:
    return _ANSWERED_YES.sub(r"\1,", text) if ":" in text else text


_LEVEL = re.compile(r"\b([CTLS])(\d{1,2})(?:\s*(?:-|/|to)\s*([CTLS])?(\d{1,2}))?\b",
                    re.IGNORECASE)


_SEQUENCES = re.compile(r"T[12](\s*(-|/|to)\s*T?[12])?", re.IGNORECASE)  # MR: "T1/T2"


def spinal_level(heading: str | None, sentence: str) -> str | None:
    """The one spinal level a line is about: its sub-heading's ("L4-L5:"), else the one
    level its sentence names ("moderate stenosis at C5-6"); "L4-5" is "L4-L5". None where a
    sentence names several, or none."""
    for text in (heading or "", sentence):
        found = {_level_name(m) for m in _LEVEL.finditer(text)
                 if (m.group(4) or text is heading) and not _SEQUENCES.fullmatch(m.group())}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


def _level_name(m: re.Match[str]) -> str:
    first = f"{m.group(1).upper()}{int(m.group(2))}"
    if m.group(4) is None:
        return first
    return f"{first}-{(m.group(3) or m.group(1)).upper()}{int(m.group(4))}"


@functools.lru_cache(maxsize=4096)
def _heading_side(heading: str) -> str | None:
    sides = {m.lower() for m in _SIDE.findall(heading)}
    short = _SHORT_SIDE.match(heading)
    if short:
        sides.add("left" if short.group(1) == "L" else "right")
    if not sides:
        return None
    if "both" in sides or "bilateral" in sides or len(sides) > 1:
        return "bilateral"
    return sides.pop()


_MERGEABLE = ("laterality", "severity", "size_mm", "change", "position")


def _merge_into(kept: Mention, m: Mention, vocabulary: Vocabulary) -> bool:
    """Fold `m` into `kept` when it repeats the same statement, perhaps in fewer words
    ("Bladder diverticulum on the right. The diverticulum is likely secondary to ...")."""
    if kept.polarity != m.polarity or kept.generic != m.generic:
        return False
    if kept.concept != m.concept and not (kept.head and kept.head == m.head and (
            kept.how != "vocabulary" or m.how != "vocabulary")):
        return False
    for attr in _MERGEABLE:
        a, b = getattr(kept, attr), getattr(m, attr)
        if a is not None and b is not None and a != b:
            return False
    if not vocabulary.compatible(kept.anatomy, m.anatomy):
        return False
    for attr in _MERGEABLE:
        if getattr(kept, attr) is None and getattr(m, attr) is not None:
            setattr(kept, attr, getattr(m, attr))
    if kept.concept != m.concept and m.how == "vocabulary":  # the named concept wins
        kept.concept, kept.label, kept.codes, kept.how = m.concept, m.label, m.codes, m.how
    if m.anatomy and (kept.anatomy is None or vocabulary.within(m.anatomy, kept.anatomy)):
        kept.anatomy, kept.anatomy_label = m.anatomy, m.anatomy_label
        kept.coarse, kept.region = m.coarse, m.region
    for key, words in m.words.items():
        kept.words.setdefault(key, words)
    return True


def _dedupe(mentions: Iterable[Mention], vocabulary: Vocabulary) -> list[Mention]:
    """One row per statement: a finding named twice in one sentence ("small effusion ...
    pleural effusion") is one row with everything either naming added.

    A finding restated in another sentence stays a row of its own: a final that describes a
    nodule on two images and a preliminary that mentions it once have not said the same
    (the second description was left out), and one-to-one alignment keeps that visible."""
    out: list[Mention] = []
    for m in mentions:
        if not any(kept.sentence == m.sentence and _merge_into(kept, m, vocabulary)
                   for kept in out):
            out.append(m)
    return out


@ner_backends.register("lexicon")
def _lexicon(context: BuildContext) -> NerBackend:
    return LexiconNer()


@ner_backends.register("scispacy")
def _scispacy(context: BuildContext) -> NerBackend:
    return ScispacyNer(context.config.scispacy_model)
