"""`radagree_entities`: vocabulary terms and the parse of one sentence -> the findings it states.

A finding is found in four ways, in this order of trust:
1. a vocabulary term ("subdural hematoma", "acute appendicitis", "pleural effusion");
2. a finding head, by its noun ("tear", "effusion") or by an adjective on an organ
   ("dilated appendix", "the appendix is dilated", "torn ACL"): head + anatomy is the concept;
3. a normal statement: an organ said to be normal, unremarkable or intact ("The liver, spleen
   and kidneys are unremarkable", "Intact menisci") denies any finding of that organ;
4. a noun phrase the vocabulary does not know, where the words say it is a disease
   ("adenocarcinoma", "Eagle syndrome"), or, in an impression, any noun phrase that is not
   anatomy, technique or a generic word: an impression names diagnoses.

Each finding then takes its anatomy from its own words, the phrase it governs ("tear of the
anterior cruciate ligament", "lesion in the left frontal lobe"), the organ it is said of, or
the nearest organ named in the sentence; and the qualifier words (side, severity, change,
device position) and sizes nearest to it. What the sentence cannot say (its report's organ
sub-heading, the exam's body region) is added later by `scoring.ner`.
"""


import re
from dataclasses import dataclass, field
from typing import Any

from scoring.nlp import Doc, Language, Span, Token
from scoring.terms import TERMS, TermKind, kind, longest, value
from scoring.vocabulary import ADJECTIVE_END, Vocabulary, load_vocabulary, read_data_toml

ENTITY = "radagree"
if not Span.has_extension(ENTITY):
    Span.set_extension(ENTITY, default=None)

# Prepositions that attach a place to a finding ("of the ACL", "in the liver").
_PLACE_PREPS = frozenset({"of", "in", "within", "involving", "at", "along", "near", "into",
                          "from", "on", "over", "around", "through", "throughout", "adjacent",
                          "across", "inside", "about", "beneath", "below", "above", "behind",
                          "underlying", "overlying", "affecting", "to", "between"})
_WORDS = read_data_toml("words.toml")
# Nouns that never name a finding on their own: technique, measurement, reporting words.
GENERIC = frozenset(_WORDS["generic"])
_DISEASE_SUFFIX = re.compile(
    r"(itis|itides|osis|oses|oma|omas|omata|emia|aemia|pathy|plasia|trophy|ectasis|ectasia|"
    r"cele|celes|iasis|lith|liths|ism|megaly|malacia|penia|ectomy|otomy|ostomy|plasty|"
    r"rrhage|rrhea|itis|oses|aneurysm|thrombus|embolus|infarct|abscess|fistula|hernia|tumor|"
    r"tumour|cyst|polyp|ulcer|stone|calculus|nodule|mass|lesion|fracture|tear|rupture)$")
_EPONYM_WORDS = frozenset({"syndrome", "disease", "sign", "malformation", "anomaly",
                           "deformity", "complex", "sequence", "phenomenon", "lesion",
                           "fracture", "tumor", "tumour", "injury", "infection", "carcinoma",
                           "cancer", "sarcoma", "lymphoma", "leukemia", "metastasis"})
_ABBREVIATION = re.compile(r"^[A-Z][A-Z0-9]{1,5}s?$")
# Abbreviations of technique, views and units: never a finding.
_TECHNIQUE = frozenset(_WORDS["technique"])
# Words after a finding that state it ("enhancement present", "fluid noted"), which the tagger
# sometimes reads as the noun the finding word modifies.
_STATED_AS_NOUN = frozenset({"present", "seen", "noted", "identified", "evident", "visualized",
                             "visualised", "demonstrated"})
_NEGATORS = frozenset({"no", "not", "without", "never", "n't", "none", "neither", "nor"})


@dataclass
class Entity:
    """One finding of a sentence while it is being read; becomes a `doc.ents` span."""

    start: int  # token offsets in the sentence doc
    end: int
    concept: str
    head: str | None
    kind: str = "finding"
    anatomy: str | None = None
    fixed: bool = False  # the concept itself names the place
    how: str = "vocabulary"  # vocabulary | head | adjective | normal | phrase
    absent: bool = False  # the words themselves deny it ("no pneumothorax" term, "normal")
    words: str = ""  # the head words as written, for a label
    quals: dict[str, Any] = field(default_factory=dict)
    # Finding heads that describe it ("calcified" nodule, "nodular" opacity).
    descriptors: list[str] = field(default_factory=list)

    @property
    def generic(self) -> bool:
        return self.head == "abnormality" and self.concept == "abnormality"


class EntityReader:
    """The `radagree_entities` component; `lenient` docs (impressions) name any noun phrase."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.verbs = {v: h.id for h in vocabulary.heads.values() for v in h.verbs}
        # Another model's entities instead of ours (the scispacy back-end): each is a finding
        # named by its own words; places, qualifiers and ConText are still read here.
        self.external: Language | None = None

    def __call__(self, doc: Doc) -> Doc:
        terms = list(doc.spans.get(TERMS, []))
        if self.external is not None:
            return self._external(doc, terms)
        lenient = bool(doc.user_data.get("lenient"))
        primary = longest([s for s in terms if kind(s) in (TermKind.FINDING, TermKind.ABSENT)
                           and not _prefix_denied(doc, s)]
                          + [s for s in terms if kind(s) == TermKind.ANATOMY]
                          + [s for s in terms if kind(s) == TermKind.HEAD])
        places = [s for s in primary if kind(s) == TermKind.ANATOMY
                  and not _orientation(doc, s) and not _level_range(doc, s)]
        taken = [False] * len(doc)
        entities: list[Entity] = []

        def add(e: Entity) -> None:
            if any(taken[i] for i in range(e.start, e.end)):
                return
            for i in range(e.start, e.end):
                taken[i] = True
            entities.append(e)

        heads_inside = [(s.start, s.end, value(s)) for s in terms
                        if kind(s) in (TermKind.HEAD, TermKind.ADJECTIVE)]
        finding_tokens = {i for s in primary
                          if kind(s) in (TermKind.FINDING, TermKind.ABSENT, TermKind.HEAD)
                          for i in range(s.start, s.end)}
        pending: list[tuple[int, str]] = []  # descriptors of a finding read further on
        for s in primary:
            term = kind(s)
            if term in (TermKind.FINDING, TermKind.ABSENT):
                f = self.vocabulary.findings[value(s)]
                e = Entity(s.start, s.end, f.id, f.head or f.id, f.kind, f.anatomy,
                           fixed=f.anatomy is not None, absent=term is TermKind.ABSENT,
                           words=s.text.lower())
                e.descriptors = [h for a, b, h in heads_inside
                                 if s.start <= a and b <= s.end and h != e.head]
                add(e)
            elif term is TermKind.HEAD:
                if _names_anatomy(doc, s):
                    continue
                root = s.root
                if root.dep_ in ("compound", "nmod") and root.head.i >= s.end and \
                        root.head.i not in finding_tokens and root.head.pos_ == "NOUN" and \
                        not root.head.lower_.startswith("measur") and \
                        root.head.lower_ not in _STATED_AS_NOUN:
                    # "blood flow", "mass effect"-like compounds of another noun (not "mass
                    # measures" or "enhancement present", a verb or adjective the tagger read
                    # as a noun)
                    continue
                if root.dep_ in ("compound", "amod", "nmod") and root.head.i not in range(
                        s.start, s.end) and root.head.i in finding_tokens and \
                        not _comma_between(doc, root.i, root.head.i):
                    # "low attenuation lesion": the head words describe another finding
                    described = [e for e in entities if e.start <= root.head.i < e.end]
                    if described:
                        described[0].descriptors.append(value(s))
                    else:
                        pending.append((root.head.i, value(s)))
                    continue
                add(Entity(s.start, s.end, value(s), value(s), how="head",
                           words=s.text.lower()))
        for token_i, head in pending:
            for e in entities:
                if e.start <= token_i < e.end:
                    e.descriptors.append(head)
        self._adjectives(doc, terms, places, entities, add)
        self._normal_statements(doc, terms, places, entities, add)
        self._phrases(doc, places, lenient, add)
        if not entities and not doc.user_data.get("bare_normal"):
            self._statement(doc, terms, places, add)
        for e in entities:
            if not e.fixed or e.how == "vocabulary":
                self._place(doc, e, places, entities)
        self._qualifiers(doc, terms, entities)
        if _denied_whole(doc):
            for e in entities:
                e.absent = True
        entities.sort(key=lambda e: e.start)
        spans = []
        for e in entities:
            span = Span(doc, e.start, e.end, label="DEVICE" if e.kind == "device" else "FINDING")
            spans.append(span)
        doc.ents = spans
        for span, e in zip(doc.ents, entities, strict=True):
            span._.set(ENTITY, e)
        return doc

    def _external(self, doc: Doc, terms: list[Span]) -> Doc:
        assert self.external is not None
        places = longest([s for s in terms if kind(s) == TermKind.ANATOMY])
        entities = []
        for ent in self.external(doc.text).ents:
            span = doc.char_span(ent.start_char, ent.end_char, alignment_mode="expand")
            if span is not None:
                words = span.text.lower()
                entities.append(Entity(span.start, span.end, "~" + words, None, how="phrase",
                                       words=words))
        kept = {(s.start, s.end) for s in longest([Span(doc, e.start, e.end) for e in entities])}
        entities = [e for e in entities if (e.start, e.end) in kept]
        for e in entities:
            self._place(doc, e, places, entities)
        self._qualifiers(doc, terms, entities)
        doc.ents = [Span(doc, e.start, e.end, label="FINDING") for e in entities]
        for span, e in zip(doc.ents, entities, strict=True):
            span._.set(ENTITY, e)
        return doc

    # ---------------------------------------------------------------- finding adjectives
    def _adjectives(self, doc: Doc, terms: list[Span], places: list[Span],
                    entities: list[Entity], add: Any) -> None:
        """"dilated appendix", "the appendix is dilated", "thickened wall": head + organ."""
        in_entity = {i for e in entities for i in range(e.start, e.end)}
        place_of = {i: s for s in places for i in range(s.start, s.end)}
        words = [(doc[s.start], value(s)) for s in terms if kind(s) == TermKind.ADJECTIVE]
        words += [(t, self.verbs[t.lemma_.lower()]) for t in doc if t.pos_ == "VERB"
                  and t.lemma_.lower() in self.verbs and t.dep_ not in ("amod",)
                  and not any(t.i == w.i for w, _ in words)]
        for tok, head in sorted(words, key=lambda w: w[0].i):
            if tok.i in in_entity or _technique_noun_after(doc, tok.i):
                continue
            if tok.i + 1 in in_entity and tok.i + 1 < len(doc) and \
                    doc[tok.i + 1].pos_ in ("NOUN", "PROPN"):
                # "homogeneously enhancing lesion" however parsed: a descriptor of the
                # finding it stands before, not a finding of its own
                owner = next(e for e in entities if e.start <= tok.i + 1 < e.end)
                owner.descriptors.append(head)
                continue
            target = tok.head
            if tok.dep_ in ("amod", "compound", "nmod", "advmod") and target.i != tok.i:
                if target.i in in_entity:
                    # "enhancing mass", "calcified nodule": a descriptor of a finding read
                    owner = next(e for e in entities if e.start <= target.i < e.end)
                    owner.descriptors.append(head)
                    continue
                if target.i in place_of:
                    place = place_of[target.i]
                    add(Entity(min(tok.i, place.start), max(tok.i + 1, place.end), head, head,
                               anatomy=value(place), how="adjective", fixed=True,
                               words=self.vocabulary.heads[head].label))
                    continue
                if target.pos_ in ("NOUN", "PROPN") and target.i > tok.i:
                    if _DISEASE_SUFFIX.search(target.lower_) or target.lower_ in _EPONYM_WORDS:
                        continue  # "metastatic adenocarcinoma": the noun is the finding
                    add(Entity(tok.i, target.i + 1, head, head, how="adjective",
                               words=self.vocabulary.heads[head].label))
                    continue
            subjects = _object_places(tok, place_of) if tok.pos_ == "VERB" else []
            subjects = subjects or _subject_places(tok, place_of)
            negated = _negated(tok)
            if subjects:
                first = True
                for place in subjects:
                    start, end = (tok.i, tok.i + 1) if first else (place.start, place.end)
                    first = False
                    e = Entity(start, end, head, head, anatomy=value(place),
                               how="adjective", fixed=True, absent=negated,
                               words=self.vocabulary.heads[head].label)
                    add(e)
            elif tok.dep_ in ("ROOT", "acomp", "conj", "xcomp", "attr") or tok.i == 0:
                add(Entity(tok.i, tok.i + 1, head, head, how="adjective", absent=negated,
                           words=self.vocabulary.heads[head].label))

    # ---------------------------------------------------------------- normal statements
    def _normal_statements(self, doc: Doc, terms: list[Span], places: list[Span],
                           entities: list[Entity], add: Any) -> None:
        in_entity = {i for e in entities for i in range(e.start, e.end)}
        place_of = {i: s for s in places for i in range(s.start, s.end)}
        for s in terms:
            if kind(s) != TermKind.NORMAL or s.start in in_entity:
                continue
            tok = doc[s.start]
            nxt = doc[s.end] if s.end < len(doc) else None
            if nxt is not None and nxt.lower_ in ("for", "of", "to"):
                continue  # "negative for", "free of": a negation trigger, not a statement
            if _negated(tok) or any(t.lower_ in ("abnormal", "not") for t in doc[max(
                    0, s.start - 1):s.start]):
                continue
            root = doc[s.start:s.end].root
            owners: list[Span] = []
            if root.dep_ in ("amod", "compound") and root.head.i in place_of:
                owners = [place_of[root.head.i]]
            else:
                owners = _subject_places(root, place_of)
            if not owners and root.dep_ == "ROOT" and not any(
                    t.pos_ in ("NOUN", "PROPN") for t in doc if t.i not in range(s.start, s.end)
                    and not t.is_punct):
                doc.user_data["bare_normal"] = True
                continue
            for place in owners:
                add(Entity(place.start, place.end, "abnormality", "abnormality",
                           anatomy=value(place), fixed=True, how="normal", absent=True,
                           words="abnormality"))

    # ---------------------------------------------------------------- unknown noun phrases
    def _phrases(self, doc: Doc, places: list[Span], lenient: bool, add: Any) -> None:
        place_tokens = {i for s in places for i in range(s.start, s.end)}
        for chunk in doc.noun_chunks:
            root = chunk.root
            if root.i in place_tokens or root.pos_ not in ("NOUN", "PROPN") or \
                    _names_anatomy(doc, doc[root.i:root.i + 1]):
                continue
            lemma = root.lemma_.lower()
            if lemma in GENERIC or root.lower_ in GENERIC or not root.is_alpha:
                continue
            words = [t for t in chunk if t.i not in place_tokens and t.is_alpha
                     and len(t.text) > 1 and t.lower_ not in _TECHNIQUE
                     and t.dep_ not in ("det", "nummod", "predet", "poss", "case")
                     and t.lower_ not in _NEGATORS and t.lower_ not in GENERIC]
            if not words or root not in words:
                continue
            abbreviation = bool(_ABBREVIATION.match(root.text))
            diseased = bool(_DISEASE_SUFFIX.search(root.lower_)) or any(
                t.lower_ in _EPONYM_WORDS for t in words)
            looks_adjective = bool(ADJECTIVE_END.search(root.lower_)) or root.lower_.endswith("y")
            if not (diseased or abbreviation or (lenient and len(root.text) >= 4
                                                 and not looks_adjective)):
                continue
            start = min(t.i for t in words)
            text = " ".join(t.lower_ for t in words if t.i >= start)
            # The concept is the noun and the nouns that name it ("sac tumor"), not the
            # adjectives a rewording may drop or add ("heterogeneous", "large").
            key = " ".join(_singular(t) if t.i == root.i else t.lower_ for t in words
                           if t.i == root.i or (t.pos_ in ("NOUN", "PROPN")
                           and t.dep_ in ("compound", "nmod")))
            add(Entity(start, root.i + 1, "~" + key, None, how="phrase", words=text))

    # ---------------------------------------------------------------- fallback statement
    def _statement(self, doc: Doc, terms: list[Span], places: list[Span], add: Any) -> None:
        """A sentence that names no finding the vocabulary or the heads know still says
        something ("The right coronal suture is fused."): its main noun phrase stands for it,
        so leaving it out, negating it or changing its side still shows."""
        place_tokens = {i: s for s in places for i in range(s.start, s.end)}
        qualifier_tokens = {i for s in terms if kind(s) == TermKind.QUALIFIER
                            for i in range(s.start, s.end)}
        for chunk in doc.noun_chunks:
            root = chunk.root
            if root.pos_ not in ("NOUN", "PROPN") or not root.is_alpha or len(root.text) < 3:
                continue
            if root.lower_ in GENERIC or root.lemma_.lower() in GENERIC or \
                    root.lower_ in _TECHNIQUE:
                continue
            words = [t for t in chunk if t.is_alpha and len(t.text) > 1
                     and t.i not in qualifier_tokens and t.lower_ not in _NEGATORS
                     and t.dep_ not in ("det", "nummod", "predet", "poss")
                     and t.lower_ not in GENERIC and t.lower_ not in _TECHNIQUE]
            if not words:
                continue
            start, end = min(t.i for t in words), max(t.i for t in words) + 1
            if root.i in place_tokens:
                rid = value(place_tokens[root.i])
                label = self.vocabulary.label(rid) or rid
                add(Entity(start, end, f"~about {rid}", None, how="statement", anatomy=rid,
                           fixed=True, words=f"statement about the {label}"))
            else:
                key = " ".join(_singular(t) if t.i == root.i else t.lower_ for t in words
                               if t.i == root.i or t.pos_ in ("NOUN", "PROPN"))
                add(Entity(start, end, "~" + key, None, how="statement",
                           words=" ".join(t.lower_ for t in words)))
            return

    # ---------------------------------------------------------------- places
    def _place(self, doc: Doc, e: Entity, places: list[Span], entities: list[Entity]) -> None:
        """The organ a finding is in: its own words, its phrase, its subject, or the nearest."""
        own = [s for s in places if e.start <= s.start and s.end <= e.end]
        found = _most_specific([value(s) for s in own], self.vocabulary)
        if found is None:
            found = self._governed(doc, e, places)
        if found is None and e.how != "vocabulary":
            found = self._nearest(doc, e, places, entities)
        if found is None:
            return
        if e.anatomy is None:
            e.anatomy = found
        elif self.vocabulary.within(found, e.anatomy) and found != e.anatomy:
            e.anatomy = found  # "renal cyst ... in the lower pole": the finer place

    def _governed(self, doc: Doc, e: Entity, places: list[Span]) -> str | None:
        place_of = {i: s for s in places for i in range(s.start, s.end)}
        root = doc[e.start:e.end].root
        # the phrase the finding governs: "tear of the ACL", "lesion in the frontal lobe"
        for child in root.children:
            if child.dep_ == "prep" and child.lower_ in _PLACE_PREPS:
                for t in child.subtree:
                    if t.i in place_of:
                        return value(place_of[t.i])
            if child.dep_ in ("compound", "amod", "nmod") and child.i in place_of:
                return value(place_of[child.i])
        # the organ it belongs to: "bladder with thickened wall", "liver contains a cyst"
        current: Token = root
        for _ in range(4):
            parent = current.head
            if parent.i == current.i:
                break
            if parent.i in place_of:
                return value(place_of[parent.i])
            if parent.pos_ in ("VERB", "AUX"):
                for child in parent.children:
                    if child.dep_ in ("nsubj", "nsubjpass") and child.i != root.i:
                        for t in child.subtree:
                            if t.i in place_of:
                                return value(place_of[t.i])
            current = parent
        return None

    def _nearest(self, doc: Doc, e: Entity, places: list[Span], entities: list[Entity],
                 ) -> str | None:
        """The nearest organ in the sentence that no other finding has claimed by its words."""
        claimed = {(s.start, s.end) for s in places for o in entities if o is not e
                   and o.start <= s.start and s.end <= o.end}
        free = [s for s in places if (s.start, s.end) not in claimed]
        if not free:
            return None
        best = min(free, key=lambda s: (_gap(s.start, s.end, e.start, e.end), s.start > e.start))
        return value(best)

    # ---------------------------------------------------------------- qualifiers
    def _qualifiers(self, doc: Doc, terms: list[Span], entities: list[Entity]) -> None:
        if not entities:
            return
        organs = [t for t in terms if kind(t) == TermKind.ANATOMY]
        for s in longest([t for t in terms if kind(t) == TermKind.QUALIFIER]):
            target = min(entities, key=lambda e: _distance(s.start, s.end, e.start, e.end))
            # "large" in "large bowel" names the organ, not a severity ("left" in "left
            # lower lobe" still gives the side)
            named = any(a.start <= s.start and s.end <= a.end and len(a) > len(s)
                        for a in organs) or _cell_type(doc, s)
            for part in value(s).split(";"):
                key, said = part.split("=", 1)
                if named and key == "severity":
                    continue
                if key == "anatomy":
                    if target.anatomy is None:
                        target.anatomy = said
                    continue
                target.quals.setdefault(key, []).append(
                    (_distance(s.start, s.end, target.start, target.end), said, s.text))
        for span, size_mm, words in _sizes(doc):
            target = min(entities, key=lambda e: _distance(span[0], span[1], e.start, e.end))
            target.quals.setdefault("size", []).append(
                (_distance(span[0], span[1], target.start, target.end), str(size_mm), words))


_SIZE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(?:x|by|×)\s*(\d+(?:\.\d+)?))?"
    r"(?:\s*(?:x|by|×)\s*(\d+(?:\.\d+)?))?\s*(mm|cm|millimeters?|centimeters?)\b",
    re.IGNORECASE,
)


# A length that says where, not how big: "occluded from 4 cm beyond its origin", "a polyp
# 20 cm from the anal verge", "the tip 2 cm above the carina".
_DISTANCE_AFTER = re.compile(r"\s*(beyond|distal to|proximal to|below|above|inferior to|"
                             r"superior to|from the|from its|off the)\b", re.IGNORECASE)


def _sizes(doc: Doc) -> list[tuple[tuple[int, int], float, str]]:
    out = []
    for m in _SIZE.finditer(doc.text):
        if _DISTANCE_AFTER.match(doc.text, m.end()):
            continue
        span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
        if span is None:
            continue
        dims = [float(d) for d in m.group(1, 2, 3) if d]
        factor = 10.0 if m.group(4).lower().startswith("c") else 1.0
        out.append(((span.start, span.end), max(dims) * factor, m.group(0)))
    return out


def _gap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    if a_end <= b_start:
        return b_start - a_end
    if b_end <= a_start:
        return a_start - b_end
    return 0


def _distance(q_start: int, q_end: int, e_start: int, e_end: int) -> tuple[int, int]:
    """Token distance from a qualifier to an entity; ties prefer the entity that follows."""
    if q_start >= e_start and q_end <= e_end:
        return (0, 0)
    if q_end <= e_start:
        return (e_start - q_end, 0)
    return (q_start - e_end + 1, 1)


def _cell_type(doc: Doc, s: Span) -> bool:
    """"small" of "(non-)small cell carcinoma", "large cell": a kind of cell, no size."""
    return s.end < len(doc) and doc[s.end].lower_ in ("cell", "cells")


def _prefix_denied(doc: Doc, s: Span) -> bool:
    """A term of several words whose first word a "non-" prefix denies: "non-calcified
    pleural thickening" is a pleural thickening (not an absent "calcified pleura"),
    "non-Hodgkin lymphoma" a lymphoma. The shorter term inside it names the finding."""
    return s.end - s.start > 1 and s.start >= 2 and doc[s.start - 1].text == "-" and \
        doc[s.start - 2].lower_ == "non"


def _orientation(doc: Doc, s: Span) -> bool:
    """A structure a finding lies along, not in: "a mass parallel to the skin" is in the
    breast (BI-RADS orientation), "perpendicular to the cortex" in the bone."""
    words = [t.lower_ for t in doc[max(0, s.start - 3):s.start]]
    return any(w in ("parallel", "perpendicular") for w in words) and "to" in words


_LEVEL = re.compile(r"[CTLS]\d{1,2}", re.IGNORECASE)


def _level_range(doc: Doc, s: Span) -> bool:
    """A vertebral level that is one end of a disc level ("C5-C6", "L4-5", "L5/S1"): the
    finding is at the disc space between, not in either vertebra."""
    if not _LEVEL.fullmatch(s.text):
        return False
    text = doc.text
    return text[s.end_char:s.end_char + 1] in ("-", "/") or (
        s.start_char > 0 and text[s.start_char - 1] in ("-", "/"))


def _singular(tok: Token) -> str:
    """The noun without its plural ending ("masses" -> "mass"); not the lemmatizer's Latin
    guess ("leiomyoma" -> "leiomyomum"), which two writings of one noun do not share."""
    lemma, word = tok.lemma_.lower(), tok.lower_
    return lemma if word.startswith(lemma) else word


def _names_anatomy(doc: Doc, s: Span) -> bool:
    """A finding word that is part of a structure's name: the "lateral mass" of C1, the
    mastoid "air cells". Read as a finding, it would take the side the fracture has."""
    before = doc[s.start - 1].lower_ if s.start > 0 else ""
    after = doc[s.end].lower_ if s.end < len(doc) else ""
    return (before == "lateral" and s.root.lower_.startswith("mass")) or (
        s.root.lower_ == "air" and after.startswith("cell"))


def _comma_between(doc: Doc, a: int, b: int) -> bool:
    """A comma parts a finding from the word a parse hangs on it: in "dense fluid, likely
    hemopericardium" the fluid is a finding of its own, not a word describing the other."""
    return any(doc[k].text in (",", ";") for k in range(min(a, b) + 1, max(a, b)))


def _negated(tok: Token) -> bool:
    """"is not dilated", "no longer enlarged" (a negation the parser attaches to the word)."""
    heads = [tok, tok.head] if tok.dep_ in ("acomp", "attr", "xcomp") else [tok]
    for t in heads:
        if any(c.dep_ == "neg" or c.lower_ in ("no", "not") for c in t.children):
            return True
    prev = tok.doc[tok.i - 1] if tok.i > 0 else None
    return prev is not None and prev.lower_ in ("not", "no", "non")


def _subject_places(tok: Token, place_of: dict[int, Span]) -> list[Span]:
    """The organs a predicate is said of: "The liver, spleen and pancreas are unremarkable";
    not an organ that only qualifies the subject ("pulmonary vascularity is normal")."""
    verb = tok
    for _ in range(3):
        if any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children):
            break
        if verb.head.i == verb.i:
            break
        verb = verb.head
    out: list[Span] = []
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass"):
            for t in child.subtree:
                span = place_of.get(t.i)
                if span is None or span in out:
                    continue
                owner = span.root
                if owner.dep_ in ("amod", "compound", "nmod") and owner.head.i not in place_of:
                    continue  # "pulmonary" in "pulmonary vascularity"
                out.append(span)
    return out


# After a sentence-initial "No", these mean "no" is not the determiner of a noun phrase
# ("No pneumothorax") but denies the clause that follows ("No, the appendix is not dilated";
# "No on the right there is ..."): everything the sentence states is denied.
_CLAUSE_START = frozenset({"DET", "ADP", "ADV", "SCONJ", "PRON", "CCONJ", "PUNCT", "AUX",
                           "VERB", "PART"})


def _denied_whole(doc: Doc) -> bool:
    words = [t for t in doc if not t.is_space]
    if len(words) < 3 or words[0].lower_ != "no":
        return False
    second = words[1]
    return second.pos_ in _CLAUSE_START and second.lower_ not in ("other", "more", "further",
                                                                   "significant", "definite")


def _object_places(tok: Token, place_of: dict[int, Span]) -> list[Span]:
    """The organs an active verb acts on: "the mass compresses the spinal cord"."""
    if any(c.dep_ == "nsubjpass" for c in tok.children):
        return []
    out: list[Span] = []
    for child in tok.children:
        if child.dep_ in ("dobj", "obj"):
            for t in child.subtree:
                span = place_of.get(t.i)
                if span is not None and span not in out:
                    out.append(span)
    return out


def _most_specific(places: list[str], vocabulary: Vocabulary) -> str | None:
    """The nearest place, unless a later one lies in it ("left lung base" -> lung base)."""
    if not places:
        return None
    best = places[0]
    for place in places[1:]:
        if vocabulary.within(place, best):
            best = place
    return best


@Language.factory("radagree_entities")
def make_entity_reader(nlp: Language, name: str) -> EntityReader:
    return EntityReader(load_vocabulary())


# Nouns of how images were made: "thick-slab images", "thin-section CT" describe no finding.
_TECHNIQUE_NOUNS = frozenset({"slab", "slabs", "section", "sections", "slice", "slices",
                              "collimation", "reformat", "reformats", "mip", "mips"})


def _technique_noun_after(doc: Doc, i: int) -> bool:
    j = i + 1
    if j < len(doc) and doc[j].text == "-":
        j += 1
    return j < len(doc) and doc[j].lower_ in _TECHNIQUE_NOUNS
