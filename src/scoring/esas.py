"""ESAS, the grade and the discrepancy class: the arithmetic of the method, nothing else.

ESAS = N_match / (N_match + w_missing*N_missing + w_mismatch*N_mismatch + w_surplus*N_surplus)

Counting rules (documented in the README):
- An entity only in the final report is `missing`; only in the preliminary, `surplus`.
- A negative statement made in one report only ("no pneumothorax" against silence) is shown
  but not counted: silence and denial say the same about a finding nobody saw.
- Both reports silent on everything a section could hold: nothing to disagree about, ESAS 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.config import EsasWeights
from scoring.result import Counts, Discrepancy, EntityRow


def esas(counts: Counts, weights: EsasWeights) -> float:
    denominator = (counts.matched + weights.missing * counts.missing
                   + weights.mismatch * counts.mismatched + weights.surplus * counts.surplus)
    if denominator == 0:
        return 1.0
    return counts.matched / denominator


def count(rows: Sequence[EntityRow]) -> Counts:
    tally = {"matched": 0, "mismatched": 0, "missing": 0, "surplus": 0}
    for row in rows:
        if row.counted:
            tally[row.category] += 1
    return Counts(**tally)


def grade(score: float, thresholds: Sequence[float]) -> int:
    """1 + the number of thresholds the score reaches (four thresholds: grades 1..5)."""
    return 1 + sum(score >= t - 1e-12 for t in thresholds)


def discrepancy(rows: Sequence[EntityRow]) -> Discrepancy:
    """major: a critical finding missed, added, or flipped in negation or side (or, for one
    critical by its size, in severity); minor: any other counted disagreement."""
    counted = [r for r in rows if r.counted and r.category != "matched"]
    for row in counted:
        if not row.critical:
            continue
        if row.category in ("missing", "surplus"):
            return "major"
        if row.reason in ("negation", "laterality"):
            return "major"
        if row.reason == "severity" and row.concept == "pleural_effusion":
            return "major"
    return "minor" if counted else "none"
