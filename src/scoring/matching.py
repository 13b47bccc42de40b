"""Align the entities of the preliminary with those of the final, one to one.

Two mentions are candidates for one row when they are the same finding:
- `exact`: the same concept, in compatible places (one contains the other) or at least in the
  same organ (a left frontal and a temporal hyperintensity: the context check calls the place
  different);
- `head`: the same generic finding, or one a kind of the other ("lesion" / "mass"), in
  compatible places: "ACL tear" and "tear of the anterior cruciate ligament", "a cyst in the
  left kidney" and "renal cyst";
- `normal`: a statement that an organ is normal against a finding in that organ ("the appendix
  is normal" / "acute appendicitis"): the context check then finds the negation;
- `embedding` (opt-in): cosine similarity of the labels above a threshold. Cosine is blind to
  negation (0.89 between "pleural effusion" and "no pleural effusion"), so it only proposes.
One optimal assignment decides everything, so no entity is matched twice and an exact match
always beats a looser one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from scoring.clinical import chronic
from scoring.embeddings import Embedder
from scoring.exam import REGION_ROOT
from scoring.mention import Mention
from scoring.vocabulary import Vocabulary

_INVALID = -1e6
_BASE = {"exact": 2.0, "head": 1.5, "normal": 1.0}
MatchKind = Literal["exact", "head", "normal", "embedding"]
_REGION_ROOTS = frozenset(REGION_ROOT.values())


@dataclass(frozen=True)
class Alignment:
    prelim: Mention | None
    final: Mention | None
    match: MatchKind | None = None
    similarity: float | None = None


def same_finding(a: Mention, b: Mention, vocabulary: Vocabulary,
                 ) -> Literal["exact", "head", "normal"] | None:
    """How two mentions can be one finding, if they can."""
    if a.polarity == b.polarity == "absent" and a.laterality and b.laterality and \
            a.laterality != b.laterality:
        return None  # "no left effusion" and "no right effusion" are two statements
    denial = "absent" in (a.polarity, b.polarity) and a.polarity != b.polarity
    if a.concept == b.concept or (a.generic and b.generic):
        if vocabulary.compatible(a.anatomy, b.anatomy) or (
                a.concept == b.concept and a.coarse and a.coarse == b.coarse and not denial):
            return "exact"
        return None
    if a.generic or b.generic:
        whole, part = (a, b) if a.generic else (b, a)
        if part.kind != "finding" or part.how == "statement":
            return None  # an organ said normal denies findings, not devices or mere mentions
        if whole.change == "acute" and chronic(part):
            return None  # "no acute osseous abnormality" leaves the osteophytes standing
        place = vocabulary.label(whole.anatomy) or ""
        if ("space" in place or "cavity" in place) and part.anatomy not in (None, whole.anatomy):
            return None  # "the pleural spaces are clear" says nothing of the lung they hold
        if part.anatomy is None:
            return "normal" if whole.anatomy in _REGION_ROOTS else None
        return "normal" if vocabulary.within(part.anatomy, whole.anatomy) else None
    heads = (a.head, b.head)
    if a.head != b.head and a.anatomy is not None and a.anatomy == b.anatomy:
        # "band-like opacity" (a concept of its own) and "linear opacity" in one place: the
        # same head noun, said of the same structure
        noun = _noun(a)
        if noun is not None and noun == _noun(b) and noun in vocabulary.heads:
            heads = (noun, noun)
    if vocabulary.related_heads(*heads) and vocabulary.compatible(a.anatomy, b.anatomy):
        absent, stated = (a, b) if a.polarity == "absent" else (b, a)
        if denial and absent.concept != absent.head and not absent.concept.startswith("~"):
            return None  # "no full-thickness tear" does not deny a partial-thickness tear
        if denial and not vocabulary.kind_of(stated.head, absent.head):
            return None  # "no collection" denies no "focus": a focus need not be a collection
        return "head"
    return None


def _noun(m: Mention) -> str | None:
    """The last word of what the report wrote, singular: the head noun of the phrase."""
    words = m.text.lower().replace("-", " ").split()
    if m.kind != "finding" or not words:
        return None
    word = words[-1]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def agreement(a: Mention, b: Mention, vocabulary: Vocabulary) -> float:
    """0..1: how much two mentions of one finding say alike, to pair like with like."""
    score = 2.0 * (a.polarity == b.polarity)
    score += 1.0 * (a.laterality == b.laterality or None in (a.laterality, b.laterality))
    score += 1.0 * vocabulary.compatible(a.anatomy, b.anatomy)
    for attr in ("severity", "change", "size_mm", "position"):
        score += 0.5 * (getattr(a, attr) == getattr(b, attr))
    # At one spinal level ("L3-L4: No foraminal narrowing" is not the L4-L5 narrowing).
    score += 1.0 * (a.level == b.level or None in (a.level, b.level))
    # Said in the same sentence (give or take an edit): a finding described twice is paired
    # description with description.
    union = a.sentence_words | b.sentence_words
    if union:
        score += 2.0 * len(a.sentence_words & b.sentence_words) / len(union)
    return score / 9.0


def align(
    prelim: list[Mention],
    final: list[Mention],
    vocabulary: Vocabulary,
    embedder: Embedder | None = None,
    threshold: float = 0.8,
) -> list[Alignment]:
    """Every mention of both lists appears in exactly one alignment."""
    if not prelim or not final:
        return [Alignment(p, None) for p in prelim] + [Alignment(None, f) for f in final]
    scores = np.full((len(prelim), len(final)), _INVALID)
    kinds: dict[tuple[int, int], MatchKind] = {}
    cosine = None
    if embedder is not None:
        cosine = embedder.similarity([m.label for m in prelim], [m.label for m in final])
    # Candidates by concept and head first: most pairs of mentions cannot be one finding,
    # and comparing all of them was a third of a pair's scoring.
    by_concept: dict[str, list[int]] = {}
    by_head: dict[str | None, list[int]] = {}
    by_noun: dict[tuple[str | None, str | None], list[int]] = {}
    generic_final = []
    for j, f in enumerate(final):
        by_concept.setdefault(f.concept, []).append(j)
        by_head.setdefault(f.head, []).append(j)
        if f.anatomy is not None:
            by_noun.setdefault((_noun(f), f.anatomy), []).append(j)
        if f.generic:
            generic_final.append(j)
    heads = [h for h in by_head if h is not None]
    for i, p in enumerate(prelim):
        if cosine is not None or p.generic:
            candidates: list[int] | set[int] = range(len(final))  # type: ignore[assignment]
        else:
            candidates = set(by_concept.get(p.concept, ())) | set(generic_final) | set(
                by_noun.get((_noun(p), p.anatomy), ()) if p.anatomy is not None else ())
            if p.head is not None:
                for h in heads:
                    if h == p.head or vocabulary.related_heads(p.head, h):
                        candidates.update(by_head[h])
        for j in candidates:
            f = final[j]
            if p.level and f.level and p.level != f.level:
                continue  # level by level: what one level shows is not another's
            kind = same_finding(p, f, vocabulary)
            if kind is not None:
                scores[i, j] = _BASE[kind] + agreement(p, f, vocabulary)
                if kind == "normal" and p.anatomy == f.anatomy:
                    scores[i, j] += 0.2  # "the appendix is normal" / "dilated appendix"
                kinds[i, j] = kind
            elif cosine is not None and p.kind == f.kind and cosine[i, j] >= threshold \
                    and not (p.generic or f.generic):
                scores[i, j] = float(cosine[i, j]) * 0.9 + 0.1 * agreement(p, f, vocabulary)
                kinds[i, j] = "embedding"
    rows, cols = linear_sum_assignment(scores, maximize=True)
    out: list[Alignment] = []
    used_p: set[int] = set()
    used_f: set[int] = set()
    for i, j in zip(rows, cols, strict=True):
        if scores[i, j] <= _INVALID / 2:
            continue
        used_p.add(i)
        used_f.add(j)
        kind = kinds[i, j]
        similarity = round(float(cosine[i, j]), 4) if kind == "embedding" and cosine is not None \
            else 1.0
        out.append(Alignment(prelim[i], final[j], kind, similarity))
    out += [Alignment(p, None) for i, p in enumerate(prelim) if i not in used_p]
    out += [Alignment(None, f) for j, f in enumerate(final) if j not in used_f]
    return out
