"""Golden behaviour on the RadEval typed pairs: orderings and classes, never exact values."""


import pytest

from scoring import EmptyReport, ScoreResult


def by_id(radeval_pairs, scorer):
    # ref is the radiologist's final, hyp stands for the preliminary
    return {p["id"]: scorer.score(p["hyp"], p["ref"]) for p in radeval_pairs}


def test_radeval_pairs_discrepancy_classes(radeval_pairs, scorer):
    results = by_id(radeval_pairs, scorer)
    assert results[1].discrepancy == "none"  # paraphrase
    assert results[5].discrepancy == "none"  # exact
    for pair_id in (2, 3, 4, 6, 7, 8):
        assert results[pair_id].discrepancy != "none", pair_id
    assert results[4].discrepancy == "major"  # invented pneumothorax


def test_radeval_pairs_ordering(radeval_pairs, scorer):
    results = by_id(radeval_pairs, scorer)
    for error_id in (2, 3, 4, 6, 7, 8):
        assert results[error_id].esas < results[1].esas
        assert results[error_id].esas < results[5].esas
    assert results[3].counts.missing >= 1
    assert results[4].counts.surplus >= 1
    assert results[2].counts.mismatched >= 1


def test_identity_is_full_agreement(scorer):
    text = "FINDINGS: Small right pleural effusion. No pneumothorax.\nIMPRESSION: Effusion."
    result = scorer.score(text, text)
    assert result.esas == 1.0 and result.discrepancy == "none"
    assert result.grade == scorer.config.max_grade


def test_result_contract_fields(scorer):
    result = scorer.score("Mild cardiomegaly.", "Moderate cardiomegaly. Left effusion.")
    dumped = result.model_dump(mode="json")
    for key in ("esas", "grade", "discrepancy", "counts", "entities", "explanation",
                "method", "timings_ms"):
        assert key in dumped
    assert set(dumped["counts"]) == {"matched", "mismatched", "missing", "surplus"}
    assert dumped["method"]["ner"] == "lexicon"
    assert dumped["method"]["classifier"] == "rules"
    assert ScoreResult.model_validate(dumped) == result


def test_impression_weighs_more_than_findings(scorer):
    final = "FINDINGS: Left effusion.\nIMPRESSION: Right pneumothorax."
    wrong_impression = "FINDINGS: Left effusion.\nIMPRESSION: Right effusion."
    wrong_findings = "FINDINGS: Right effusion.\nIMPRESSION: Right pneumothorax."
    assert scorer.score(wrong_impression, final).esas < scorer.score(wrong_findings, final).esas


def test_negative_statement_in_one_report_is_not_counted(scorer):
    result = scorer.score("Mild cardiomegaly.", "Mild cardiomegaly. No pneumothorax.")
    assert result.esas == 1.0
    assert [r.counted for r in result.entities if r.concept == "pneumothorax"] == [False]


def test_score_many_matches_score(scorer):
    pairs = [("Mild cardiomegaly.", "Severe cardiomegaly."), ("No effusion.", "Effusion.")]
    many = scorer.score_many(pairs)
    assert [r.esas for r in many] == [scorer.score(p, f).esas for p, f in pairs]


def test_empty_report_is_a_clear_error(scorer):
    with pytest.raises(EmptyReport, match="preliminary"):
        scorer.score("  ", "Effusion.")


def test_normal_statement_contradicts_the_finding(scorer):
    result = scorer.score("Heart size is normal.", "Moderate cardiomegaly.")
    rows = [r for r in result.entities if r.concept == "cardiomegaly"]
    assert [(r.category, r.reason) for r in rows] == [("mismatched", "negation")]


def test_scispacy_backend_names_the_missing_model():
    from scoring import BackendUnavailable, Scorer, ScoringConfig

    with pytest.raises(BackendUnavailable, match=r"en_core_sci_lg.*available: lexicon"):
        Scorer(ScoringConfig(ner="scispacy"))


def test_llm_classifier_is_a_clear_error_until_registered():
    from scoring import BackendUnavailable, Scorer, ScoringConfig

    with pytest.raises(BackendUnavailable, match="classifier='llm'"):
        Scorer(ScoringConfig(classifier="llm"))


def test_critical_findings_override_must_name_recognisable_findings():
    from scoring import Scorer, ScoringConfig, ScoringError

    with pytest.raises(ScoringError, match="pneumothrax"):
        Scorer(ScoringConfig(critical_findings=("pneumothrax",)))
    custom = Scorer(ScoringConfig(critical_findings=("pleural_effusion",)))
    assert custom.score("Clear.", "Small left pleural effusion.").discrepancy == "major"
    # in words, as a site writes them, covering every wording the NER reads
    words = Scorer(ScoringConfig(critical_findings=("joint effusion",)))
    assert words.score("Normal knee.", "Small effusion of the knee joint.", "MRI KNEE")\
        .discrepancy == "major"
    assert words.score("Clear.", "Small left pleural effusion.").discrepancy == "minor"


def test_a_modality_graded_by_its_own_thresholds(scorer):
    """`grade_thresholds_by_modality` (what `calibrate --from-store` fits): an exam of that
    modality is graded on them and the result says which thresholds made its grade."""
    from scoring import Scorer, ScoringConfig

    prelim, final = "No effusion.", "Small left pleural effusion. No pneumothorax."
    plain = scorer.score(prelim, final, "CT CHEST W CONTRAST")  # the default thresholds
    strict = (0.999, 0.9995, 0.9999, 1.0)
    lenient = (0.0, 0.0, 0.0, 0.0)
    graded = Scorer(ScoringConfig(grade_thresholds_by_modality={"CT": lenient, "MR": strict}))
    ct = graded.score(prelim, final, "CT CHEST W CONTRAST")
    xr = graded.score(prelim, final, "XR CHEST 2 VIEWS")
    assert ct.exam.modality == "CT" and xr.exam.modality == "XR"
    assert ct.esas == plain.esas < 1 and plain.grade < 5
    # every threshold reached: the top grade its class allows (a minor discrepancy is never
    # graded 5, the grade of agreement)
    assert ct.discrepancy == "minor"
    assert ct.grade == 4 and ct.method.grade_thresholds == list(lenient)
    assert xr.grade == plain.grade and xr.method.grade_thresholds == list(
        ScoringConfig().grade_thresholds)
    with pytest.raises(ValueError, match="one grade scale"):
        ScoringConfig(grade_thresholds_by_modality={"CT": (0.5,)})
