"""Misspelled finding words read as the word meant ("increased T2 singal", "attelectasis").

A typed preliminary has typos, and a finding the NER cannot read is a finding the scorer
cannot compare: the pair would be scored on what is left. A word is corrected only when
(1) it is no English word (pyspellchecker's packaged frequency list) and no word of our
vocabulary, (2) it has six letters or more, and (3) exactly one word of the vocabulary's
terms is one slip away (`_typo`), and (4) it is not a name (capitalised inside a sentence).
Everything else is read as written: a correction that guesses would put a finding into a
report.

The corrected sentence carries the way back to the words as written
(`abbreviations.Expanded`), so the table shows what the report says.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from scoring.abbreviations import Expanded, packaged, rewrite
from scoring.vocabulary import Vocabulary, qualifier_words, read_data_toml

_MIN_LENGTH = 6
_WORD = re.compile(r"[A-Za-z]+")
_LETTERS = re.compile(r"[a-z]+")
_VOWELS = frozenset("aeiouy")


@functools.cache
def _english() -> frozenset[str]:
    """The packaged English word list (no download: it ships inside the wheel)."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _edits(word: str) -> set[str]:
    """Every word one slip away (a superset of `_typo`'s): only an unknown word is asked, so
    this is cheaper than an index of the whole vocabulary."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b and b[0] in _VOWELS for c in _VOWELS}
            | {a + c + b for a, b in splits for c in letters})


def _typo(word: str, meant: str) -> bool:
    """One slip of the keyboard from `meant`: a letter added or dropped, two letters swapped,
    or one vowel for another before the word's ending ("collosum"). Not a consonant changed
    ("loculation" is no "lobulation") or an ending ("occluder", "gravis"), which make
    other words, and not a plural, which the NER reads anyway."""
    if word == meant or word.rstrip("s") == meant.rstrip("s"):
        return False
    if len(word) == len(meant):
        diff = [i for i in range(len(word)) if word[i] != meant[i]]
        if len(diff) == 2:
            i, j = diff
            return j == i + 1 and word[i] == meant[j] and word[j] == meant[i]
        return len(diff) == 1 and diff[0] < len(word) - 2 and \
            word[diff[0]] in _VOWELS and meant[diff[0]] in _VOWELS
    if abs(len(word) - len(meant)) != 1:
        return False
    short, long_ = sorted((word, meant), key=len)
    return short in _deletions(long_)


# A prefix on a known word makes a known word ("infrarenal", "nonmobile", "adynamic").
_PREFIXES = ("a", "an", "non", "un", "infra", "intra", "inter", "supra", "sub", "peri", "para",
             "retro", "pre", "post", "bi", "hypo", "hyper", "pseudo", "extra", "trans", "anti",
             "multi", "semi", "cardio", "neuro")


class Speller:
    """Corrects the words of a sentence against the vocabulary's own words."""

    def __init__(self, words: Iterable[str]) -> None:
        self.vocabulary = frozenset(w for w in words if w.isalpha())
        self.known = _english() | self.vocabulary

    @classmethod
    def of(cls, vocabulary: Vocabulary) -> Speller:
        return _speller(vocabulary)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one Speller per NER, kept for its life
    def meant(self, word: str) -> str | None:
        """The vocabulary word `word` misspells, or None."""
        if len(word) < _MIN_LENGTH or word in self.known or any(
                word.startswith(p) and word[len(p):] in self.known for p in _PREFIXES):
            return None
        near = {w for w in _edits(word) if w in self.vocabulary and len(w) >= _MIN_LENGTH}
        found = [w for w in near if _typo(word, w)]
        return found[0] if len(found) == 1 else None

    def correct(self, sentence: str) -> Expanded | None:
        """The sentence with its misspelled vocabulary words corrected, or None."""
        out: list[tuple[int, int, str]] = []
        for m in _WORD.finditer(sentence):
            word = m.group()
            if word.isupper() or (word[0].isupper() and sentence[:m.start()].strip()):
                continue  # an abbreviation or a name ("Fleischner"), not a misspelling
            meant = self.meant(word.lower())
            if meant is not None:
                out.append((m.start(), m.end(),
                            meant[0].upper() + meant[1:] if word[0].isupper() else meant))
        return rewrite(sentence, out)


@functools.cache
def _speller(vocabulary: Vocabulary) -> Speller:
    """One speller per vocabulary: building one reads 160,000 words (half a second)."""
    return Speller(_vocabulary_words(vocabulary))


def _vocabulary_words(vocabulary: Vocabulary) -> set[str]:
    """Every word of a finding, anatomy, head or qualifier term, of an abbreviation's long
    form, and of the NER's word lists."""
    texts: list[str] = [term for term, _ in vocabulary.finding_terms()]
    texts += [t for s in vocabulary.anatomy.values() for t in s.terms]
    texts += [n for h in vocabulary.heads.values() for n in (*h.nouns, *h.adjectives)]
    texts += list(qualifier_words())
    texts += [w for words in read_data_toml("words.toml").values() for w in words]
    texts += list(packaged().values())
    return {w for t in texts for w in _LETTERS.findall(t.lower())}
