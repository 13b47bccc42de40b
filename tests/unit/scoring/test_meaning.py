"""The same meaning in other words is no discrepancy; a difference that changes management is
major (issue 17). Real report sentences, each route of the method named by its test."""

from __future__ import annotations

import pytest

from scoring import abbreviations, categories, clinical
from scoring.sections import Section


def _report(findings: str, impression: str) -> str:
    return f"FINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}\n"


def mentions(scorer, text: str, region: str = "unknown") -> list:
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    return clinical.clinical_mentions(scorer.ner.mentions(read, region), text)


def polarity(scorer, text: str, head: str, region: str = "unknown") -> str:
    found = [m for m in mentions(scorer, text, region) if m.head == head]
    assert found, f"no {head} read in {text!r}"
    return found[0].polarity


# ------------------------------------------------------------------ negation forms
@pytest.mark.parametrize("sentence", [
    "No fracture.",
    "There is no fracture.",
    "Fracture is not seen.",
    "Fractures are excluded.",
    "Acute fracture has been ruled out.",
    "Negative for fracture.",
    "No radiographic evidence of fracture.",
    "No CT evidence of fracture.",
    "Without fracture or dislocation.",
    "There is neither fracture nor dislocation.",
])
def test_every_negation_form_denies(scorer, sentence: str) -> None:
    found = mentions(scorer, sentence, "lower_limb")
    assert found, sentence
    assert all(m.polarity == "absent" for m in found), [(m.text, m.polarity) for m in found]


def test_a_list_under_one_negation_denies_each(scorer) -> None:
    found = mentions(scorer, "No mass, calcification or distortion.", "breast")
    assert {m.head for m in found} >= {"mass", "calcification"}
    assert all(m.polarity == "absent" for m in found)


def test_a_trailing_negative_denies(scorer) -> None:
    assert polarity(scorer, "Sonographic Murphy sign is negative.", "HP:0034753") == "absent"


def test_negation_phrasing_alone_is_no_discrepancy(scorer) -> None:
    prelim = _report("No intracranial hemorrhage. No skull fracture. No midline shift.",
                     "No acute intracranial abnormality.")
    final = _report("Intracranial hemorrhage is not seen. Skull fractures are excluded. "
                    "There is neither midline shift nor mass effect.",
                    "Negative for acute intracranial abnormality.")
    result = scorer.score(prelim, final, "CT HEAD WO CONTRAST")
    assert result.discrepancy == "none", result.explanation


# ------------------------------------------------------------------ abbreviations
def test_packaged_abbreviation_reads_as_its_words(scorer) -> None:
    short = mentions(scorer, "Stable small traumatic SAH.", "head")
    long = mentions(scorer, "Stable small traumatic subarachnoid hemorrhage.", "head")
    assert [m.concept for m in short] == [m.concept for m in long]
    assert short[0].text == "SAH"  # offsets are the report's own words


def test_report_local_definition_is_learnt() -> None:
    defined = abbreviations.definitions("There is a posterior vitreous detachment (PVD) on "
                                        "the left. The PVD is complete.")
    assert defined == {"PVD": "posterior vitreous detachment"}
    x = abbreviations.expand("The PVD is complete.", defined)
    assert x is not None and "posterior vitreous detachment" in x.text
    start = x.text.index("posterior")
    assert x.back(start, start + len("posterior vitreous detachment")) == (4, 7)


def test_abbreviations_are_case_sensitive() -> None:
    assert abbreviations.expand("The pe of the study.") is None
    assert abbreviations.expand("No PE.") is not None


def test_abbreviated_and_spelled_out_reports_agree(scorer) -> None:
    prelim = _report("Stable L THA without fx. Small SAH and trace IVH unchanged.",
                     "1. Stable SAH. 2. Stable IVH.")
    final = _report("Stable left hip arthroplasty without fracture. Small subarachnoid "
                    "hemorrhage and trace intraventricular hemorrhage, unchanged.",
                    "1. Stable subarachnoid hemorrhage. 2. Stable intraventricular hemorrhage.")
    result = scorer.score(prelim, final, "CT HEAD WO")
    assert not [r for r in result.entities if r.counted and r.category in ("missing",
                                                                           "surplus")]
    assert result.discrepancy == "none"


# ------------------------------------------------------------------ what counts
@pytest.mark.parametrize("sentence", [
    "Findings were discussed with Dr. Lee by telephone at 10:12.",
    "Results were called to RN Torres.",
    "Recommend annual screening mammography.",
    "Follow-up CT in 3 months is recommended.",
    "Status post cataract surgery.",
    "Fluoroscopy time 2.1 minutes, dose 15 mGy.",
])
def test_reporting_sentences_state_no_finding(scorer, sentence: str) -> None:
    assert mentions(scorer, sentence) == []


@pytest.mark.parametrize("sentence", [
    "Addendum: small thrombus within the proximal portion of the SMA.",
    "Narrowing of the duodenum between the SMA and aorta.Addendum: small thrombus in the SMA.",
])
def test_what_an_addendum_reports_is_a_finding(scorer, sentence: str) -> None:
    assert "thrombosis" in {m.head for m in mentions(scorer, sentence)}


def test_an_addendum_about_itself_states_no_finding(scorer) -> None:
    assert mentions(scorer, "This addendum is made to correct the date. No change to the "
                            "report.") == []


@pytest.mark.parametrize("sentence", [
    "The appendix is normal and contains gas.",
    "Normal cervical lordosis.",
    "The lateral masses of C1 are symmetric.",
    "The kidneys enhance symmetrically.",
])
def test_normal_signs_are_not_disease(scorer, sentence: str) -> None:
    assert [m for m in mentions(scorer, sentence) if m.polarity != "absent"] == []


def test_bare_anatomy_and_people_are_not_findings(scorer) -> None:
    found = mentions(scorer, "The facet joints. Telephone call to the nurse.", "spine")
    assert all(m.descriptive for m in found)  # at most words for the ESAS, never a finding
    prelim = _report("Mild L4-L5 disc space narrowing.", "Mild L4-L5 degenerative change.")
    final = _report("Mild L4-L5 disc space narrowing. The facet joints.",
                    "Mild L4-L5 degenerative change. Telephone call to the nurse at 10:12.")
    assert scorer.score(prelim, final, "XR L SPINE").discrepancy == "none"


# ------------------------------------------------------------------ recommendations
def test_recommendations_compare_by_action_and_interval() -> None:
    a = [clinical.read_recommendation("Return to annual screening mammography.", (0, 1))]
    b = [clinical.read_recommendation("Recommend routine annual screening mammogram.", (0, 1))]
    c = [clinical.read_recommendation("Recommend stereotactic core biopsy.", (0, 1))]
    d = [clinical.read_recommendation("Follow-up ultrasound in 6 months.", (0, 1))]
    assert a[0].months == {12.0}
    assert not clinical.recommendation_changed(a, b)
    assert clinical.recommendation_changed(a, c)
    assert clinical.recommendation_changed(a, d)


# ------------------------------------------------------------------ categories
@pytest.mark.parametrize("text, system, value", [
    ("BI-RADS Category 2: Benign.", "BI-RADS", "2"),
    ("ACR BI-RADS 4B - suspicious.", "BI-RADS", "4b"),
    ("LI-RADS category LR-3.", "LI-RADS", "3"),
    ("Observation: LR-5.", "LI-RADS", "5"),
    ("Lung-RADS 4A.", "Lung-RADS", "4a"),
    ("ACR TI-RADS TR4.", "TI-RADS", "4"),
    ("Bosniak IIF cyst.", "Bosniak", "2f"),
    ("PI-RADS v2.1 score 5.", "PI-RADS", "5"),
    ("CAD-RADS 0.", "CAD-RADS", "0"),
    ("Very low probability for pulmonary embolism.", "V/Q probability", "very low"),
    ("Weber B fracture.", "Weber", "b"),
    ("Garden III fracture.", "Garden", "3"),
])
def test_categories_are_read(text: str, system: str, value: str) -> None:
    assert categories.read(text)[system].value == value


def test_a_category_change_across_a_management_line_is_major(scorer) -> None:
    prelim = _report("Grouped calcifications in the right upper outer quadrant.",
                     "BI-RADS 2: Benign.")
    final = _report("Grouped calcifications in the right upper outer quadrant.",
                    "BI-RADS 4: Suspicious.")
    result = scorer.score(prelim, final, "MAMMO DX BILAT")
    rows = [r for r in result.entities if r.kind == "category"]
    assert rows and rows[0].reason == "category" and rows[0].actionable
    assert result.discrepancy == "major"


def test_a_category_change_inside_a_management_line_is_minor(scorer) -> None:
    prelim = _report("No suspicious mass.", "BI-RADS 1: Negative.")
    final = _report("No suspicious mass.", "BI-RADS 2: Benign.")
    assert scorer.score(prelim, final, "MAMMO SCREENING BILAT").discrepancy == "minor"


# ------------------------------------------------------------------ sizes and severity
def test_a_size_across_a_repair_threshold_is_major(scorer) -> None:
    prelim = _report("Infrarenal abdominal aortic aneurysm measuring 4.9 cm.",
                     "4.9 cm abdominal aortic aneurysm.")
    final = _report("Infrarenal abdominal aortic aneurysm measuring 5.7 cm.",
                    "5.7 cm abdominal aortic aneurysm.")
    result = scorer.score(prelim, final, "US AORTA")
    assert any(r.reason == "size" for r in result.entities)
    assert result.discrepancy == "major"


def test_a_small_size_change_is_minor(scorer) -> None:
    prelim = _report("Left adrenal nodule measuring 16 mm.", "Left adrenal adenoma, 16 mm.")
    final = _report("Left adrenal nodule measuring 21 mm.", "Left adrenal adenoma, 21 mm.")
    result = scorer.score(prelim, final, "CT ABD/PELVIS W/")
    assert result.discrepancy in ("minor", "none")
    assert result.discrepancy != "major"


def test_minimal_and_mild_agree_mild_and_severe_do_not(scorer) -> None:
    base = "FINDINGS:\n{} degenerative disc space narrowing at L4-L5.\n"
    assert scorer.score(base.format("Minimal"), base.format("Mild"),
                        "XR L SPINE").discrepancy == "none"
    assert scorer.score(base.format("Mild"), base.format("Severe"),
                        "XR L SPINE").discrepancy != "none"


# ------------------------------------------------------------------ significance
def test_tiers(scorer) -> None:
    def tier(sentence: str, region: str) -> str:
        found = [m for m in mentions(scorer, sentence, region) if m.polarity != "absent"]
        assert found, sentence
        return scorer.significance.tier(found[0], region)

    assert tier("Acute subdural hematoma.", "head") == "critical"
    assert tier("Spiculated mass in the right breast.", "breast") == "significant"
    assert tier("Simple cyst in the right kidney.", "abdomen") == "incidental"
    assert tier("Hepatic hemangioma.", "abdomen") == "incidental"
    assert tier("A 5 mm solid nodule in the right upper lobe.", "chest") == "incidental"
    assert tier("A 12 mm solid nodule in the right upper lobe.", "chest") == "significant"


def test_a_missed_incidental_is_minor_a_missed_significant_major(scorer) -> None:
    prelim = _report("The liver is normal. The kidneys are normal.", "No acute abnormality.")
    cyst = _report("The liver is normal. Simple cyst in the right kidney, 2 cm.",
                   "No acute abnormality. Simple right renal cyst.")
    mass = _report("The liver is normal. Enhancing solid mass in the right kidney, 4 cm.",
                   "Enhancing right renal mass, suspicious for renal cell carcinoma.")
    assert scorer.score(prelim, cyst, "CT ABD/PELVIS W/").discrepancy == "minor"
    assert scorer.score(prelim, mass, "CT ABD/PELVIS W/").discrepancy == "major"


def test_a_site_moves_a_finding_between_tiers() -> None:
    from scoring import Scorer, ScoringConfig

    site = Scorer(ScoringConfig(significant_findings_extra=("hemangioma",)))
    prelim = _report("The liver is normal.", "No acute abnormality.")
    final = _report("Hemangioma in the right hepatic lobe.", "Hepatic hemangioma.")
    assert site.score(prelim, final, "CT ABD").discrepancy == "major"


def test_grade_and_class_never_contradict(scorer) -> None:
    same = _report("Small left pleural effusion.", "Small left pleural effusion.")
    result = scorer.score(same, same, "XR CHEST 2V")
    assert result.discrepancy == "none" and result.grade == 5


def test_the_pulmonary_artery_abbreviated_with_its_side_or_main(scorer) -> None:
    # "PA" alone is the frontal view; "main PA", "right PA" name the artery
    short = mentions(scorer, "Saddle embolus in the main PA extending into the right PA.",
                     "chest")
    long = mentions(scorer, "Saddle embolus in the main pulmonary artery extending into the "
                    "right pulmonary artery.", "chest")
    assert [m.concept for m in short] == [m.concept for m in long]
    assert [m.anatomy_label for m in short] == [m.anatomy_label for m in long]
    view = abbreviations.expand("PA and lateral views of the chest.")
    assert view is None or "pulmonary" not in view.text


@pytest.mark.parametrize(("text", "label"), [
    ("Non-small cell lung cancer in the left upper lobe.", "non-small cell lung carcinoma"),
    ("Non-Hodgkin lymphoma involving the spleen.", "non-hodgkin lymphoma"),
    ("Scattered non-calcified pleural thickenings.", "pleural thickening"),
])
def test_a_non_prefix_names_a_kind_and_denies_no_finding(scorer, text: str,
                                                          label: str) -> None:
    # the prefix belongs to the word it is on: a non-small cell carcinoma is a carcinoma
    # (and "small" there is a kind of cell, no size), a non-calcified thickening a thickening
    found = [m for m in mentions(scorer, text) if m.label == label]
    assert found, mentions(scorer, text)
    assert found[0].polarity == "present" and found[0].severity is None, found[0]


def test_a_non_displaced_fracture_is_an_unqualified_fracture(scorer) -> None:
    def report(line: str) -> str:
        return _report(line, "Distal radius fracture.")
    same = scorer.score(report("Non-displaced fracture of the distal left radius."),
                        report("Fracture of the distal left radius."), "XR WRIST LT 3V")
    assert same.discrepancy == "none", same.explanation
    moved = scorer.score(report("Nondisplaced fracture of the distal left radius."),
                         report("Displaced fracture of the distal left radius."),
                         "XR WRIST LT 3V")
    assert moved.discrepancy == "major", moved.explanation
    assert "displaced" in moved.explanation and "malpositioned" not in moved.explanation


def test_an_embolized_catheter_is_out_of_place_an_embolized_aneurysm_treated(scorer) -> None:
    moved = scorer.score(_report("Right chest port.", "Central venous catheter in place."),
                         _report("Right chest port.", "Embolized central venous catheter."),
                         "XR CHEST 1V")
    assert moved.discrepancy == "major", moved.explanation
    treated = "Coils in an anterior communicating artery aneurysm"
    r = scorer.score(_report(f"{treated}.", "As above."),
                     _report(f"{treated}, previously embolized.", "As above."), "CTA HEAD")
    assert r.discrepancy == "none", r.explanation


def test_in_place_is_no_finding(scorer) -> None:
    r = scorer.score(_report("Right chest port.", "Central venous catheter."),
                     _report("Right chest port.", "Central venous catheter in place."),
                     "XR CHEST 1V")
    assert r.esas == 1.0 and r.discrepancy == "none", r.explanation


@pytest.mark.parametrize("sentence", [
    "No residual filling of the aneurysm.",
    "Evidence of enhancement within the thrombus is excluded.",
    "The cyst shows no enhancement of its wall.",
])
def test_a_denied_property_of_a_finding_leaves_the_finding(scorer, sentence: str) -> None:
    assert "absent" not in {m.polarity for m in mentions(scorer, sentence)
                            if m.head in ("aneurysm", "thrombosis", "cyst")}
    assert polarity(scorer, "No aneurysm.", "aneurysm") == "absent"


def test_a_finding_named_as_treated_was_not_missed(scorer) -> None:
    r = scorer.score(_report("Status post EVAR of an abdominal aortic aneurysm. No endoleak.",
                             "No endoleak."),
                     _report("Endovascular stent graft repair of the infrarenal abdominal "
                             "aortic aneurysm. No endoleak.", "No endoleak."), "CTA ABD/PELVIS")
    assert not [e for e in r.entities if e.counted and e.head == "aneurysm"
                and e.category != "matched"], r.explanation
    assert r.discrepancy != "major", r.explanation


@pytest.mark.parametrize(("history", "now"), [
    ("Status post resection of a left frontal meningioma.", "Recurrent left frontal meningioma."),
    ("History of appendicitis.", "Acute appendicitis."),
    ("Status post coiling of a left MCA aneurysm.", "Enlarging left MCA aneurysm."),
])
def test_a_treated_finding_back_or_acute_is_a_finding(scorer, history: str, now: str) -> None:
    r = scorer.score(_report(history, "As above."), _report(now, "As above."))
    assert r.discrepancy == "major", r.explanation


def test_reversed_portal_flow_missed_is_major_a_normal_waveform_no_finding(scorer) -> None:
    r = scorer.score(_report("Patent main portal vein. Cirrhotic liver.", "Cirrhosis."),
                     _report("Hepatofugal flow in the main portal vein. Cirrhotic liver.",
                             "Cirrhosis with hepatofugal portal venous flow."), "US ABDOMEN")
    assert r.discrepancy == "major", r.explanation
    assert mentions(scorer, "Triphasic waveforms with brief diastolic flow reversal.") == []


def test_a_graded_enhancement_left_out_is_a_difference(scorer) -> None:
    # "homogeneous" sounds like a normal check, but "marked" grades a lesion's enhancement
    base = "Fusiform mass along the plantar fascia, isointense to muscle on T1."
    r = scorer.score(_report(base, "Plantar fibromatosis."),
                     _report(f"{base} Marked, homogeneous enhancement after gadolinium.",
                             "Plantar fibromatosis."), "MRI FOOT RT W/WO")
    assert r.discrepancy != "none", r.explanation


def test_a_change_word_of_the_label_is_said_once(scorer) -> None:
    base = "Bony exostosis of the distal femoral metaphysis."
    r = scorer.score(_report(base, "Osteochondroma."),
                     _report(f"{base} It has increased T2 signal.", "Osteochondroma."),
                     "MRI KNEE RT")
    assert "increased t2 signal" in r.explanation.lower()
    assert "increased increased" not in r.explanation.lower(), r.explanation


@pytest.mark.parametrize(("text", "label"), [
    ("A complete lack of peristalsis was noted during the swallow.", "aperistalsis"),
    ("The cyst is bright on T2-weighted images.", "signal abnormality"),
])
def test_findings_written_as_a_description_are_read(scorer, text: str, label: str) -> None:
    # "lack of" names the finding here (absent peristalsis is aperistalsis), and "bright on
    # T2" is a signal description as much as "T2 hyperintense"
    found = [m for m in mentions(scorer, text) if label in (m.label, m.concept, m.head)
             or (label == "signal abnormality" and m.head == "signal_abnormality")]
    assert found and found[0].polarity == "present", mentions(scorer, text)


# ------------------------------------------------------------------ stop 27
def test_evar_is_the_endograft(scorer) -> None:
    r = scorer.score(_report("EVAR in place. No endoleak.", "Stable EVAR without endoleak."),
                     _report("Endograft in satisfactory position. No endoleak.",
                             "Stable endograft without endoleak."), "CTA ABD/PELVIS")
    assert r.discrepancy == "none", r.explanation
    assert [e for e in r.entities if e.kind == "device" and e.category == "matched"]


def test_a_plural_abbreviation_reads_as_its_plural_words(scorer) -> None:
    x = abbreviations.expand("Both ICAs and VAs are patent.")
    assert x is not None and "internal carotid arteries" in x.text
    assert "vertebral arteries" in x.text
    [occlusion] = [m for m in mentions(scorer, "Right SFA occlusion.", "lower_limb")
                   if m.head == "occlusion"]
    assert occlusion.anatomy_label == "superficial femoral artery"


def test_a_sided_sub_heading_names_its_structure(scorer) -> None:
    text = "FINDINGS:\nRight superficial femoral artery: Occluded at its origin.\n"
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    [occlusion] = [m for m in scorer.ner.mentions(read, "lower_limb") if m.head == "occlusion"]
    assert (occlusion.anatomy_label, occlusion.laterality) == ("superficial femoral artery",
                                                               "right")


def test_a_distance_is_no_size(scorer) -> None:
    [m] = [m for m in mentions(scorer, "The artery is occluded from 4 cm beyond its origin "
                               "for a length of 8 cm.") if m.head == "occlusion"]
    assert m.size_mm == 80.0


@pytest.mark.parametrize("sentence", [
    "Elastography or MR-based fat and fibrosis assessment could be considered.",
    "Partial obscuration of the diaphragm due to posterior beam attenuation.",
    "Thick-slab images of the pancreas.",
])
def test_procedures_and_artefacts_state_no_finding(scorer, sentence: str) -> None:
    assert [m for m in mentions(scorer, sentence, "abdomen")
            if m.polarity != "absent" and not m.descriptive] == []


def test_an_opacity_not_due_to_motion_is_a_finding(scorer) -> None:
    assert [m.head for m in mentions(scorer, "Right lower lobe opacity, not due to motion.",
                                     "chest")] == ["opacity"]


def test_a_finding_declared_without_worrisome_features_is_incidental(scorer) -> None:
    [cyst] = [m for m in mentions(scorer, "7 mm pancreatic neck IPMN without worrisome "
                                  "features.", "abdomen") if m.polarity != "absent"]
    assert scorer.significance.tier(cyst, "abdomen") == "incidental"
    [mass] = [m for m in mentions(scorer, "Solid mass in the pancreatic tail without worrisome "
                                  "features.", "abdomen") if m.polarity != "absent"]
    assert scorer.significance.tier(mass, "abdomen") != "incidental"  # "solid" is its own


def test_the_common_bile_duct_is_a_bile_duct(scorer) -> None:
    prelim = _report("5 mm filling defect in the distal CBD.", "Choledocholithiasis.")
    final = _report("5 mm filling defect in the distal duct.", "Choledocholithiasis.")
    result = scorer.score(prelim, final, "MRCP")
    assert result.discrepancy == "none", result.explanation


def test_both_sides_told_apart_equal_bilateral(scorer) -> None:
    sided = _report("Mild plaque.", "1. Right ICA: <50% stenosis.\n2. Left ICA: <50% stenosis.")
    bilateral = _report("Mild plaque.", "Less than 50 percent internal carotid artery stenosis "
                        "on both sides.")
    assert scorer.score(sided, bilateral, "US CAROTID").discrepancy == "none"
    # where the other report names one side as well, the side it leaves out is a difference
    both = _report("Bilateral renal artery stenoses. Right renal artery stenosis. Left renal "
                   "artery stenosis, 70%.", "Renal artery stenosis.")
    one = _report("Bilateral renal artery stenoses. Right renal artery stenosis.",
                  "Renal artery stenosis.")
    assert scorer.score(one, both, "CTA ABD").discrepancy != "none"


def test_a_one_letter_side_of_a_sub_heading_is_read(scorer) -> None:
    text = "FINDINGS:\nL ICA: <50% stenosis.\nL-spine: Normal alignment.\n"
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    [stenosis] = [m for m in scorer.ner.mentions(read, "neck") if m.head == "narrowing"]
    assert (stenosis.anatomy_label, stenosis.laterality) == ("internal carotid artery", "left")


def test_a_coil_mass_is_the_coils(scorer) -> None:
    found = mentions(scorer, "Coil mass at the anterior communicating artery complex.", "head")
    assert "mass" not in {m.head for m in found}
    assert [m.head for m in found if m.kind == "device"]


def test_also_ends_a_denial(scorer) -> None:
    text = "Mild mixed plaque without ulceration, also with less than 50% stenosis."
    assert polarity(scorer, text, "narrowing", "neck") == "present"
    assert polarity(scorer, text, "ulceration", "neck") == "absent"


def test_a_finding_stated_as_present_is_read(scorer) -> None:
    # the tagger reads "present" as the noun "enhancement" modifies
    found = mentions(scorer, "There is diffuse robust enhancement present.", "upper_limb")
    assert "enhancement" in {m.head for m in found}


def test_a_date_is_no_finding(scorer) -> None:
    found = mentions(scorer, "23 Jan: non-contrast head CT.", "head")
    assert not [m for m in found if "jan" in m.text.lower()]


def test_elevation_is_a_hemidiaphragm_only_beside_the_diaphragm(scorer) -> None:
    assert polarity(scorer, "The right hemidiaphragm is mildly elevated.",
                    "elevated_hemidiaphragm", "chest") == "present"
    found = mentions(scorer, "MRS: elevation of NAA.", "head")
    assert "elevated_hemidiaphragm" not in {m.head for m in found}


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Loss of gray-white matter differentiation in the right insula.", "present"),
    ("There is loss of the normal grey-white differentiation.", "present"),
    ("Gray-white differentiation is preserved.", "absent"),
])
def test_gray_white_differentiation_is_read_both_ways(scorer, sentence: str,
                                                      expected: str) -> None:
    assert polarity(scorer, sentence, "loss_of_gray_white_differentiation", "head") == expected


@pytest.mark.parametrize(("sentence", "concept", "exam"), [
    ("Loss of gray-white matter differentiation in the left insula.",
     "loss_of_gray_white_differentiation", "CT HEAD WO"),
    ("Duplex Doppler of the portal vein shows highly pulsatile flow.",
     "pulsatile_portal_flow", "US ABDOMEN"),
    ("Post gadolinium sequences demonstrate a serpentine vascular pattern.",
     "serpiginous_vessels", "MRI L SPINE W/WO"),
    ("Indistinct right heart border on the frontal view.", "obscured_heart_border", "XR CHEST 2V"),
    ("NF spots in the right globus pallidus.", "nf_spots", "MRI BRAIN W/WO"),
    ("Increased periorbital fat bilaterally.", "increased_orbital_fat", "CT ORBITS W"),
    ("However, the scutum is blunted.", "scutum_erosion", "CT TEMPORAL BONES WO"),
    ("The ventricles are small.", "small_ventricles", "CT HEAD WO"),
])
def test_a_sign_left_out_is_a_discrepancy(scorer, sentence: str, concept: str,
                                          exam: str) -> None:
    base = "Small amount of fluid in the dependent pelvis."
    r = scorer.score(_report(base, "As above."), _report(f"{sentence} {base}", "As above."), exam)
    assert r.discrepancy != "none", r.explanation
    assert concept in {e.concept for e in r.entities if e.category == "missing"}


def test_a_lipoma_is_where_the_report_puts_it(scorer) -> None:
    found = mentions(scorer, "Lipoma at level L2 and the filum terminale.", "spine")
    assert found and "epicardial_fat" not in {m.concept for m in found}
    assert "epicardial_fat" in {m.concept for m in mentions(scorer, "Cardiophrenic fat pad.",
                                                            "chest")}


def test_a_beveled_edge_is_a_lytic_lesion(scorer) -> None:
    found = mentions(scorer, "Lytic calvarial lesion with a beveled edge.", "head")
    assert "beveled_edge_lesion" in {m.concept for m in found}


def test_an_mr_spectroscopy_peak_is_a_finding(scorer) -> None:
    assert polarity(scorer, "MR spectroscopy: elevated choline peak.",
                    "abnormality", "head") == "present"
    found = mentions(scorer, "MRS: elevation of NAA.", "head")
    assert "abnormal_mr_spectroscopy" in {m.concept for m in found}


def test_intramedullary_is_the_bone_it_names(scorer) -> None:
    [m] = mentions(scorer, "Intramedullary calcifications in the left humeral shaft.",
                   "upper_limb")
    assert m.anatomy_label != "spinal cord"
    [nail] = mentions(scorer, "Intramedullary nail in the tibia.", "lower_limb")
    assert (nail.kind, nail.concept) == ("device", "orthopedic_hardware")


def test_an_endovascular_stent_is_the_stent(scorer) -> None:
    r = scorer.score(_report("Stent in the left common iliac artery.", "Patent stent."),
                     _report("Endovascular stent in the left common iliac artery.",
                             "Patent stent."), "CTA ABD/PELVIS")
    assert r.discrepancy == "none", r.explanation
    devices = [e for e in r.entities if e.kind == "device"]
    assert devices and all(e.category == "matched" for e in devices), devices
