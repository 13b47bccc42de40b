"""`radagree calibrate --from-store`: fit the grade thresholds to the site's own labels.

The app shell joins the two sides: the labels come from the review app's store
(`review.latest_labels`), the fit from scoring's calibration.

The labels are the attendings' verdicts (each pair's newest); the score each was given for is
the ESAS stored with it. One fit over all labels, and one per modality that has at least
`min_per_modality` labels (fewer would fit noise). Before/after exact and within-one
agreement for each, as in the paper.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from review import ALL, Label, latest_labels
from scoring.calibration import Agreement, agreement, fit_thresholds


@dataclass(frozen=True)
class Fit:
    modality: str
    before: Agreement
    after: Agreement
    current: tuple[float, ...]
    fitted: tuple[float, ...]


def fit_from_labels(labels: Sequence[Label], current: Sequence[float], max_grade: int,
                    min_per_modality: int,
                    current_by_modality: Mapping[str, Sequence[float]] | None = None
                    ) -> list[Fit]:
    """The overall fit first, then each modality with enough labels; "before" is measured
    with the thresholds each modality is graded on now."""
    by_modality = current_by_modality or {}
    groups: dict[str, list[Label]] = {ALL: list(labels)}
    for label in labels:
        groups.setdefault(label.modality, []).append(label)
    fits = []
    for modality, group in groups.items():
        if modality != ALL and (len(group) < min_per_modality or modality == "unknown"):
            continue
        if not group:
            continue
        scores = [lb.esas for lb in group]
        grades = [min(max(lb.grade, 1), max_grade) for lb in group]
        fitted = fit_thresholds(scores, grades, max_grade)
        now = tuple(by_modality.get(modality, current))
        fits.append(Fit(modality, agreement(scores, grades, now),
                        agreement(scores, grades, fitted), now, fitted))
    return fits


def fit_store(engine: Engine, current: Sequence[float], max_grade: int,
              min_per_modality: int,
              current_by_modality: Mapping[str, Sequence[float]] | None = None) -> list[Fit]:
    with engine.connect() as conn:
        labels = latest_labels(conn)
    if not labels:
        raise ValueError("the store holds no labels yet: attendings confirm or change grades "
                         "in the review app (radagree web)")
    return fit_from_labels(labels, current, max_grade, min_per_modality, current_by_modality)


def toml_snippet(fits: Sequence[Fit]) -> str:
    """`[scoring] grade_thresholds` from the overall fit, and the per-modality fits as the
    `grade_thresholds_by_modality` table the scorer applies to exams of that modality."""
    overall = next(f for f in fits if f.modality == ALL)
    lines = ["[scoring]", f"grade_thresholds = {json.dumps(list(overall.fitted))}"]
    per = [f for f in fits if f.modality != ALL]
    if per:
        lines.append("[scoring.grade_thresholds_by_modality]")
        lines += [f"{f.modality} = {json.dumps(list(f.fitted))}" for f in per]
    return "\n".join(lines) + "\n"
