"""The exam (modality, body region) from order names as RIS systems write them.

Order names are abbreviated ("ABD/PELVIS", "T SPINE", "LE"), carry contrast and laterality
words ("W/WO", "RT", "BILAT") and views ("2V", "3+ VIEWS"), and put words in any order. A
wrong region changes what a bare word means and which findings are critical, so each kind of
order name that misled the rules before (a thoracic spine read as the chest, a mammogram or a
nuclear study not recognised, an angiogram with no modality) has a row here.
"""

import pytest

from scoring import exam as exams

ORDERS = [
    # abbreviations of the abdomen and pelvis, contrast words
    ("CT ABD/PELVIS W/ CONTRAST", "CT", "abdomen"),
    ("CT ABD/PELVIS W/O", "CT", "abdomen"),
    ("74177^CT ABD&PELVIS W CONTRAST^CPT4", "CT", "abdomen"),
    ("CT ABDO PELV WO", "CT", "abdomen"),
    ("XR PELVIS 1V", "XR", "pelvis"),
    # prefixed modalities: CTA, MRA, MRV, PET
    ("CTA CHEST PE PROTOCOL", "CT", "chest"),
    ("CTA HEAD AND NECK", "CT", "head"),
    ("CT HEAD WO CONTRAST CODE STROKE", "CT", "head"),
    ("MRA BRAIN", "MR", "head"),
    ("MRV HEAD", "MR", "head"),
    ("MRI BRAIN W/WO", "MR", "head"),
    ("PET/CT SKULL BASE TO THIGH", "NM", "whole_body"),
    ("CT/PET WHOLE BODY", "NM", "whole_body"),
    # the spine beats the thoracic and cervical words, whatever the spelling or order
    ("MRI T SPINE", "MR", "spine"),
    ("MRI C-SPINE WO", "MR", "spine"),
    ("MR L SPINE W/WO", "MR", "spine"),
    ("MRI THORACIC SPINE", "MR", "spine"),
    ("CT T/L SPINE WO CONTRAST", "CT", "spine"),
    ("CT CERVICAL AND THORACIC SPINE", "CT", "spine"),
    ("MRI SPINE THORACIC", "MR", "spine"),
    ("XR C-SPINE 2-3V", "XR", "spine"),
    # limbs, with laterality and views
    ("MR KNEE RT WO", "MR", "lower_limb"),
    ("MRI SHOULDER LT", "MR", "upper_limb"),
    ("XR KNEE 3V RT", "XR", "lower_limb"),
    ("XR ANKLE LT 3+ VIEWS", "XR", "lower_limb"),
    ("XR HIP UNILAT W PELVIS", "XR", "lower_limb"),
    ("US VENOUS DOPPLER LE LT", "US", "lower_limb"),
    ("US UE VENOUS DOPPLER RT", "US", "upper_limb"),
    # radiographs known by their views alone
    ("XR 2V CHEST", "XR", "chest"),
    ("XR CHEST 2V", "XR", "chest"),
    ("XR CHEST 1V PORTABLE", "XR", "chest"),
    ("CHEST PORT", "XR", "chest"),
    ("CHEST PA/LAT 2 VIEWS", "XR", "chest"),
    ("XR ABDOMEN 2V (KUB)", "XR", "abdomen"),
    ("DEXA BONE DENSITY", "XR", "unknown"),
    # mammography: its region goes without saying
    ("MAMMO DX BILAT W TOMO", "MG", "breast"),
    ("MAMMO SCREENING BILAT", "MG", "breast"),
    ("MG DIGITAL DIAGNOSTIC UNILAT", "MG", "breast"),
    ("DX MAMMO BILAT", "MG", "breast"),
    ("US BREAST LT LIMITED", "US", "breast"),
    # nuclear medicine: the study names the organ
    ("NM MPI", "NM", "chest"),
    ("NM BONE SCAN WHOLE BODY", "NM", "whole_body"),
    ("NM HEPATOBILIARY SCAN", "NM", "abdomen"),
    ("NM THYROID UPTAKE AND SCAN", "NM", "neck"),
    ("NM V/Q SCAN", "NM", "chest"),
    ("NM GASTRIC EMPTYING", "NM", "abdomen"),
    ("NM RENAL SCAN W LASIX (MAG3)", "NM", "abdomen"),
    # ultrasound
    ("US RENAL COMPLETE", "US", "abdomen"),
    ("US RETROPERITONEAL", "US", "abdomen"),
    ("US PELVIS TRANSVAGINAL", "US", "pelvis"),
    ("US PELVIS TRANSABD AND TRANSVAG", "US", "pelvis"),
    ("US SCROTUM", "US", "pelvis"),
    ("US CAROTID DUPLEX BILAT", "US", "neck"),
    ("US ABD RUQ", "US", "abdomen"),
    ("US OB < 14 WKS", "US", "pelvis"),
    ("US THYROID", "US", "neck"),
    ("ECHO COMPLETE", "US", "chest"),
    ("TTE", "US", "chest"),
    # fluoroscopy, and angiography/interventional read as fluoroscopy (no XA modality)
    ("FL UGI", "FL", "abdomen"),
    ("FL ESOPHAGRAM", "FL", "chest"),
    ("FL T-TUBE CHOLANGIOGRAM", "FL", "abdomen"),
    ("RF HYSTEROSALPINGOGRAM", "FL", "pelvis"),
    ("RF VCUG", "FL", "pelvis"),
    ("CT CYSTOGRAM", "CT", "pelvis"),
    ("IR PICC PLACEMENT", "FL", "chest"),
    ("IR IVC FILTER PLACEMENT", "FL", "abdomen"),
    ("XA CEREBRAL ANGIOGRAM DIAGNOSTIC", "FL", "head"),
    ("XA ANGIOGRAM LOWER EXTREMITY RT", "FL", "lower_limb"),
    ("XA ANGIO", "FL", "unknown"),
    # vessels lie where their body part is
    ("CTA CHEST AORTA DISSECTION PROTOCOL", "CT", "chest"),
    ("US AORTA ABDOMEN", "US", "abdomen"),
    ("MRA NECK W/WO CONTRAST", "MR", "neck"),
]


@pytest.mark.parametrize(("order", "modality", "region"), ORDERS)
def test_order_name_gives_modality_and_region(order, modality, region):
    exam = exams.from_procedure(order)
    assert exam is not None
    assert (exam.modality, exam.region) == (modality, region)
    assert exam.source == "procedure" and exam.procedure == order


def test_labels_are_of_the_fixed_sets():
    assert {m for _, m, _ in ORDERS} <= set(exams.MODALITIES)
    assert {r for _, _, r in ORDERS} <= set(exams.REGIONS)


@pytest.mark.parametrize("order", ["", "   ", "12345^^CPT4", "PROTOCOL CHANGE"])
def test_an_order_that_names_nothing_is_no_exam(order):
    assert exams.from_procedure(order) is None


@pytest.mark.parametrize(("report", "modality", "region"), [
    ("EXAM: MRI THORACIC SPINE WITHOUT CONTRAST\n\nHISTORY: Chest pain radiating to the left "
     "arm.\n\nFINDINGS: ...", "MR", "spine"),
    # history naming the arms and the chest does not make a cervical spine the whole body
    ("EXAMINATION: MRI CERVICAL SPINE WITHOUT CONTRAST\n\nCLINICAL HISTORY: Neck pain, "
     "numbness of both arms and hands, prior chest surgery.\n\nFINDINGS: ...", "MR", "spine"),
    # the exam a spine is reformatted from is another exam
    ("EXAM: CT THORACIC AND LUMBAR SPINE WITHOUT CONTRAST (REFORMATTED FROM CT "
     "CHEST/ABDOMEN/PELVIS)\n\nFINDINGS: ...", "CT", "spine"),
    # transabdominal is the way in, not the region
    ("EXAM: US PELVIS COMPLETE (TRANSABDOMINAL AND TRANSVAGINAL)\n\nFINDINGS: ...", "US",
     "pelvis"),
    ("EXAMINATION: IR PICC PLACEMENT WITH US AND FLUOROSCOPIC GUIDANCE\n\nFINDINGS: ...",
     "FL", "chest"),
    ("EXAM: MAMMO SCREENING BILAT W TOMO\n\nFINDINGS: Scattered fibroglandular density.",
     "MG", "breast"),
    # no title line: the first words, less the history and the comparison
    ("CT OF THE ABDOMEN AND PELVIS WITH CONTRAST\nFINDINGS: ...", "CT", "abdomen"),
    ("HISTORY: Knee pain.\nCOMPARISON: XR left knee 2020.\nMRI of the lumbar spine without "
     "contrast.\nFINDINGS: ...", "MR", "spine"),
])
def test_report_title_gives_the_exam(report, modality, region):
    exam = exams.from_report(report)
    assert exam is not None
    assert (exam.modality, exam.region, exam.source) == (modality, region, "report")


def test_report_without_a_region_is_no_exam():
    assert exams.from_report("FINDINGS: No acute abnormality.\nIMPRESSION: Normal.") is None


def test_procedure_wins_over_the_report_in_merge():
    merged = exams.merge(exams.from_procedure("MRI T SPINE W/WO"),
                         exams.from_report("EXAM: CT CHEST WITH CONTRAST\nFINDINGS: ..."))
    assert (merged.modality, merged.region, merged.source) == ("MR", "spine", "procedure")
