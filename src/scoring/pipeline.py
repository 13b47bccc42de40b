"""The spaCy pipeline of the lexicon NER: sentences, concepts, qualifiers, assertion context.

One construction point (`build_pipeline`) so every caller gets the same components in the same
order. spaCy's own `sentencizer` is used rather than PyRuSH: it is ten times faster and
radiology sentences end in full stops.
"""


from typing import Any

import spacy
from medspacy.context import ConText, ConTextRule
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from scoring.lexicon import ABSENT, GAP, Lexicon, variants

QUALIFIERS = "qualifiers"
NEGATION_CUES = frozenset({"no", "not", "without", "never", "nor", "neither", "absent", "non"})
# Words a "*" gap in a lexicon term may not swallow: they would turn a normal statement into a
# finding ("heart size is normal and not enlarged" keeps its negation through the cue check).
_GAP_STOP = ["normal", "and", "or", "but", "with", "which", "that", "although", "however",
             "upper", "borderline", "enlarged"]

# Assertion triggers added to medspaCy's defaults. Seeded from the CheXpert labeler's
# uncertainty and negation patterns and NegBio's, written as ConText phrases.
_EXTRA_RULES: list[tuple[str, str, str]] = [
    ("may represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("could represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("might represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("may be", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("could be", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("may reflect", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("could reflect", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("concerning for", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspicious of", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("question of", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("questionable", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("possibly", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probable", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probably", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspected", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("presumed", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("cannot exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("can not exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("cannot rule out", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("difficult to exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("not excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("cannot be excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("can not be excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("not entirely excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("cannot be ruled out", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("versus", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("vs", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("and/or", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("differential diagnosis", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("not seen", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not identified", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not visualized", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not present", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not demonstrated", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not evident", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not appreciated", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are not seen", "NEGATED_EXISTENCE", "BACKWARD"),
    ("is absent", "NEGATED_EXISTENCE", "BACKWARD"),
    ("has resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("have resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("removed", "NEGATED_EXISTENCE", "BACKWARD"),
    ("been removed", "NEGATED_EXISTENCE", "BACKWARD"),
    ("interval removal of", "NEGATED_EXISTENCE", "FORWARD"),
    ("resolution of", "NEGATED_EXISTENCE", "FORWARD"),
    ("clearing of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no new", "NEGATED_EXISTENCE", "FORWARD"),
    ("no definite", "NEGATED_EXISTENCE", "FORWARD"),
    ("negative for", "NEGATED_EXISTENCE", "FORWARD"),
    ("there is no", "NEGATED_EXISTENCE", "FORWARD"),
    ("there are no", "NEGATED_EXISTENCE", "FORWARD"),
    ("nor", "NEGATED_EXISTENCE", "FORWARD"),
    ("not", "NEGATED_EXISTENCE", "FORWARD"),
    ("however", "NEGATED_EXISTENCE", "TERMINATE"),
    ("although", "NEGATED_EXISTENCE", "TERMINATE"),
    ("though", "NEGATED_EXISTENCE", "TERMINATE"),
    ("except", "NEGATED_EXISTENCE", "TERMINATE"),
    ("other than", "NEGATED_EXISTENCE", "TERMINATE"),
    ("with the exception of", "NEGATED_EXISTENCE", "TERMINATE"),
    ("which", "NEGATED_EXISTENCE", "TERMINATE"),
    ("there is", "NEGATED_EXISTENCE", "TERMINATE"),
    ("there are", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is seen", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is noted", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is present", "NEGATED_EXISTENCE", "TERMINATE"),
    ("are present", "NEGATED_EXISTENCE", "TERMINATE"),
    ("are noted", "NEGATED_EXISTENCE", "TERMINATE"),
    ("consistent with", "NEGATED_EXISTENCE", "TERMINATE"),
    ("no change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no significant change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no interval change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not changed", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not significantly changed", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no longer", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not well", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not only", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no increase", "NEGATED_EXISTENCE", "PSEUDO"),
    ("without change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("gram negative", "NEGATED_EXISTENCE", "PSEUDO"),
]
# medspaCy default triggers that misfire on chest radiograph wording.
_DROPPED_DEFAULTS = frozenset({"not", "resolved", "free", "secondary", "decline", "return", "ro"})


def _term_pattern(term: str) -> list[dict[str, Any]] | str:
    """A phrase stays a phrase; a term with a `*` gap becomes a token pattern."""
    if GAP not in term.split():
        return term
    pattern: list[dict[str, Any]] = []
    for word in term.split():
        if word == GAP:
            pattern.append({"LOWER": {"NOT_IN": _GAP_STOP}, "IS_PUNCT": False,
                            "IS_SENT_START": False, "OP": "{0,3}"})
        else:
            pattern.append({"LOWER": word, "IS_SENT_START": False} if pattern else {"LOWER": word})
    return pattern


def concept_patterns(lexicon: Lexicon) -> list[dict[str, Any]]:
    patterns: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for concept in lexicon.concepts.values():
        for synonym in concept.synonyms:
            for term in variants(synonym):
                if seen.setdefault(term, concept.id) != concept.id:
                    raise ValueError(
                        f"lexicon term {term!r} belongs to both {seen[term]!r} and {concept.id!r}"
                    )
                absent = term.startswith(ABSENT)
                patterns.append(
                    {"label": concept.kind.upper(),
                     "id": concept.id + (ABSENT if absent else ""),
                     "pattern": _term_pattern(term.removeprefix(ABSENT))}
                )
    return patterns


def _qualifier_terms(lexicon: Lexicon) -> dict[str, list[str]]:
    """Match-id -> terms; the id says what the words mean (`laterality=left`, `anatomy=lung`)."""
    terms: dict[str, list[str]] = {}
    for side, words in lexicon.laterality.items():
        terms[f"laterality={side}"] = list(words)
    for level, words in lexicon.severity.items():
        terms[f"severity={level}"] = list(words)
    for change, words in lexicon.change.items():
        terms[f"change={change}"] = list(words)
    for position, words in lexicon.position.items():
        terms[f"position={position}"] = list(words)
    for anatomy in lexicon.anatomy.values():
        terms[f"anatomy={anatomy.id}"] = [v for s in anatomy.synonyms for v in variants(s)]
    for abbreviation in lexicon.abbreviations:
        key = ";".join(
            f"{k}={v}" for k, v in
            (("laterality", abbreviation.laterality), ("anatomy", abbreviation.anatomy)) if v
        )
        terms.setdefault(key, []).extend(abbreviation.words)
    return terms


class QualifierTagger:
    """Finds laterality, severity, change, position and anatomy words; stores them in
    `doc.spans["qualifiers"]` with the meaning as the span label, longest match first."""

    def __init__(self, nlp: Language, lexicon: Lexicon) -> None:
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for key, words in _qualifier_terms(lexicon).items():
            self.matcher.add(key, [nlp.make_doc(w) for w in dict.fromkeys(words)])

    def __call__(self, doc: Doc) -> Doc:
        spans = [Span(doc, start, end, label=match_id)
                 for match_id, start, end in self.matcher(doc)]
        doc.spans[QUALIFIERS] = filter_spans(spans)
        return doc


@Language.factory("radagree_qualifiers")
def make_qualifier_tagger(nlp: Language, name: str) -> QualifierTagger:
    from scoring.lexicon import load_lexicon

    return QualifierTagger(nlp, load_lexicon())


def _context_rules() -> list[ConTextRule]:
    defaults = [r for r in ConText(spacy.blank("en"), rules="default").rules
                if r.literal not in _DROPPED_DEFAULTS]
    extra = [ConTextRule(literal, category, direction=direction)
             for literal, category, direction in _EXTRA_RULES]
    return defaults + extra


def build_pipeline(lexicon: Lexicon) -> Language:
    """blank English + sentencizer + concept ruler + qualifier tagger + medspaCy ConText."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe(
        "entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True}
    )
    ruler.add_patterns(concept_patterns(lexicon))
    nlp.add_pipe("radagree_qualifiers")
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(_context_rules())
    return nlp
