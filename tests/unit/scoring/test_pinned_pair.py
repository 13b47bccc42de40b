"""One known CT chest pair pinned end to end: counts, ESAS, grade and class.

The behaviour tests ask whether a finding is found or a class is decided; none of them would
notice a weight, a rounding or a grade band changing under them. This pair has one of every
category, so any change in the arithmetic (the formula, the weights, the thresholds, the
critical-finding rule) fails here and has to be made on purpose, with this file edited.
"""

from __future__ import annotations

from scoring.result import Counts, ScoreResult

PROCEDURE = "CT CHEST W CONTRAST"
PRELIMINARY = """FINDINGS:
Small right pleural effusion. No pneumothorax. Mild cardiomegaly. There is a 6 mm nodule in \
the left upper lobe. Degenerative changes of the thoracic spine. Small hiatal hernia."""
FINAL = """FINDINGS:
Moderate left pleural effusion. Small right pneumothorax. Mild cardiomegaly. There is a 6 mm \
nodule in the left upper lobe. Degenerative changes of the thoracic spine. Right lower lobe \
consolidation."""

# The README's weights and grade bands, written out here rather than read from the config,
# so that a changed default is a failing test and not a silently moved target.
W_MISSING, W_MISMATCH, W_SURPLUS = 2.0, 1.5, 1.0
THRESHOLDS = (0.35, 0.55, 0.75, 0.95)


def _pinned(scorer) -> ScoreResult:
    return scorer.score(PRELIMINARY, FINAL, PROCEDURE)


def test_the_pair_counts_one_of_every_category(scorer):
    result = _pinned(scorer)
    assert result.counts == Counts(matched=3, mismatched=2, missing=1, surplus=1)
    rows = {(r.category, r.concept, r.reason) for r in result.entities if r.counted}
    assert rows == {
        ("mismatched", "pleural_effusion", "laterality"),
        ("mismatched", "pneumothorax", "negation"),
        ("matched", "cardiomegaly", None),
        ("matched", "nodule", None),
        ("matched", "degenerative_change", None),
        ("surplus", "hiatal_hernia", None),
        ("missing", "consolidation", None),
    }


def test_esas_is_the_documented_formula_of_the_counts(scorer):
    result = _pinned(scorer)
    c = result.counts
    expected = c.matched / (c.matched + W_MISSING * c.missing + W_MISMATCH * c.mismatched
                            + W_SURPLUS * c.surplus)
    assert expected == 3 / 9
    # One scored section (findings), so the report's ESAS is that section's, to 4 places.
    assert [s.section for s in result.sections] == ["findings"]
    assert result.esas == round(expected, 4) == 0.3333


def test_grade_and_class_of_the_pair(scorer):
    result = _pinned(scorer)
    # 0.3333 is below the first band (0.35): grade 1 of 5.
    assert result.grade == 1 + sum(result.esas >= t for t in THRESHOLDS) == 1
    # A critical finding (pneumothorax) flipped in negation makes the discrepancy major.
    assert result.discrepancy == "major"
