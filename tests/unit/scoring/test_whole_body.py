"""The scorer on reports of every region, as radiologists write them (real spaCy + parser).

Each pair is hand-written in the style of CT, MR and ultrasound reports; the assertions are on
the behaviour users need (a missed subdural hematoma is major, a missed appendicitis is never
"no discrepancy", a knee effusion is never pleural), not on a particular score.
"""

import pytest


@pytest.fixture(scope="module")
def score(scorer):
    def run(prelim, final, procedure=None):
        return scorer.score(prelim, final, procedure)
    return run


def labels(result):
    return " | ".join(r.label for r in result.entities)


def test_missed_subdural_hematoma_with_shift_is_major(score):
    r = score("FINDINGS: No acute intracranial hemorrhage. No mass effect or midline shift.\n"
              "IMPRESSION: No acute intracranial abnormality.",
              "FINDINGS: Acute right subdural hematoma measuring 8 mm with 4 mm of leftward "
              "midline shift.\nIMPRESSION: Acute right subdural hematoma with midline shift.",
              "CT HEAD WITHOUT CONTRAST")
    assert r.discrepancy == "major" and r.esas < 0.5
    assert r.exam.modality == "CT" and r.exam.region == "head"
    assert "mediastin" not in labels(r)  # a midline shift of the brain reads as such
    critical = {e.concept for e in r.entities if e.critical}
    assert "midline_shift" in critical
    assert any("subdural" in e.label for e in r.entities if e.critical)


def test_missed_appendicitis_is_never_no_discrepancy(score):
    r = score("FINDINGS: The appendix is normal. No free fluid.\n"
              "IMPRESSION: No acute abdominal process.",
              "FINDINGS: The appendix is dilated to 12 mm with periappendiceal fat stranding "
              "and an appendicolith. No free fluid.\nIMPRESSION: Acute appendicitis.",
              "74177^CT ABD&PELVIS W CONTRAST^CPT4")
    assert r.discrepancy == "major" and r.esas < 0.5
    assert r.exam.region == "abdomen"
    # "the appendix is normal" is read as denying what the final found in the appendix
    assert any(e.category == "mismatched" and e.reason == "negation" for e in r.entities)


def test_knee_effusion_is_never_pleural_and_tears_are_seen(score):
    r = score("Intact anterior cruciate ligament. Intact menisci. Small joint effusion.",
              "Complete tear of the anterior cruciate ligament. Bucket-handle tear of the "
              "medial meniscus. Moderate joint effusion.", "MRI KNEE RIGHT WITHOUT CONTRAST")
    assert "pleura" not in labels(r)
    tears = [e for e in r.entities if e.head == "tear"]
    assert len(tears) == 2 and all(e.category != "matched" for e in tears)
    assert r.discrepancy != "none"
    bare = score("Small effusion.", "Moderate effusion.", "MRI KNEE")
    assert all("pleura" not in e.label for e in bare.entities)
    assert bare.entities[0].reason == "severity"


@pytest.mark.parametrize(("prelim", "final"), [
    ("ACL tear.", "Tear of the anterior cruciate ligament."),
    ("The anterior cruciate ligament is torn.", "Complete ACL tear."),
    ("Dilated appendix.", "Appendiceal dilatation."),
    ("Renal cyst on the left.", "There is a simple cyst in the left kidney."),
])
def test_one_finding_in_other_words_is_one_concept(score, prelim, final):
    r = score(prelim, final)
    assert r.discrepancy == "none" and r.esas == 1.0, labels(r)


def test_normal_statement_of_several_organs_denies_a_finding_in_each(score):
    r = score("The liver, spleen, pancreas and kidneys are unremarkable.",
              "The liver, spleen and pancreas are unremarkable. There is a 3 cm mass in the "
              "left kidney.", "CT ABDOMEN")
    row = next(e for e in r.entities if e.head == "mass")
    assert row.category == "mismatched" and row.reason == "negation"
    assert row.coarse_anatomy == "Kidney" and row.region == "abdomen"


def test_organ_subheadings_place_what_stands_under_them(score):
    final = ("FINDINGS:\nLIVER: Normal.\nSPLEEN: Mildly enlarged.\n"
             "KIDNEYS: No hydronephrosis.\nIMPRESSION:\n1. Mild splenomegaly.")
    prelim = ("FINDINGS:\nLIVER: Normal.\nSPLEEN: Normal.\n"
              "KIDNEYS: No hydronephrosis.\nIMPRESSION:\n1. No acute abnormality.")
    r = score(prelim, final, "CT ABDOMEN")
    spleen = [e for e in r.entities if e.anatomy == "RID86"]
    assert spleen and any(e.category == "mismatched" for e in spleen)
    liver = next(e for e in r.entities if e.anatomy == "RID58")
    assert liver.category == "matched"


def test_technique_comparison_and_dose_are_not_scored(score):
    head = ("CLINICAL HISTORY: Rule out pulmonary embolism.\nTECHNIQUE: CT angiography of the "
            "chest with intravenous contrast. DLP 412 mGy-cm.\nCOMPARISON: None.\n\n")
    r = score(head + "FINDINGS: No pulmonary embolism.\nIMPRESSION: Negative study.",
              head + "FINDINGS: No pulmonary embolism.\nIMPRESSION: Negative study.",
              "CTA CHEST PE PROTOCOL")
    assert r.esas == 1.0 and r.discrepancy == "none"
    assert all(e.final_span[0] > len(head) for e in r.entities if e.final_span)


def test_numbered_impression_items_are_separate_findings(score):
    r = score("IMPRESSION:\n1. Acute appendicitis. 2. No abscess.",
              "IMPRESSION:\n1. Acute appendicitis. 2. Small pelvic abscess.", "CT ABDOMEN")
    abscess = next(e for e in r.entities if e.head == "abscess")
    assert abscess.category == "mismatched" and abscess.reason == "negation"
    appendicitis = next(e for e in r.entities if "appendicitis" in e.label)
    assert appendicitis.category == "matched"


@pytest.mark.parametrize(("procedure", "prelim", "final"), [
    ("CT ABDOMEN PELVIS", "No free air.", "Free intraperitoneal air under the diaphragm."),
    ("US PELVIS TRANSVAGINAL", "Normal ovaries.", "Right ovarian torsion."),
    ("US SCROTUM", "Normal testes.", "Left testicular torsion."),
    ("MRI THORACIC SPINE", "Mild degenerative change.",
     "Mild degenerative change. Severe spinal cord compression at T10."),
    ("CTA CHEST", "No acute findings.", "Acute pulmonary embolism in the right lower lobe."),
    ("CT HEAD", "No acute intracranial abnormality.", "Acute subarachnoid hemorrhage."),
    ("XR CHEST", "Lungs are clear.", "Large right pneumothorax."),
])
def test_critical_findings_of_every_region_are_major_when_missed(score, procedure, prelim,
                                                                 final):
    assert score(prelim, final, procedure).discrepancy == "major"


def test_old_or_chronic_findings_are_not_critical(score):
    r = score("No acute intracranial abnormality.", "Old left frontal infarct.", "CT HEAD")
    assert r.discrepancy == "minor"


def test_laterality_and_severity_of_any_region(score):
    side = score("Small left renal cyst.", "Small right renal cyst.", "CT ABDOMEN")
    assert side.entities[0].reason == "laterality"
    severity = score("Mild hydronephrosis of the right kidney.",
                     "Severe hydronephrosis of the right kidney.", "CT ABDOMEN")
    assert severity.entities[0].reason == "severity"


def test_a_diagnosis_no_vocabulary_lists_is_still_a_finding(score):
    r = score("FINDINGS: Lytic lesion in the mandible.\nIMPRESSION: Ameloblastoma.",
              "FINDINGS: Lytic lesion in the mandible.\nIMPRESSION: Odontogenic keratocyst.")
    assert r.discrepancy != "none"
    assert {e.category for e in r.entities if e.section == "impression"} >= {"missing",
                                                                             "surplus"}


def test_exam_is_read_from_the_report_when_no_procedure(scorer):
    exam = scorer.exam("x", "CT OF THE ABDOMEN AND PELVIS WITH CONTRAST\nFINDINGS: ...")
    assert (exam.modality, exam.region) == ("CT", "abdomen")
    assert scorer.exam("x", "y", "72148^MRI LUMBAR SPINE WO CONTRAST^CPT4").region == "spine"
