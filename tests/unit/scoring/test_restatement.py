"""A sentence reworded is no discrepancy, a sentence left out is one; a denial narrower than
the finding beside it is no contradiction, an unqualified one is (issue 17). Real report
sentences; each test names the route it exercises."""

from __future__ import annotations

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


def test_decimals_do_not_split_sentences() -> None:
    r = Restatement("A 3.2 cm mass in the left arm.", "The left arm mass measures 3.2 cm.")
    assert len(r.sides[0]) == 1
    assert r.kept(0, (2, 5))


# ------------------------------------------------------------------ whole pairs
def test_an_incidental_finding_in_a_reworded_sentence_is_no_discrepancy(scorer) -> None:
    prelim = _report("Tram-track vascular calcifications in both breasts. No suspicious mass.",
                     "BI-RADS 2: Benign.")
    final = _report("Bilateral tram-track calcifications following the vessels. There is no "
                    "mass.", "BI-RADS 2: Benign.")
    r = scorer.score(prelim, final, "MAMMO DX BILAT")
    assert r.discrepancy == "none", r.explanation


def test_an_incidental_finding_left_out_is_still_minor(scorer) -> None:
    prelim = _report("No focal liver lesion. The gallbladder is normal.", "No acute findings.")
    final = _report("No focal liver lesion. The gallbladder is normal. "
                    "Small hiatal hernia.", "No acute findings. Small hiatal hernia.")
    assert scorer.score(prelim, final, "CT ABD/PELVIS W/").discrepancy == "minor"


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


def test_an_unqualified_denial_of_what_the_final_finds_stays_major(scorer) -> None:
    # The preliminary describes the appendix and still concludes "no appendicitis".
    prelim = _report("The appendix is dilated to 11 mm with periappendiceal stranding.",
                     "No appendicitis.")
    final = _report("The appendix is dilated to 11 mm with periappendiceal stranding.",
                    "Acute appendicitis.")
    assert scorer.score(prelim, final, "CT ABD/PELVIS W/").discrepancy == "major"


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


def test_one_pairing_crossing_two_statements_of_both_reports_is_no_discrepancy(scorer) -> None:
    prelim = _report("Small left pleural effusion. Small right pleural effusion.",
                     "Small bilateral pleural effusions.")
    final = _report("Small right pleural effusion. Small left pleural effusion.",
                    "Small bilateral pleural effusions.")
    assert scorer.score(prelim, final, "XR CHEST 2V").discrepancy == "none"
