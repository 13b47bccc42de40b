"""Which sentences of one report the other report keeps, one to one.

An attending rewrites the preliminary sentence by sentence: most sentences are kept with
other words, some are split, joined, reordered or left out. The NER reads a reworded
sentence's finding differently often enough that "no entity matched" is weak evidence of a
difference; "no sentence of the other report says it" is strong evidence. The sentences are
aligned one to one (a sentence copied verbatim claims its copy, so words of one sentence
scattered over others never count as a restatement) by the share of content words each keeps
of the other's, and a sentence is *kept* when its partner keeps two words in five or more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import linear_sum_assignment

from scoring.abbreviations import definitions, expand
from scoring.clinical import content_words

_DENIAL = re.compile(r"\b(no|not|without|negative for|absent|absence of|excluded|ruled out)\b",
                     re.IGNORECASE)
_SENTENCE = re.compile(r"(?:[^.;!?\n]|\.(?=\d))+[.;!?]?")  # "3.2 cm" stays one sentence
KEPT_SHARE = 0.4      # a reworded sentence keeps two words in five or more
OMITTED_SHARE = 0.25  # a sentence whose partner keeps under a quarter was left out
JOINED_WORDS = 12     # a sentence this long may join several of the other report's
JOINED_MORE = 3       # ... and the three that keep most of it are read with its partner


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    words: frozenset[str]
    denies: bool  # a negation cue: "No bronchial carcinoid" keeps every word it denies


def _sentences(text: str) -> list[_Sentence]:
    """Each sentence's content words, with its abbreviations written out: "ACOM complex"
    and "anterior communicating artery complex" keep the same words."""
    local = definitions(text)
    out = []
    for m in _SENTENCE.finditer(text):
        expanded = expand(m.group(), local)
        words = content_words(expanded.text if expanded else m.group())
        if words:
            out.append(_Sentence(m.start(), m.end(), words,
                                 bool(_DENIAL.search(m.group()))))
    return out


class Restatement:
    """The one-to-one sentence alignment of a report pair and what it says of a span."""

    def __init__(self, prelim: str, final: str) -> None:
        self.texts = (prelim, final)

    @cached_property
    def sides(self) -> tuple[list[_Sentence], list[_Sentence]]:
        """Read only when a row asks (most pairs have no finding alone on its side)."""
        return _sentences(self.texts[0]), _sentences(self.texts[1])

    @cached_property
    def _partners(self) -> tuple[dict[int, int], dict[int, int]]:
        """Each side's sentence -> its partner on the other side (one to one)."""
        p, f = self.sides
        if not p or not f:
            return {}, {}
        keep = np.array([[len(a.words & b.words) for b in f] for a in p], dtype=float)
        # Both ways at once: the pair that keeps most of both sentences wins.
        size_p = np.array([len(a.words) for a in p], dtype=float)[:, None]
        size_f = np.array([len(b.words) for b in f], dtype=float)[None, :]
        rows, cols = linear_sum_assignment(keep / size_p + keep / size_f, maximize=True)
        return ({int(i): int(j) for i, j in zip(rows, cols, strict=True)},
                {int(j): int(i) for i, j in zip(rows, cols, strict=True)})

    @cached_property
    def _shares(self) -> tuple[list[float], list[float]]:
        p, f = self.sides
        if not p or not f:
            return [0.0] * len(p), [0.0] * len(f)
        partner = self._partners
        verbatim = ({i for i, j in partner[0].items() if p[i].words == f[j].words},
                    {j for j, i in partner[1].items() if p[i].words == f[j].words})
        return (self._side_shares(p, f, partner[0], verbatim[1]),
                self._side_shares(f, p, partner[1], verbatim[0]))

    @staticmethod
    def _side_shares(own: list[_Sentence], other: list[_Sentence], partner: dict[int, int],
                     verbatim: set[int]) -> list[float]:
        """A sentence's partner with the partner's neighbours (a restyling splits a sentence
        in two or joins two), except neighbours copied verbatim from a sentence of their own."""
        out = []
        for i, s in enumerate(own):
            j = partner.get(i)
            if j is None:  # more sentences on this side: the best free-standing one
                j = max((k for k in range(len(other)) if k not in verbatim),
                        key=lambda k: len(s.words & other[k].words), default=None)
            if j is None:
                out.append(0.0)
                continue
            words = set(other[j].words)
            for k in (j - 1, j + 1):
                if 0 <= k < len(other) and k not in verbatim:
                    words |= other[k].words
            if len(s.words) >= JOINED_WORDS:
                # A long sentence joins several of the other report's (a template's lines
                # written as one prose sentence): the sentences that keep most of it count.
                best = sorted((k for k in range(len(other)) if k not in verbatim and k != j),
                              key=lambda k: -len(s.words & other[k].words))[:JOINED_MORE]
                for k in best:
                    words |= other[k].words
            out.append(len(s.words & words) / len(s.words))
        return out

    def share(self, side: int, span: tuple[int, int]) -> tuple[float, int] | None:
        """How much of the sentence holding `span` (side 0 the preliminary, 1 the final)
        its partner keeps, and how many content words it has; None outside any sentence."""
        k = self._index(side, span)
        if k is None:
            return None
        return self._shares[side][k], len(self.sides[side][k].words)

    def _index(self, side: int, span: tuple[int, int]) -> int | None:
        """The sentence of this side that holds the start of `span`."""
        return next((k for k, s in enumerate(self.sides[side]) if s.start <= span[0] < s.end),
                    None)

    def kept(self, side: int, span: tuple[int, int], min_words: int = 2) -> bool:
        """Kept in other words: its partner keeps two words in five or more, and does not
        deny what it states (or state what it denies)."""
        found = self.share(side, span)
        if found is None or found[1] < min_words or found[0] < KEPT_SHARE:
            return False
        return not self.denied_by_partner(side, span)

    def denied_by_partner(self, side: int, span: tuple[int, int]) -> bool:
        """The partner denies the mention's own word and its sentence does not, or the other
        way round ("No bronchial carcinoid" / "Bronchial carcinoid")."""
        own = self.sides[side]
        k = self._index(side, span)
        j = self._partners[side].get(k) if k is not None else None
        if j is None or own[k].denies == self.sides[1 - side][j].denies:
            return False
        words = re.findall(r"[a-z]{3,}", self.texts[side][span[0]:span[1]].lower())
        if not words:
            return False
        near = re.compile(_DENIAL.pattern + r"\W+(?:\w+\W+){0,4}?" + re.escape(words[-1]),
                          re.IGNORECASE)
        other = self.sides[1 - side][j]
        return bool(near.search(self.texts[1 - side][other.start:other.end])) != bool(
            near.search(self.texts[side][own[k].start:own[k].end]))

    def omitted(self, side: int, span: tuple[int, int], min_words: int = 4) -> bool:
        found = self.share(side, span)
        return found is not None and found[1] >= min_words and found[0] < OMITTED_SHARE
