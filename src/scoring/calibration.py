"""Fit grade thresholds to human grades: the paper's two figures, before and after.

The grade is monotone in ESAS, so the best thresholds for exact agreement are found exactly by
dynamic programming over the sorted scores (each distinct score gets one grade, grades never
decrease as the score grows), not by a grid search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.esas import grade


@dataclass(frozen=True)
class Agreement:
    exact: float
    within_one: float
    n: int


def agreement(scores: Sequence[float], grades: Sequence[int],
              thresholds: Sequence[float]) -> Agreement:
    predicted = [grade(s, thresholds) for s in scores]
    n = len(grades)
    if n == 0:
        return Agreement(0.0, 0.0, 0)
    exact = sum(p == g for p, g in zip(predicted, grades, strict=True)) / n
    within = sum(abs(p - g) <= 1 for p, g in zip(predicted, grades, strict=True)) / n
    return Agreement(exact, within, n)


def fit_thresholds(scores: Sequence[float], grades: Sequence[int],
                   max_grade: int) -> tuple[float, ...]:
    """Thresholds (max_grade - 1 of them, ascending) that maximise exact agreement."""
    if len(scores) != len(grades):
        raise ValueError("scores and grades differ in length")
    if any(not 1 <= g <= max_grade for g in grades):
        raise ValueError(f"grades must lie in 1..{max_grade}")
    values = sorted(set(scores))
    if not values:
        raise ValueError("no labelled pairs to calibrate on")
    index = {v: i for i, v in enumerate(values)}
    tally = [[0] * (max_grade + 1) for _ in values]
    for s, g in zip(scores, grades, strict=True):
        tally[index[s]][g] += 1
    # best[i][k]: most agreements for values[:i+1] with values[i] given grade k.
    best = [[0] * (max_grade + 1) for _ in values]
    back = [[0] * (max_grade + 1) for _ in values]
    for i in range(len(values)):
        for k in range(1, max_grade + 1):
            if i == 0:
                prev_k, prev = k, 0
            else:
                prev_k = max(range(1, k + 1), key=lambda j, i=i: best[i - 1][j])
                prev = best[i - 1][prev_k]
            best[i][k] = tally[i][k] + prev
            back[i][k] = prev_k
    k = max(range(1, max_grade + 1), key=lambda j: best[-1][j])
    assigned = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        assigned[i] = k
        k = back[i][k]
    thresholds = []
    for g in range(2, max_grade + 1):
        above = [v for v, a in zip(values, assigned, strict=True) if a >= g]
        below = [v for v, a in zip(values, assigned, strict=True) if a < g]
        if not above:
            thresholds.append(1.0)
        elif not below:
            thresholds.append(0.0)
        else:
            thresholds.append(round((max(below) + min(above)) / 2, 4))
    return tuple(sorted(thresholds))
