"""Align the entities of the preliminary with those of the final, one to one.

Exact canonical concept first; then, where an embedder is given, cosine similarity between the
concept labels proposes further pairs above a threshold. Cosine is blind to negation (0.89
between "pleural effusion" and "no pleural effusion"), so it only proposes: polarity and the
other attributes are judged afterwards by the context check. One optimal assignment decides
everything, so no entity is matched twice and an exact match always beats a similar one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from scoring.embeddings import Embedder
from scoring.lexicon import Lexicon
from scoring.mention import Mention

_INVALID = -1e6
_EXACT = 2.0


@dataclass(frozen=True)
class Alignment:
    prelim: Mention | None
    final: Mention | None
    match: Literal["exact", "embedding"] | None = None
    similarity: float | None = None


def agreement(a: Mention, b: Mention, lexicon: Lexicon) -> float:
    """0..1: how much two mentions of one concept say alike, to pair like with like."""
    score = 2.0 * (a.polarity == b.polarity)
    score += 1.0 * (a.laterality == b.laterality or None in (a.laterality, b.laterality))
    score += 1.0 * lexicon.anatomy_compatible(a.anatomy, b.anatomy)
    for attr in ("severity", "change", "size_mm", "position"):
        score += 0.5 * (getattr(a, attr) == getattr(b, attr))
    return score / 6.0


def align(
    prelim: list[Mention],
    final: list[Mention],
    lexicon: Lexicon,
    embedder: Embedder | None = None,
    threshold: float = 0.8,
) -> list[Alignment]:
    """Every mention of both lists appears in exactly one alignment."""
    if not prelim or not final:
        return [Alignment(p, None) for p in prelim] + [Alignment(None, f) for f in final]
    scores = np.full((len(prelim), len(final)), _INVALID)
    cosine = None
    if embedder is not None:
        cosine = embedder.similarity([m.label for m in prelim], [m.label for m in final])
    for i, p in enumerate(prelim):
        for j, f in enumerate(final):
            if p.concept == f.concept:
                scores[i, j] = _EXACT + agreement(p, f, lexicon)
            elif cosine is not None and p.kind == f.kind and cosine[i, j] >= threshold:
                scores[i, j] = float(cosine[i, j]) + 0.1 * agreement(p, f, lexicon)
    rows, cols = linear_sum_assignment(scores, maximize=True)
    out: list[Alignment] = []
    used_p: set[int] = set()
    used_f: set[int] = set()
    for i, j in zip(rows, cols, strict=True):
        if scores[i, j] <= _INVALID / 2:
            continue
        used_p.add(i)
        used_f.add(j)
        exact = prelim[i].concept == final[j].concept
        out.append(Alignment(
            prelim[i], final[j], "exact" if exact else "embedding",
            1.0 if exact or cosine is None else round(float(cosine[i, j]), 4),
        ))
    out += [Alignment(p, None) for i, p in enumerate(prelim) if i not in used_p]
    out += [Alignment(None, f) for j, f in enumerate(final) if j not in used_f]
    return out
