"""A sentence reworded is no discrepancy, a sentence left out is one; a denial narrower than
the finding beside it is no contradiction, an unqualified one is (issue 17). Real report
sentences; each test names the route it exercises."""

from __future__ import annotations

import re

import pytest

from scoring import clinical
from scoring.restatement import Restatement
from scoring.sections import Section


def _report(findings: str, impression: str) -> str:
    return f"FINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}\n"


# ------------------------------------------------------------------ sentence alignment
def test_a_reworded_sentence_is_kept() -> None:
    prelim = "Mild joint space narrowing at the first carpometacarpal joint with small osteophytes."
    final = ("Degenerative: mild first carpometacarpal osteoarthritis with joint space narrowing "
             "and small osteophytes.")
    r = Restatement(prelim, final)
    assert r.kept(0, (0, 4))
    assert not r.omitted(0, (0, 4))


def test_a_sentence_left_out_is_omitted_even_when_its_words_recur_elsewhere() -> None:
    # The final keeps every other sentence verbatim; the omitted one shares "PA filling
    # defect" with its neighbour, which belongs to its own copy.
    common = ("Bilateral pleural effusions. Right basilar atelectasis. "
              "Right lower lobe branch of PA filling defect c/w thromboembolism.")
    final = ("Bilateral pleural effusions. Right basilar atelectasis. "
             "Main PA filling defect c/w saddle embolism. "
             "Right lower lobe branch of PA filling defect c/w thromboembolism.")
    r = Restatement(common, final)
    start = final.index("Main")
    assert r.omitted(1, (start, start + 4))
    assert not r.kept(1, (start, start + 4))


def test_a_long_prose_sentence_joining_template_lines_is_kept() -> None:
    prelim = ("Spine: Mild uptake at the L4-L5 facet joints bilaterally.\nSkull: Unremarkable."
              "\nRibs: Unremarkable.\nExtremities: Mild symmetric uptake in both knees, "
              "degenerative pattern.\nPelvis: Unremarkable.\nSternum: Unremarkable.\n"
              "Soft tissues: Normal renal and bladder activity.")
    final = ("Tracer distribution is physiologic apart from mild foci at the L4-L5 facet joints "
             "bilaterally and mild symmetric activity at both knees in a degenerative pattern, "
             "with normal renal and bladder activity.")
    r = Restatement(prelim, final)
    assert r.kept(1, (final.index("foci"), final.index("foci") + 4))


def test_decimals_do_not_split_sentences() -> None:
    r = Restatement("A 3.2 cm mass in the left arm.", "The left arm mass measures 3.2 cm.")
    assert len(r.sides[0]) == 1
    assert r.kept(0, (2, 5))


# ------------------------------------------------------------------ whole pairs
# (preliminary findings, impression), (final findings, impression), order name, class
CLASS_CASES = [
    pytest.param(("Tram-track vascular calcifications in both breasts. No suspicious mass.",
                  "BI-RADS 2: Benign."),
                 ("Bilateral tram-track calcifications following the vessels. There is no "
                  "mass.", "BI-RADS 2: Benign."),
                 "MAMMO DX BILAT", "none", id="incidental finding in a reworded sentence"),
    pytest.param(("No focal liver lesion. The gallbladder is normal.", "No acute findings."),
                 ("No focal liver lesion. The gallbladder is normal. Small hiatal hernia.",
                  "No acute findings. Small hiatal hernia."),
                 "CT ABD/PELVIS W/", "minor", id="incidental finding left out"),
    pytest.param(("The appendix is dilated to 11 mm with periappendiceal stranding.",
                  "No appendicitis."),
                 ("The appendix is dilated to 11 mm with periappendiceal stranding.",
                  "Acute appendicitis."),
                 "CT ABD/PELVIS W/", "major", id="unqualified denial of the final's finding"),
    pytest.param(("Small left pleural effusion. Small right pleural effusion.",
                  "Small bilateral pleural effusions."),
                 ("Small right pleural effusion. Small left pleural effusion.",
                  "Small bilateral pleural effusions."),
                 "XR CHEST 2V", "none", id="one pairing crossing two statements"),
    pytest.param(("Mild plaque at both carotid bulbs.",
                  "1. Right ICA: <50% stenosis.\n2. Left ICA: <50% stenosis."),
                 ("Mild plaque at both carotid bulbs.",
                  "Less than 50 percent internal carotid artery stenosis bilaterally."),
                 "US CAROTID BILAT", "none", id="bilateral against both sides one by one"),
    pytest.param(("Right breast 10 o'clock: oval circumscribed mass, 8 mm.",
                  "BI-RADS 3: Probably benign. Follow-up ultrasound in 6 months."),
                 ("Right breast 10 o'clock: oval circumscribed mass, 12 mm.",
                  "BI-RADS 3: Probably benign. Follow-up ultrasound in 6 months."),
                 "US BREAST RT LIMITED", "minor", id="size under an unchanged category"),
    pytest.param(("Linear opacity at the left lung base, likely atelectasis. No pleural "
                  "effusion or pneumothorax.", "Left basilar atelectasis."),
                 ("A band-like opacity at the left lung base probably reflects atelectasis. "
                  "The pleural spaces are clear.", "Left basilar atelectasis."),
                 "XR CHEST 2V", "none", id="one head noun of one structure"),
]


@pytest.mark.parametrize("prelim,final,procedure,expected", CLASS_CASES)
def test_the_class_of_a_pair(scorer, prelim: tuple[str, str], final: tuple[str, str],
                             procedure: str, expected: str) -> None:
    r = scorer.score(_report(*prelim), _report(*final), procedure)
    assert r.discrepancy == expected, r.explanation


@pytest.mark.parametrize("prelim_sentence,final_sentence", [
    ("No acute fracture. Mild osteopenia.", "No acute osseous abnormality. Mild osteopenia."),
    ("No acute osseous abnormality. Small osteophytes at the first CMC joint.",
     "Fracture is not seen. Small osteophytes at the first carpometacarpal joint."),
])
def test_a_denial_of_anything_acute_leaves_chronic_findings_standing(
        scorer, prelim_sentence: str, final_sentence: str) -> None:
    r = scorer.score(_report(prelim_sentence, "No fracture."),
                     _report(final_sentence, "No fracture."), "XR HAND 3V RT")
    assert r.discrepancy == "none", r.explanation


def test_no_new_hemorrhage_beside_the_known_one_is_no_contradiction(scorer) -> None:
    prelim = _report("Stable small left SAH. Trace IVH in the occipital horns. No new ICH.",
                     "Stable SAH and trace IVH. No new hemorrhage.")
    final = _report("Small left subarachnoid hemorrhage, unchanged. Trace intraventricular "
                    "hemorrhage in the occipital horns. No new intracranial hemorrhage.",
                    "Stable subarachnoid and trace intraventricular hemorrhage; no new "
                    "hemorrhage.")
    r = scorer.score(prelim, final, "CT HEAD WO CONTRAST")
    assert r.discrepancy != "major", r.explanation


@pytest.mark.parametrize("denial,finding,expected", [
    ("No suspicious calcifications.", "Scattered coarse benign calcifications.", "none"),
    ("No significant stenosis of the right internal carotid artery.",
     "Mild stenosis of the right internal carotid artery.", "none"),
    ("No significant stenosis of the right internal carotid artery.",
     "Severe stenosis of the right internal carotid artery.", "major"),
])
def test_a_qualified_denial_denies_only_its_kind(scorer, denial: str, finding: str,
                                                 expected: str) -> None:
    r = scorer.score(_report(denial, "As above."), _report(finding, "As above."), None)
    assert r.discrepancy == expected, r.explanation


@pytest.mark.parametrize("sentence", [
    "Gallbladder visualization excludes acute cholecystitis.",
    "Task Force imaging criteria for ARVC are not met.",
])
def test_more_negation_forms(scorer, sentence: str) -> None:
    read = scorer.ner.read_many([(sentence, [Section("findings", 0, len(sentence))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), sentence)
    assert found, sentence
    assert all(m.polarity == "absent" for m in found if m.kind == "finding"), \
        [(m.text, m.polarity) for m in found]


# ------------------------------------------------------------------ measurements
def test_measurements_in_other_units_and_words_are_the_same() -> None:
    from scoring import measurements

    assert measurements.changed("AAA measuring 4.1 cm. ICA stenosis <50%.",
                                "The aneurysm measures 41 mm; less than 50 percent stenosis.") \
        == []
    assert measurements.values("A 3.2 x 1.1 x 2.4 cm mass.") == {
        ("length", 32.0), ("length", 11.0), ("length", 24.0)}


def test_a_measurement_changed_on_both_sides_is_found_and_an_added_one_is_not() -> None:
    from scoring import measurements

    assert measurements.changed("Right ICA PSV 141 cm/s.", "Right ICA PSV 162 cm/s.") == [
        ("velocity", 141.0, 162.0)]
    assert measurements.changed("Normal LV size.", "Normal LV size, LVEF 58%.") == []


def test_a_measurement_change_alone_is_a_minor_discrepancy(scorer) -> None:
    prelim = _report("Right ICA peak systolic velocity 141 cm/s with mild plaque.",
                     "Right ICA 50-69% stenosis by velocity criteria.")
    final = _report("Right ICA peak systolic velocity 162 cm/s with mild plaque.",
                    "Right ICA 50-69% stenosis by velocity criteria.")
    r = scorer.score(prelim, final, "US CAROTID BILAT")
    assert r.discrepancy == "minor"
    assert "141" in r.explanation and "162" in r.explanation
    same = scorer.score(prelim, prelim.replace("141 cm/s", "141 cm/sec"), "US CAROTID BILAT")
    assert same.discrepancy == "none"


# ------------------------------------------------------------------ report layout
def test_advice_under_a_recommendation_heading_is_compared(scorer) -> None:
    findings = "No suspicious mass, calcifications or distortion."
    prelim = _report(findings, "BI-RADS 1: Negative.") + \
        "\nRECOMMENDATION: Annual screening mammography.\n"
    same = _report(findings, "BI-RADS 1: Negative. Routine annual screening mammography is "
                   "recommended.")
    other = _report(findings, "BI-RADS 1: Negative. Diagnostic mammogram in 6 months is "
                    "recommended.")
    assert scorer.score(prelim, same, "MAMMO SCREENING BILAT").discrepancy == "none"
    assert scorer.score(prelim, other, "MAMMO SCREENING BILAT").discrepancy == "minor"


def test_a_sub_headings_side_goes_to_its_findings(scorer) -> None:
    def report(side: str, other: str) -> str:
        return _report(f"{side} breast: There is a new 1.9 cm irregular spiculated mass.\n"
                       f"{other} breast: No suspicious mass or calcifications.",
                       "BI-RADS 5: Highly suggestive of malignancy.")

    r = scorer.score(report("Left", "Right"), report("Right", "Left"), "MAMMO DX BILAT")
    assert r.discrepancy == "major", r.explanation


def test_a_clear_pleural_space_does_not_deny_a_finding_of_the_lung(scorer) -> None:
    # The finding is missed, not "denied": the statement is about the pleura.
    r = scorer.score(_report("The pleural spaces are clear.", "No acute findings."),
                     _report("Linear opacity at the left lung base.", "No acute findings."),
                     "XR CHEST 2V")
    opacity = [e for e in r.entities if e.final_text and "opacity" in e.final_text.lower()]
    assert opacity and all(e.match != "normal" for e in opacity), opacity


def test_a_non_prefix_denies_its_word(scorer) -> None:
    text = "A wedge-shaped, non-mass-like area of low T2 signal at the left base."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    masses = [m for m in scorer.ner.mentions(read) if m.head == "mass"]
    assert masses and all(m.polarity == "absent" for m in masses)


def test_a_denial_of_a_narrower_kind_does_not_deny_a_broader_word(scorer) -> None:
    # "no extra-axial collection" says nothing of a "focus" (a lesion need not be one): the
    # focus is missed, not denied
    r = scorer.score(_report("No extra-axial collection. No mass effect.", "As above."),
                     _report("A 1.1 cm focus of restricted diffusion in the left corona "
                             "radiata. No mass effect.", "As above."), "MRI BRAIN W/WO")
    assert all(e.reason != "negation" for e in r.entities), r.entities
    assert any(e.category == "missing" and e.final_text == "focus" for e in r.entities)


@pytest.mark.parametrize("denial,finding,narrower", [
    ("No lenticular or obscured-margin T2 hypointense lesion.",
     "Typical encapsulated nodules of benign prostatic hyperplasia.", True),
    ("No suspicious fine pleomorphic calcifications.",
     "Parallel linear calcifications following the vessels.", True),
    ("No suspicious calcifications.", "Fine pleomorphic calcifications.", False),
])
def test_a_denial_qualified_by_a_suspicious_shape_spares_a_benign_kind(
        denial: str, finding: str, narrower: bool) -> None:
    from scoring.context_check import _narrower_denial
    from scoring.mention import Mention

    def mention(text: str, polarity: str) -> Mention:
        return Mention("lesion", "lesion", "finding", text, 0, len(text), "findings",
                       (0, len(text)), polarity=polarity,  # type: ignore[arg-type]
                       sentence_words=frozenset(re.findall(r"[a-z0-9]+", text.lower())))

    assert _narrower_denial(mention(denial, "absent"), mention(finding, "present")) is narrower


def test_decreased_bone_mineralization_in_a_clause_is_osteopenia(scorer) -> None:
    text = "Bone mineralization is mildly decreased."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), text)
    assert [m.concept for m in found] == ["osteopenia"]


def test_a_template_feature_answered_yes_is_a_finding(scorer) -> None:
    text = "LI-RADS features:\n- Nonrim arterial phase hyperenhancement: Yes.\n"
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), text)
    assert any("hyperenhancement" in m.text and m.polarity == "present" for m in found), found
    assert read.text == text.replace("hyperenhancement:", "hyperenhancement,")


@pytest.mark.parametrize("stated,denied", [
    ("Contrast CT shows multiple septations within the body of the gallbladder.",
     "Contrast CT shows no multiple septations within the body of the gallbladder."),
    ("A defect is identified at the inferior aspect of the interatrial septum.",
     "A defect is not identified at the inferior aspect of the interatrial septum."),
    ("Loss of the fat plane between the tail of the pancreas and the spleen.",
     "No loss of the fat plane between the tail of the pancreas and the spleen."),
])
def test_a_denied_description_contradicts_the_same_description_stated(
        scorer, stated: str, denied: str) -> None:
    # A phrase the vocabulary names no finding for is a description: alone, its denial says
    # nothing, but against the other report stating it, it is a contradiction.
    r = scorer.score(_report(denied, "As above."), _report(stated, "As above."), None)
    assert r.discrepancy != "none", r.explanation
    assert any(e.category == "mismatched" and e.reason == "negation" for e in r.entities)
    alone = scorer.score(_report(denied, "As above."), _report(denied, "As above."), None)
    assert alone.discrepancy == "none" and alone.esas == 1.0


def test_a_finding_the_final_impression_leads_with_left_in_the_findings_is_minor(scorer) -> None:
    # The preliminary describes the effusion but its impression, what the clinician reads,
    # does not give it: a minor discrepancy of the impression, never none and never major.
    findings = ("The left lung is clear. Large right pleural effusion with atelectasis of the "
                "right lower lobe. No pneumothorax.")
    r = scorer.score(_report(findings, "Clear left lung."),
                     _report(findings, "Large right pleural effusion. Clear left lung."),
                     "XR CHEST 2V")
    assert r.discrepancy == "minor", r.explanation
    assert "impression" in r.explanation
    # an incidental finding left to the findings is the same report
    findings = "Mild degenerative changes of the thoracic spine. The lungs are clear."
    r = scorer.score(_report(findings, "No acute cardiopulmonary process."),
                     _report(findings, "No acute cardiopulmonary process. Mild thoracic "
                             "spondylosis."), "XR CHEST 2V")
    assert r.discrepancy == "none", r.explanation


def test_the_small_bowel_and_the_colon_are_other_organs_not_a_severity(scorer) -> None:
    # "large" in "large bowel" names the organ; a finding of the colon against the same finding
    # of the small bowel is in another organ, where "lung base" / "left lower lobe" is one place
    r = scorer.score(_report("Several dilated stacked loops of large bowel.", "As above."),
                     _report("Several dilated stacked loops of small bowel.", "As above."),
                     "XR ABDOMEN 2V")
    rows = [e for e in r.entities if e.category == "mismatched"]
    assert [e.reason for e in rows] == ["organ"], r.entities
    assert not rows[0].prelim_attributes.get("severity")
    assert r.discrepancy != "none", r.explanation
    same = scorer.score(_report("Linear opacity at the lung base, likely atelectasis.",
                                "As above."),
                        _report("Linear opacity in the left lower lobe, likely atelectasis.",
                                "As above."), "XR CHEST 2V")
    assert all(e.reason != "organ" for e in same.entities)


def test_a_protocol_line_is_technique_and_a_finding_beside_it_is_not() -> None:
    assert clinical.role("CT chest PE protocol.") == "technique"
    assert clinical.role("CT chest PE protocol: large saddle embolus in the main pulmonary "
                         "artery.") == "finding"


def test_an_impression_denial_is_the_conclusion_whatever_the_findings_say(scorer) -> None:
    # The preliminary's findings describe the thrombus, its impression denies it: the final's
    # impression diagnosis is contradicted where the clinician reads, not paired away.
    findings = ("Near occlusive thrombosis of the main portal vein. The findings suggest a "
                "bland thrombus; no tumor thrombus.")
    r = scorer.score(_report(findings, "No portal vein thrombosis."),
                     _report(findings, "Portal vein thrombosis."), "CT ABD/PELVIS W/")
    assert r.discrepancy == "major", r.explanation


@pytest.mark.parametrize("sentence,expected", [
    ("A follow up CT scan revealed a 23 cm cystic mass in the abdomen.", "finding"),
    ("Follow-up CT showed interval growth of the mass.", "finding"),
    ("Follow-up CT in 3 months is recommended.", "recommendation"),
    ("Follow-up MRI could be performed to confirm the finding.", "recommendation"),
])
def test_a_follow_up_study_that_was_done_reports_findings(sentence: str, expected: str) -> None:
    assert clinical.role(sentence) == expected


def test_a_symmetric_signal_abnormality_is_still_an_abnormality(scorer) -> None:
    # "symmetric" is a normal word beside "the kidneys enhance", not beside an abnormality
    text = "There is periventricular and deep white matter symmetric signal abnormality."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), text)
    assert any(m.polarity == "present" for m in found), found


def test_fluid_in_another_organ_is_not_the_same_statement(scorer) -> None:
    # the fluid family ("free fluid" / "ascites") is one statement in one place only
    kept = "Bicornuate uterus. Small amount of endometrial fluid."
    r = scorer.score(_report(kept, "Bicornuate uterus."),
                     _report(kept + " Small amount of free fluid in the pelvis.",
                             "Bicornuate uterus."), "US PELVIS TRANSVAGINAL")
    assert r.discrepancy == "minor", r.explanation
    r = scorer.score(_report("Small amount of free fluid in the pelvis.", "As above."),
                     _report("Trace ascites in the pelvis.", "As above."), "CT ABD/PELVIS W/")
    assert r.discrepancy == "none", r.explanation


def test_a_sentence_that_denies_the_finding_is_not_a_rewording_of_it(scorer) -> None:
    # "No bronchial carcinoid" keeps every word of "Bronchial carcinoid": kept in words, but
    # it denies the diagnosis; a denial of something else in the sentence changes nothing
    r = scorer.score(_report("Multiple pulmonary nodules.", "No benign Metastasizing Leiomyoma"),
                     _report("Multiple pulmonary nodules.", "Benign Metastasizing Leiomyoma"),
                     "CT CHEST W/")
    assert r.discrepancy != "none", r.explanation
    restated = Restatement("Mild degenerative changes without fracture.",
                           "Mild degenerative changes. No fracture.")
    assert restated.kept(1, (0, 4))


@pytest.mark.parametrize("nodule,expected", [
    ("1.2 cm hypoattenuating nodule in the left thyroid lobe.", "minor"),
    ("2.4 cm hypoattenuating nodule in the left thyroid lobe.", "major"),
])
def test_an_incidental_thyroid_nodule_under_15_mm_needs_no_work_up(scorer, nodule: str,
                                                                   expected: str) -> None:
    # ACR white paper: under 1.5 cm without suspicious features, no further evaluation
    base = "Right tonsillitis without abscess."
    r = scorer.score(_report(base, "Right tonsillitis."),
                     _report(f"{base} {nodule}", "Right tonsillitis."), "CT NECK W/")
    assert r.discrepancy == expected, r.explanation


def test_a_finding_named_in_the_condition_of_advice_is_no_finding() -> None:
    # "if the mass enlarges, MRI could be obtained": advice about a possibility, while a
    # finding stated before the advice still counts
    def kept(sentence: str) -> list[str]:
        from scoring.mention import Mention
        start = sentence.index("mass")
        m = Mention(concept="mass", label="mass", kind="finding", text="mass", start=start,
                    end=start + 4, section="impression", sentence=(0, len(sentence)))
        return [x.text for x in clinical.clinical_mentions([m], sentence)]

    assert kept("If the mass enlarges or becomes symptomatic, MRI could be obtained.") == []
    assert kept("Enlarging mass; MRI could be obtained.") == ["mass"]


def test_a_mass_that_measures_is_a_mass() -> None:
    from scoring.ner import LexiconNer
    from scoring.sections import split_sections

    text = "An oval, circumscribed subcutaneous mass measures 3.2 x 1.1 x 2.4 cm."
    found = LexiconNer().extract(text, split_sections(text))
    assert any(m.head == "mass" for m in found), [(m.text, m.head) for m in found]


def test_a_fluid_collection_is_not_restated_by_free_fluid(scorer) -> None:
    # a collection is a discrete finding (an abscess until proven otherwise), not the free
    # fluid of the same sentence family
    base = "Small amount of free fluid in the pelvis."
    r = scorer.score(_report(base, "Small amount of free fluid."),
                     _report(base + " A 4 cm rim-enhancing fluid collection in the right "
                             "lower quadrant.", "Small amount of free fluid. Right lower "
                             "quadrant fluid collection."), "CT ABD/PELVIS W/")
    assert r.discrepancy != "none", r.explanation


def test_a_named_finding_that_starts_with_a_normal_word_is_a_finding(scorer) -> None:
    # "patent" names the ductus arteriosus finding; a normal word beside it still says normal
    text = "Patent ductus arteriosus."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), text)
    assert any(m.polarity == "present" and "ductus" in m.text.lower() for m in found), found
    text = "Normal chest radiographs."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    assert not clinical.clinical_mentions(scorer.ner.mentions(read), text)


def test_an_impression_line_naming_a_disease_is_a_diagnosis(scorer) -> None:
    # the vocabulary does not know every tumour: an impression's line whose last word is a
    # disease word is the diagnosis; the same statement in the findings stays descriptive
    findings = "Well-circumscribed enhancing endobronchial lesion in the right main bronchus."
    r = scorer.score(_report(findings, "Endobronchial lesion."),
                     _report(findings, "Endobronchial lesion. Bronchial carcinoid."),
                     "CT CHEST W/")
    assert r.discrepancy != "none", r.explanation
    assert any("carcinoid" in (e.final_text or "").lower() and e.category == "missing"
               for e in r.entities), r.entities


def test_gas_out_of_a_gas_holding_place_is_no_normal_sign(scorer) -> None:
    # gas in the appendix or the bowel is normal; in a muscle (a bullet tract) it is a finding
    def kept(text: str) -> list:
        read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
        return [m for m in clinical.clinical_mentions(scorer.ner.mentions(read), text)
                if m.head == "air"]
    assert not kept("The appendix contains gas.")
    assert kept("Air is seen in the left gluteus maximus muscle along the bullet tract.")


def test_a_graded_enhancement_is_a_finding_and_the_contrast_agent_none(scorer) -> None:
    # "homogeneous" says an organ is normal, but graded ("marked") it describes a lesion;
    # the agent given is technique, never a finding
    text = "Marked, homogeneous enhancement following administration of gadolinium DTPA."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    found = clinical.clinical_mentions(scorer.ner.mentions(read), text)
    assert [m.head for m in found] == ["enhancement"], found
    text = "The liver enhances homogeneously."
    read = scorer.ner.read_many([(text, [Section("findings", 0, len(text))])])[0]
    assert not clinical.clinical_mentions(scorer.ner.mentions(read), text)


def test_a_description_its_partner_sentence_denies_is_a_difference(scorer) -> None:
    # the denial is read as another phrase ("statement about the ACA"), but the sentence
    # denies the very word the other report states
    def report(line: str) -> str:
        return _report("Right occipital lesion with enlarged feeding vessels from the PCA and "
                       f"MCA. {line}", "Arteriovenous malformation.")
    r = scorer.score(report("No small feeder from the ACA."), report("Small feeder from the ACA."),
                     "MRI BRAIN W/WO")
    assert r.discrepancy != "none", r.explanation
    same = scorer.score(report("Small feeder from the ACA."),
                        report("A small feeder arises from the ACA."), "MRI BRAIN W/WO")
    assert same.discrepancy == "none", same.explanation


# ------------------------------------------------------------------ a sentence denied
def _lesion(line: str) -> str:
    return _report(f"Lobulated mass in the right thigh musculature. {line}",
                   "Soft tissue mass of the right thigh.")


@pytest.mark.parametrize(("denied", "stated"), [
    ("Post-contrast images demonstrate no serpiginous vascular pattern.",
     "Post-contrast images demonstrate a serpiginous vascular pattern."),
    ("A serpiginous vascular pattern is not seen on post-contrast images.",
     "A serpiginous vascular pattern is seen on post-contrast images."),
])
def test_a_sentence_the_other_report_denies_is_a_difference(scorer, denied: str,
                                                            stated: str) -> None:
    # the NER names no finding in "serpiginous vascular pattern", but the sentence is the
    # other report's, denied: a contradiction, at least minor
    r = scorer.score(_lesion(denied), _lesion(stated), "MRI FEMUR RT W/WO")
    assert r.discrepancy != "none" and r.esas < 1, r.explanation
    rows = [e for e in r.entities if e.concept.startswith("~denied")]
    assert rows and rows[0].prelim_attributes["polarity"] == "absent", r.entities
    assert "serpiginous vascular pattern" in r.explanation


@pytest.mark.parametrize(("prelim", "final"), [
    ("Post-contrast images demonstrate no serpiginous vascular pattern.",
     "A serpiginous vascular pattern is not seen."),
    ("Adjacent bone marrow edema is excluded.", "No adjacent bone marrow edema."),
    ("Periosteal reaction: none. Cortex: no destruction.",
     "No periosteal reaction or cortical destruction."),
])
def test_a_denial_written_another_way_is_no_difference(scorer, prelim: str, final: str) -> None:
    r = scorer.score(_lesion(prelim), _lesion(final), "MRI FEMUR RT W/WO")
    assert r.discrepancy == "none", r.explanation
    assert not [e for e in r.entities if e.concept.startswith("~denied")], r.entities


def test_a_template_label_before_its_denial_is_denied() -> None:
    # "Extra-axial spaces: No collection." denies what "No extra-axial collection." denies
    prelim = _report("Extra-axial spaces: No collection.", "Normal MRI of the brain.")
    final = _report("No extra-axial collection.", "Normal MRI of the brain.")
    assert not Restatement(prelim, final).flips
    stated = _report("Extra-axial spaces: Thin collection.", "Normal MRI of the brain.")
    assert Restatement(prelim, stated).flips


# ------------------------------------------------- one side or severity word changed
def _brain(line: str) -> str:
    return _report(f"Multiple enhancing lesions throughout both hemispheres. {line}",
                   "Multiple enhancing brain lesions, likely metastases.")


@pytest.mark.parametrize(("prelim", "final", "reason"), [
    ("The most prominent were in the right frontal and parietal region.",
     "The most prominent were in the left frontal and parietal region.", "laterality"),
    ("The findings are bilateral although more pronounced on the left.",
     "The findings are bilateral although more pronounced on the right.", "laterality"),
    ("Large feeder from the ACA.", "Small feeder from the ACA.", "severity"),
])
def test_a_sentence_repeated_with_another_side_or_severity_is_a_difference(
        scorer, prelim: str, final: str, reason: str) -> None:
    # no finding word the NER names carries the side or the size: the sentence is the other
    # report's, word for word, but for that word
    r = scorer.score(_brain(prelim), _brain(final), "MRI BRAIN W/WO")
    assert r.discrepancy == "minor" and r.esas < 1, r.explanation
    rows = [e for e in r.entities if e.concept.startswith(f"~{reason} of")]
    assert len(rows) == 1 and rows[0].counted, r.entities
    assert "The same sentence names another" in r.explanation


@pytest.mark.parametrize(("prelim", "final"), [
    ("There is minimal prominence of the ventricles.",
     "There is mild prominence of the ventricles."),  # one rung of the ladder
    ("The right and left frontal lobes are most involved.",
     "The left and right frontal lobes are most involved."),  # reordered, both sides
    ("The most prominent were in the right frontal and parietal region.",
     "The largest lesions are in the left frontal and parietal region."),  # more than one word
])
def test_a_neighbour_word_or_a_reordering_is_no_swap(prelim: str, final: str) -> None:
    assert not Restatement(_brain(prelim), _brain(final)).swaps


# ------------------------------------------- a side or size lost with its sentence
_MASS = "Focal areas of macroscopic fat within a circumscribed mass. No calcification."
_SIZED = "Solitary left adrenal mass measuring 2.8 cm in diameter"


@pytest.mark.parametrize("final", [
    # its own sentence: a second row of the mass, alone on its side
    _report(f"{_SIZED}.\n{_MASS}", "Adrenal myelolipoma."),
    # an unpunctuated line the NER reads with the next: one mention, paired
    _report(f"{_SIZED}\n{_MASS}", "Adrenal myelolipoma."),
])
def test_a_size_and_side_left_out_with_their_sentence_are_a_minor_difference(
        scorer, final: str) -> None:
    prelim = _report(_MASS, "Adrenal myelolipoma.")
    r = scorer.score(prelim, final, "CT ABD/PELVIS W/")
    assert r.discrepancy == "minor" and r.esas < 1, r.explanation
    row = next(e for e in r.entities if e.reason == "size")
    assert row.counted and not row.actionable, r.entities
    assert "calcified" not in row.label  # a plain adrenal mass, not a named kind of one
    assert "size" in r.explanation and "2.8" in r.explanation


def test_a_size_written_into_a_sentence_both_keep_is_no_difference(scorer) -> None:
    final = _report(f"{_SIZED}.\n{_MASS}", "Adrenal myelolipoma.")
    kept = _report(f"Solitary adrenal mass.\n{_MASS}", "Adrenal myelolipoma.")
    r = scorer.score(kept, final, "CT ABD/PELVIS W/")
    assert r.discrepancy == "none", r.explanation


def test_a_fracture_named_by_its_vertebral_level_is_another_fracture(scorer) -> None:
    # "L1" is the first lumbar vertebra, so the added burst fracture is not the atlas one
    final = _report("Fracture of the atlas.", "Atlas fracture.")
    prelim = _report("Fracture of the atlas. Acute burst fracture of L1 with retropulsion.",
                     "Atlas fracture.")
    r = scorer.score(prelim, final, "CT CERVICAL SPINE W/O")
    assert r.discrepancy == "major", r.explanation


@pytest.mark.parametrize(("text", "anatomy"), [
    ("Acute burst fracture of L1 with retropulsion.", "first lumbar vertebra"),
    ("Fracture of C5.", "fifth cervical vertebra"),
    ("Moderate central canal stenosis at C5-C6.", None),  # a disc level, not a vertebra
    ("Disc protrusion at L5-S1.", None),
    ("Increased T2 signal in the cord.", "spinal cord"),  # T2 is a sequence
])
def test_a_vertebra_is_read_from_its_level(scorer, text: str, anatomy: str | None) -> None:
    r = scorer.score(_report(text, "See findings."), _report(text, "See findings."),
                     "MRI SPINE")
    row = r.entities[0]
    assert row.anatomy_label == anatomy or (anatomy is None and not (
        row.anatomy_label or "").endswith(" vertebra")), r.entities


# ------------------------------------------------------------- level by level
@pytest.mark.parametrize(("heading", "sentence", "level"), [
    ("L3-L4", "Mild disc bulge.", "L3-L4"),
    (None, "Moderate central canal stenosis at C5-6.", "C5-C6"),
    ("L5-S1", "Mild disc bulge without significant stenosis.", "L5-S1"),
    ("L1-L2 and L2-L3", "No significant disc bulge or stenosis.", None),  # two levels
    (None, "T1/T2 hyperintense lesion.", None),  # MR sequences
    (None, "Increased T2 signal in the cord.", None),
])
def test_the_spinal_level_of_a_line(heading: str | None, sentence: str,
                                    level: str | None) -> None:
    from scoring.ner import spinal_level

    assert spinal_level(heading, sentence) == level


def test_findings_of_one_level_are_not_paired_with_another_levels(scorer) -> None:
    # "No foraminal narrowing" at L3-L4 is not the L4-L5 narrowing; the final's left
    # narrowing is the preliminary's bilateral one graded otherwise: minor
    prelim = _report(
        "L3-L4: Mild disc bulge. No foraminal narrowing.\n"
        "L4-L5: Disc bulge with facet arthropathy. Moderate central canal stenosis. Mild "
        "bilateral neural foraminal narrowing.",
        "Degenerative changes, worst at L4-L5.")
    final = _report(
        "L3-L4: Mild disc bulge. Foramina patent.\n"
        "L4-L5: Disc bulge with facet arthropathy. Moderate central canal stenosis. "
        "Moderate left and mild right neural foraminal narrowing; the left foraminal "
        "narrowing is accentuated by a small left foraminal osteophyte.",
        "Degenerative changes, worst at L4-L5.")
    r = scorer.score(prelim, final, "MRI L SPINE W/O")
    assert r.discrepancy == "minor", r.explanation
    assert not any(e.reason == "negation" for e in r.entities if e.counted), r.entities
