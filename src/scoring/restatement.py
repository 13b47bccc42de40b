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
from difflib import SequenceMatcher
from functools import cached_property

import numpy as np
from scipy.optimize import linear_sum_assignment

from scoring.abbreviations import definitions, expand
from scoring.clinical import content_words
from scoring.vocabulary import read_data_toml

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
    return [s for s in (_sentence(m, local) for m in _SENTENCE.finditer(text)) if s]


def _sentence(m: re.Match[str], local: dict[str, str]) -> _Sentence | None:
    expanded = expand(m.group(), local)
    words = content_words(expanded.text if expanded else m.group())
    if not words:
        return None
    return _Sentence(m.start(), m.end(), words, bool(_DENIAL.search(m.group())))


def _kept(a: _Sentence, b: _Sentence) -> float:
    """The share of both sentences' words the two keep, the denial cues aside."""
    every = (a.words | b.words) - _CUE_STEMS
    return len(a.words & b.words) / len(every) if every else 0.0


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

    def sentence_span(self, side: int, span: tuple[int, int]) -> tuple[int, int]:
        """The sentence of this side that holds `span` (the span itself outside any)."""
        k = self._index(side, span)
        return span if k is None else (self.sides[side][k].start, self.sides[side][k].end)

    def omitted(self, side: int, span: tuple[int, int], min_words: int = 4) -> bool:
        found = self.share(side, span)
        return found is not None and found[1] >= min_words and found[0] < OMITTED_SHARE

    @cached_property
    def flips(self) -> list[Flip]:
        """Partner sentences that say the same words, one of them denying what the other
        states ("demonstrate no serpentine vascular pattern" / "demonstrate serpentine
        vascular pattern"): a contradiction even where the NER names no finding in them."""
        # Only sentences without a verbatim copy on the other side can flip (a copy claims
        # its copy as partner); most pairs have none, and no alignment is paid for them.
        raw = [list(_SENTENCE.finditer(t)) for t in self.texts]
        said = [{m.group().strip() for m in ms} for ms in raw]
        lone = [[m for m in raw[side] if m.group().strip() not in said[1 - side]]
                for side in (0, 1)]
        if not any(_DENIAL.search(m.group()) for ms in lone for m in ms):
            return []
        p, f = ([_sentence(m, definitions(self.texts[side])) for m in lone[side]]
                for side in (0, 1))
        p, f = [a for a in p if a], [b for b in f if b]
        out = []
        for a in p:
            # the sentence of the other side that keeps most of it, cue aside: with three
            # words in four kept, there is one such sentence or none
            b = max(f, key=lambda b: _kept(a, b), default=None)
            if b is None or _kept(a, b) < FLIP_SHARE or len(a.words & b.words) < 3:
                continue
            for side, own, other in ((0, a, b), (1, b, a)):
                found = self._denied_phrase(side, own, 1 - side, other)
                if found is not None:
                    spans = (found[0], found[1]) if side == 0 else (found[1], found[0])
                    out.append(Flip(side, spans, found[2]))
                    break
        return out

    @cached_property
    def swaps(self) -> list[Swap]:
        """Partner sentences written word for word alike but for one side or severity word
        ("more pronounced on the left" / "on the right", "Large feeder from the ACA" / "Small
        feeder"): a difference even where the NER names no finding for the word. Neighbours of
        one meaning ("minimal" / "mild") are no swap."""
        raw = [list(_SENTENCE.finditer(t)) for t in self.texts]
        said = [{m.group().strip() for m in ms} for ms in raw]
        lone = [[m for m in raw[side] if m.group().strip() not in said[1 - side]]
                for side in (0, 1)]
        if not lone[0] or not lone[1]:
            return []
        words = [[list(_WORD.finditer(m.group())) for m in ms] for ms in lone]
        out = []
        for a, a_words in zip(lone[0], words[0], strict=True):
            a_text = [w.group().lower() for w in a_words]
            if not _SWAP_CLASS.keys() & set(a_text):
                continue
            for b, b_words in zip(lone[1], words[1], strict=True):
                b_text = [w.group().lower() for w in b_words]
                if len(a_text) < 3 or len(a_text) != len(b_text):
                    continue
                changed = [op for op in SequenceMatcher(None, a_text, b_text,
                                                        autojunk=False).get_opcodes()
                           if op[0] != "equal"]
                if len(changed) != 1:
                    continue
                tag, i1, i2, j1, j2 = changed[0]
                if tag != "replace" or i2 - i1 != 1 or j2 - j1 != 1:
                    continue
                one, two = _SWAP_CLASS.get(a_text[i1]), _SWAP_CLASS.get(b_text[j1])
                if one is None or two is None or one[0] != two[0] or one[1] == two[1]:
                    continue
                out.append(Swap(one[0], (_window(self.texts[0], a, a_words, i1),
                                         _window(self.texts[1], b, b_words, j1)),
                                (a_text[i1], b_text[j1])))
                break
        return out

    def _denied_phrase(self, side: int, own: _Sentence, other_side: int, other: _Sentence
                       ) -> tuple[tuple[int, int], tuple[int, int], str] | None:
        """The phrase `own` denies and `other` states undenied: its span in each and its
        words (the first words after the cue, or the subject of "X is not seen")."""
        text = self.texts[side][own.start:own.end]
        other_text = self.texts[other_side][other.start:other.end]
        for cue in _DENIAL.finditer(text):
            after = list(_WORD.finditer(text, cue.end()))
            lead = next((w for w in after if w.group().lower() not in _LEAD_WORDS), None)
            if lead is None:
                continue
            if lead.group().lower() in _SEEN_WORDS:  # "Thrombosis is not seen": the subject
                before = list(_WORD.finditer(text, 0, cue.start()))
                words = [w for w in before if w.group().lower() not in _COPULA][-4:]
                while words and words[0].group().lower() in _LEAD_WORDS:
                    words = words[1:]  # "A serpiginous vascular pattern is not seen"
            else:
                words = after[after.index(lead):][:5]
                stop = next((k for k, w in enumerate(words) if k and (
                    w.group().lower() in _PHRASE_END or w.group().lower() in _SEEN_WORDS)),
                    None)
                words = words[:stop] if stop else words
            if not words or words[0].group().lower()[:5] not in other.words:
                continue
            phrase = text[words[0].start():words[-1].end()]
            word = re.compile(r"\b" + re.escape(words[0].group()) + r"\b", re.IGNORECASE)
            mine, theirs = _denials(word, text), _denials(word, other_text)
            stated = [m for m, denied in theirs if not denied]
            if not stated or sum(d for _, d in mine) <= sum(d for _, d in theirs):
                continue  # the other sentence denies it as often (an identical sentence)
            same = re.compile(re.escape(phrase), re.IGNORECASE)
            there = next((m for m, denied in _denials(same, other_text) if not denied),
                         stated[0])  # the whole phrase where the other says it so
            return ((own.start + words[0].start(), own.start + words[-1].end()),
                    (other.start + there.start(), other.start + there.end()), phrase)
        return None


def _denials(word: re.Pattern[str], text: str) -> list[tuple[re.Match[str], bool]]:
    """Each occurrence of the word, and whether a cue before it in its clause denies it
    ("no radiographic evidence of free air"), or one after it in its clause: "Significant sinus
    disease is excluded", "Murphy sign negative", a template's "Extra-axial spaces: No
    collection"."""
    return [(m, bool(_DENIAL.search(re.split(r"[,;:]", text[:m.start()])[-1])
                     or _DENIED_AFTER.search(re.split(r"[,;]", text[m.end():])[0])))
            for m in word.finditer(text)]


@dataclass(frozen=True)
class Flip:
    """One sentence denied in the other report: `side` denies; spans are (prelim, final)."""

    side: int
    spans: tuple[tuple[int, int], tuple[int, int]]
    phrase: str


@dataclass(frozen=True)
class Swap:
    """One word of a sentence changed for another of its kind: `reason` is "laterality" or
    "severity"; spans (prelim, final) of the words around it; words (prelim, final)."""

    reason: str
    spans: tuple[tuple[int, int], tuple[int, int]]
    words: tuple[str, str]


def _window(text: str, sentence: re.Match[str], words: list[re.Match[str]], k: int
            ) -> tuple[int, int]:
    """The swapped word with up to three words either side, as a span of the report."""
    lo, hi = max(k - 3, 0), min(k + 4, len(words))
    return sentence.start() + words[lo].start(), sentence.start() + words[hi - 1].end()


def _swap_class() -> dict[str, tuple[str, int]]:
    """Word -> (kind, rung): sides, and severity on the context check's ladder ("minimal"
    and "mild" one rung)."""
    q = read_data_toml("qualifiers.toml")
    out: dict[str, tuple[str, int]] = {}
    for rung, spellings in enumerate(q["laterality"].values()):
        for w in spellings:
            if " " not in w and len(w) > 2:  # "l" and "r" name many things
                out[w] = ("laterality", rung)
    for level, spellings in q["severity"].items():
        for w in spellings:
            if " " not in w and "-" not in w:
                out[w] = ("severity", max(int(level), 2))
    return out


_SWAP_CLASS = _swap_class()
_DENIED_AFTER = re.compile(_DENIAL.pattern + r"|\bnegative\b", re.IGNORECASE)
FLIP_SHARE = 0.75  # the two sentences keep three words in four of each other, cue aside
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_CUE_STEMS = frozenset({"not", "witho", "negat", "absen", "exclu", "ruled"})
_LEAD_WORDS = frozenset({"evidence", "of", "a", "an", "the", "any", "definite", "convincing",
                         "significant", "signs", "sign", "suggestion", "findings", "finding",
                         "to", "suggest", "for", "is", "are", "was", "were", "be"})
_SEEN_WORDS = frozenset({"seen", "identified", "present", "visualized", "visualised", "noted",
                         "demonstrated", "evident", "appreciated", "detected", "shown"})
_COPULA = frozenset({"is", "are", "was", "were", "be", "been"})
_PHRASE_END = frozenset({"in", "within", "at", "of", "with", "and", "or", "on", "to", "from",
                         "which", "that", "is", "are", "along", "through", "throughout",
                         "into", "around", "near", "adjacent", "involving", "extending",
                         "measuring", "without", "but", "as", "by", "after", "following"})
