"""The term tagger loaded from its pattern cache finds what spaCy's matchers find.

The tagger's patterns are tokenized once and cached instead of built at every start; these
tests hold the loaded tagger to the matchers it replaced, built afresh from the term table, on
real report sentences, and check that the cache is reused only for the table it was built from.
"""

from __future__ import annotations

import json

import pytest
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from scoring import pipeline
from scoring.lexicon import GAP
from scoring.pipeline import (
    PhraseTable,
    _term_pattern,
    load_term_patterns,
    term_patterns,
    term_table,
)
from scoring.terms import TERMS
from scoring.vocabulary import load_vocabulary

# Report sentences with findings, places, heads, qualifiers, gapped terms, abbreviations,
# hyphens and possessives: every kind of key the table holds.
SENTENCES = [
    "Mild cardiomegaly. Small right pleural effusion. No pneumothorax.",
    "Patchy opacity in the right lower lobe, possibly atelectasis.",
    "9 mm left upper lobe nodule; CT recommended.",
    "Heart size is normal and not enlarged.",
    "The liver is enlarged with mild-to-moderate diffuse fatty infiltration.",
    "Acute calculous cholecystitis: impacted stone in the gallbladder neck, wall thickening.",
    "Moderate to severe degenerative changes of the lumbar spine at L4-L5 with disc bulge.",
    "Small subdural hematoma along the left cerebral convexity without midline shift.",
    "RLL consolidation. Bibasilar atelectasis. Lungs are otherwise clear.",
    "Tear of the anterior cruciate ligament with a joint effusion; menisci are intact.",
    "Crohn's disease of the terminal ileum with a 3 cm abscess.",
    "Aortic aneurysm measuring 5.7 cm, increased from 4.9 cm.",
]


def _fresh_matchers(nlp: Language) -> tuple[PhraseMatcher, Matcher]:
    """What the tagger used before its patterns were stored: spaCy's matchers, built now."""
    phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
    gaps = Matcher(nlp.vocab)
    for key, terms in term_table(load_vocabulary()).items():
        plain = [t for t in terms if GAP not in t.split()]
        gapped = [t for t in terms if GAP in t.split()]
        if plain:
            phrases.add(key, list(nlp.tokenizer.pipe(plain)))
        if gapped:
            gaps.add(key, [_term_pattern(t) for t in gapped])
    return phrases, gaps


@pytest.mark.slow
def test_loaded_tagger_matches_what_fresh_spacy_matchers_match(scorer):
    nlp = scorer.ner.reader.nlp
    docs: list[Doc] = [nlp(text) for text in SENTENCES]
    phrases, gaps = _fresh_matchers(nlp)
    fresh = [{(m, s, e) for m, s, e in list(phrases(doc)) + list(gaps(doc))} for doc in docs]
    loaded = [{(span.label, span.start, span.end) for span in doc.spans[TERMS]} for doc in docs]
    assert all(fresh), "every sentence has terms, so an empty tagger cannot pass"
    assert any(len(doc) > 1 and any(e - s > 1 for _, s, e in f) for doc, f in zip(
        docs, fresh, strict=True)), "multi-token terms are among them"
    assert loaded == fresh


TABLE = {"F:test": ["pleural effusion", "effusion"], "F:gap": ["wall * thickening"]}


def test_patterns_are_built_once_then_read_from_the_cache(scorer, tmp_path, monkeypatch):
    nlp = scorer.ner.reader.nlp
    built = load_term_patterns(nlp, TABLE, tmp_path)
    assert built["phrases"] == {"F:test": ["pleural effusion", "effusion"]}
    assert built["gaps"] == {"F:gap": ["wall * thickening"]}
    [cached] = tmp_path.glob("term_patterns-*.json")

    def no_build(*args: object) -> None:
        raise AssertionError("built again although the cache holds this table")

    monkeypatch.setattr(pipeline, "term_patterns", no_build)
    assert load_term_patterns(nlp, TABLE, tmp_path) == json.loads(cached.read_text("utf-8"))
    assert json.loads(cached.read_text("utf-8")) == built


def test_a_changed_table_never_reads_the_old_cache(scorer, tmp_path):
    nlp = scorer.ner.reader.nlp
    load_term_patterns(nlp, TABLE, tmp_path)
    changed = {**TABLE, "F:test": ["effusion"]}
    assert load_term_patterns(nlp, changed, tmp_path)["phrases"] == {"F:test": ["effusion"]}
    assert len(list(tmp_path.glob("term_patterns-*.json"))) == 2


def test_a_corrupt_cache_file_is_rebuilt(scorer, tmp_path):
    nlp = scorer.ner.reader.nlp
    load_term_patterns(nlp, TABLE, tmp_path)
    [cached] = tmp_path.glob("term_patterns-*.json")
    cached.write_text('{"table_sha256": "', "utf-8")  # a write cut short
    assert load_term_patterns(nlp, TABLE, tmp_path)["gaps"] == {"F:gap": ["wall * thickening"]}


def test_phrase_table_finds_every_overlapping_match_by_lower_form(scorer):
    nlp = scorer.ner.reader.nlp
    table = PhraseTable(nlp, term_patterns(nlp, {
        "F:effusion": ["effusion", "pleural effusion"], "A:pleura": ["pleural"]})["phrases"])
    doc = nlp.make_doc("Small PLEURAL Effusion.")
    found = {(nlp.vocab.strings[m], s, e) for m, s, e in table(doc)}
    assert found == {("F:effusion", 1, 3), ("F:effusion", 2, 3), ("A:pleura", 1, 2)}
