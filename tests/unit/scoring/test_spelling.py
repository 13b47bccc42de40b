"""Typos of finding words are read as the word meant; real words and names stay as written."""

from __future__ import annotations

import pytest

from scoring import abbreviations
from scoring.sections import Section
from scoring.spelling import Speller
from scoring.vocabulary import load_vocabulary


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.of(load_vocabulary())


@pytest.mark.parametrize(("typed", "meant"), [
    ("singal", "signal"),            # two letters swapped
    ("attelectasis", "atelectasis"),  # a letter doubled
    ("hypoattnuation", "hypoattenuation"),  # a letter dropped
    ("collosum", "callosum"),        # one vowel for another
])
def test_a_slip_of_the_keyboard_is_corrected(speller: Speller, typed: str, meant: str) -> None:
    assert speller.meant(typed) == meant


@pytest.mark.parametrize("word", [
    "injection",     # an English word one letter from "infection"
    "loculation",    # a consonant changed makes another finding ("lobulation")
    "occluder",      # another ending ("occluded"): a device, not a state
    "gravis",        # myasthenia gravis, not Graves
    "infrarenal",    # a prefix on a known word ("intrarenal" is another place)
    "inframammary",
    "fibroids",      # a plural the NER reads anyway
    "effusion",
])
def test_a_word_is_left_as_written(speller: Speller, word: str) -> None:
    assert speller.meant(word) is None


def test_a_name_inside_a_sentence_is_left_as_written(speller: Speller) -> None:
    assert speller.correct("Follow-up per Fleischner guidelines.") is None


def test_the_correction_keeps_the_words_as_written(scorer) -> None:
    text = "It has increased T2 singal."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    [m] = [m for m in scorer.ner.mentions(read, "spine") if m.head == "signal_abnormality"]
    assert m.text == "increased T2 singal"


def test_an_abbreviation_and_a_typo_in_one_sentence(scorer) -> None:
    text = "SAH with hydrocephaplus."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    texts = {m.text for m in scorer.ner.mentions(read, "head")}
    assert {"SAH", "hydrocephaplus"} <= texts


def test_rewritings_compose_back_to_the_original() -> None:
    first = abbreviations.expand("SAH and IVH.")
    assert first is not None
    later = Speller(["hemorrhage"]).correct(first.text.replace("hemorrhage", "hemorrahge", 1))
    both = first.then(later)
    start = both.text.index("hemorrhage")
    assert both.back(start, start + len("hemorrhage")) == (0, 3)


def test_a_typo_left_out_is_still_a_difference(scorer) -> None:
    prelim = "FINDINGS:\nLesion of the femur.\n\nIMPRESSION:\nLesion.\n"
    final = ("FINDINGS:\nLesion of the femur. Scattered subarachnoid hemorrahge.\n\n"
             "IMPRESSION:\nLesion.\n")
    r = scorer.score(prelim, final, "CT HEAD WO")
    assert r.discrepancy == "major", r.explanation
