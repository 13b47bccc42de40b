from scoring import EsasWeights
from scoring.esas import discrepancy, esas, grade
from scoring.result import Counts, EntityRow


def row(category, critical=False, reason=None, counted=True, concept="x"):
    return EntityRow(category=category, concept=concept, label=concept, kind="finding",
                     section="report", critical=critical, reason=reason, counted=counted)


def test_formula_with_the_papers_weights():
    counts = Counts(matched=4, missing=1, mismatched=2, surplus=1)
    assert esas(counts, EsasWeights()) == 4 / (4 + 2 * 1 + 1.5 * 2 + 1 * 1)


def test_weights_are_configurable():
    counts = Counts(matched=1, missing=1)
    assert esas(counts, EsasWeights(missing=1.0)) == 0.5
    assert esas(counts, EsasWeights(missing=3.0)) == 0.25


def test_nothing_asserted_is_full_agreement():
    assert esas(Counts(), EsasWeights()) == 1.0


def test_grade_thresholds():
    thresholds = (0.35, 0.55, 0.75, 0.95)
    assert [grade(s, thresholds) for s in (0.0, 0.35, 0.6, 0.8, 0.95, 1.0)] == [1, 2, 3, 4, 5, 5]


def test_discrepancy_classes():
    assert discrepancy([row("matched")]) == "none"
    assert discrepancy([row("matched"), row("missing", counted=False)]) == "none"
    assert discrepancy([row("missing")]) == "minor"
    assert discrepancy([row("surplus", critical=True)]) == "major"
    assert discrepancy([row("mismatched", critical=True, reason="laterality")]) == "major"
    assert discrepancy([row("mismatched", critical=True, reason="change")]) == "minor"
