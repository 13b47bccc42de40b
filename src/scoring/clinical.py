"""What counts: clinical content only (findings, diagnoses, devices, categories, and the normal
statements that contradict a finding of the other report).

A radiologist reading two reports side by side does not count the telephone call, the nurse's
name, "annual screening mammography" or "the facet joints" as findings. The NER reads every
sentence; this module sets aside what a sentence says *about the reporting* (who was called,
what is recommended, how the study was done) and the mentions that are words rather than
assertions: a sentence's main noun phrase kept only because nothing else was found, bare
anatomy, an adjective with nothing it is said of, a noun phrase that names no disease.

Recommendations are not thrown away: `recommendations` reads them into a small comparable
form (the actions and the follow-up intervals), so that a changed recommendation is a minor
discrepancy of its own kind and a reworded one ("return to annual screening" / "routine annual
screening mammography") is none.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scoring.mention import Mention

Role = Literal["finding", "communication", "recommendation", "technique", "history"]

# What the patient had, not what the study shows: "Status post cataract surgery."
_HISTORY = re.compile(r"^\W*(\d+[.)]\s*)?(status post|s/p|history of|hx of|h/o)\b", re.IGNORECASE)
# A sentence that calls something normal: a property named in it ("normal lumbar lordosis",
# "mineralization is preserved") is no finding unless its words name a disease.
_NORMAL_SAID = re.compile(r"\b(normal|normally|preserved|maintained|intact|unremarkable|"
                          r"aligned|appropriate|symmetric|symmetrically|homogeneous|patent|hepatopetal|antegrade|"
                          r"homogeneously|within normal limits|well[- ]expanded|"
                          r"well[- ]aerated|clear)\b", re.IGNORECASE)
_NORMAL_BEFORE = r"\b(normal|preserved|maintained|physiologic|age[- ]appropriate)\s+(\w+\s+)?"

# Families of findings that reports name in many ways: an unmatched member on one side is the
# same statement as a member on the other ("spondylosis" / "degenerative changes" /
# "osteophytes"; "free fluid" / "ascites"). Words of the mention's label or text.
FAMILIES: dict[str, re.Pattern[str]] = {
    "degenerative": re.compile(
        r"degenerat|spondyl|osteoarthr|arthros|osteophyt|spur|(disc|joint) (space )?narrow|"
        r"facet (joint )?(arthropathy|hypertrophy)|hypertroph|disc[- ]osteophyte|"
        r"uncovertebral|enthesophyt|desiccat|bulg|chondros|chondromalac"),
    "atherosclerosis": re.compile(r"atheroscl|atheromat|plaque|(vascular|arterial|aortic|"
                                  r"coronary|carotid) calcif|calcified plaque"),
    "small vessel": re.compile(r"small vessel|microangiopath|microvascular|white matter|"
                               r"leukoaraiosis|gliosis|ischemic change"),
    "volume loss": re.compile(r"atroph|volume loss|prominen\w* (of the )?(sulc|ventric)|"
                              r"sulc|involution"),
    "fluid": re.compile(r"free fluid|ascites|fluid(?! collection)"),
}


_ABNORMAL_SAID = re.compile(r"\b(abnormal|abnormality|but|except|however|although)\b",
                            re.IGNORECASE)


def says_normal(sentence: str) -> bool:
    """A sentence that calls something normal and nothing abnormal."""
    return bool(_NORMAL_SAID.search(sentence)) and not _ABNORMAL_SAID.search(sentence)


def family(m: Mention) -> str | None:
    return _family(f"{m.label} {m.text}".lower())


@functools.lru_cache(maxsize=16384)
def _family(words: str) -> str | None:
    return next((name for name, pattern in FAMILIES.items() if pattern.search(words)), None)


# Findings that are never acute: "no acute osseous abnormality" says nothing about them.
_CHRONIC_WORDS = re.compile(r"osteopen|osteopor|demineral|mineraliz|sclero|calcif|chronic|"
                            r"healed|old |remote|cyst|lipoma|hemangioma|granuloma")


def chronic(m: Mention) -> bool:
    """A finding of slow course, which a denial of anything acute leaves standing."""
    if m.change in ("chronic", "stable") or m.historical:
        return True
    return family(m) in ("degenerative", "atherosclerosis", "small vessel", "volume loss") or \
        bool(_CHRONIC_WORDS.search(f"{m.label} {m.text} ".lower()))
# Gas where gas belongs (bowel, appendix, stomach) is a normal sign; these words make it not.
_ABNORMAL_GAS = frozenset({"free", "extraluminal", "intramural", "portal", "pneumatosis",
                           "pneumoperitoneum", "subdiaphragmatic", "intraperitoneal",
                           "retroperitoneal", "mediastinal", "subcutaneous", "emphysematous",
                           "abscess", "collection", "extravasation", "perforation", "locules",
                           "locule", "dissecting", "venous", "biliary", "pneumobilia"})
# Where gas belongs: air said of any other place (a muscle, the bladder wall, the liver) is
# no normal sign.
_GAS_HOLDING = re.compile(r"bowel|colon|append|stomach|gastr|duoden|jejun|ile|rect|cec|sigmoid|"
                          r"intestin|esophag|lung|airway|trache|bronch|sinus|mastoid|air cell|"
                          r"ear|nas|pharyn|laryn|abdom|pelvi|chest|thora")
# Anatomy whose name reads like a finding.
_ANATOMY_PHRASES = re.compile(r"\b(lateral mass(es)?|air cells?|calcium score|"
                              r"fibroglandular (density|tissue)|scattered (areas of )?"
                              r"fibroglandular)\b", re.IGNORECASE)
# A finding named inside a structured category's sentence ("very low probability for
# pulmonary embolism") is carried by the category (scoring.categories), not by itself.
_CATEGORY_SENTENCE = re.compile(r"\bprobability (for|of)\b|\b(bi|li|ti|pi|lung|cad)-?rads\b",
                                re.IGNORECASE)
# What a report cannot say: "growth cannot be assessed (no prior)".
_UNASSESSED = re.compile(r"cannot be assessed|not applicable|not assessed|"
                         r"could not be (assessed|evaluated)|not (well )?evaluated", re.IGNORECASE)

# Telling someone: "discussed with Dr. Lee", "called to the ED", "RN Torres at 10:12".
_COMMUNICATION = re.compile(
    r"\b(discussed|communicated|called|notified|paged|relayed|conveyed|telephoned|"
    r"phoned|informed|reported|spoke|texted|messaged)\b[^.]{0,40}\b(with|to)\s+(dr\b|the\b|"
    r"rn\b|nurse|team|physician|clinician|provider|service|ed\b|er\b|emergency|referring|"
    r"ordering|surgeon|surgical|hospitalist|resident|patient|[A-Z][a-z]+)|"
    r"\b(dr|rn|np)\.?\s+[A-Z][a-z]+|\bnurse\b|\btelephone\b|\bby phone\b|\bvia phone\b|"
    r"\bread[- ]?back\b|\bsecure chat\b|\bat \d{1,2}:\d{2}\b", re.IGNORECASE)
# Advice: "Recommend follow-up CT in 3 months", "Return to annual screening", "Consider MRI".
_RECOMMENDATION = re.compile(
    r"\b(recommend\w*|advis\w*|consider(ation)? (of |for )?"
    r"(mri|ct|ultrasound|biopsy|follow|further|repeat|dedicated|surgical|referral|"
    r"clinical|correlation|tissue)|return to|follow[- ]?up (is|in|imaging|with|ct|mri|"
    r"ultrasound|study|exam)|further evaluation|additional (imaging|views|evaluation)|"
    r"could be obtained|may be obtained|can be obtained|should be obtained|is warranted|"
    r"clinical correlation|correlate clinically|referral|no (further |routine )?follow[- ]?up|"
    r"routine (annual )?screening|annual screening|screening mammogra\w+ in|"
    r"next (\w+ ){0,3}(mammogra\w*|ct|mri|ultrasound|imaging|study|exam\w*|follow[- ]?up) in|"
    r"(does|do|did) not (require|need|warrant) (further|additional|any)|"
    r"no further (evaluation|work-?up|imaging|follow[- ]?up) (is )?(needed|required|necessary)|"
    r"if clinically (warranted|indicated|concerned)|(could|may|should|can) be (considered|"
    r"performed|obtained)|more sensitive for|would be (helpful|useful))\b",
    re.IGNORECASE)
# How the study was done: dose, fluoroscopy time, lot numbers, contrast given, what the
# images include ("All seven cervical vertebrae are visualized"), where they were sent (PACS).
# An addendum's own words about itself; what it reports ("Addendum: small thrombus within
# the SMA") is a finding like any other.
_TECHNIQUE = re.compile(
    r"\ball ([\w-]+ ){0,8}(are|were) (visualized|included|imaged)\b|\bpacs\b|"
    r"\b(fluoroscopy time|fluoro time|dose|mgy|dlp|ctdi|air kerma|lot (number|no)|"
    r"was administered|were administered|procedure was|consent|"
    r"time-?out|sterile|prepped|draped|lidocaine|anesthe\w+ (was|were)|"
    r"electronically signed|dictated|attestation|i have (personally )?reviewed|"
    r"agree with|(this|an) addendum (is|was|has been) (made|issued|dictated|added)|"
    r"no change to the report)\b",
    re.IGNORECASE)

# A mass of what was put in: "coil mass", "embolic coil mass", "cement mass".
_DEVICE_BEFORE = re.compile(r"\b(coil|coils|cement|packing|embolic|glue|onyx)\s*$",
                            re.IGNORECASE)

# What the beam or the patient did, not the body: "partial obscuration of the diaphragm due
# to posterior beam attenuation", "blurring from motion artifact". An opacity "secondary to
# soft tissue attenuation" on a radiograph stays a finding: overlying tissue is the
# reader's explanation, and the scorer does not second-guess where a shadow lies.
_ARTIFACT_CAUSE = (
    r"(?<!not )\b(due to|from|related to|secondary to|caused by|because of) "
    r"(\w+ ){0,2}((posterior|acoustic|beam|sound) attenuation|shadowing|artifacts?|motion|"
    r"habitus|streak\w*|beam hardening|overlying (bowel )?gas|bowel gas)\b")
_ARTIFACT_AFTER = re.compile(r"[^.;]{0,60}?" + _ARTIFACT_CAUSE, re.IGNORECASE)
_ARTIFACT_IN = re.compile(_ARTIFACT_CAUSE, re.IGNORECASE)


@functools.lru_cache(maxsize=8192)
def _said(pattern: re.Pattern[str], sentence: str) -> bool:
    """Once per sentence: most name no artefact or procedure, and the match after each
    mention is not free."""
    return pattern.search(sentence) is not None


# What a study looks for, named by the finding: "fat and fibrosis assessment", "CT PE
# protocol", "aneurysm surveillance" state no finding.
_PROCEDURE_WORDS = (r"(assessment|evaluation|screening|surveillance|protocol|work-?up|"
                    r"quantification|study)\b")
_PROCEDURE_AFTER = re.compile(r"[\s-]*" + _PROCEDURE_WORDS, re.IGNORECASE)
_PROCEDURE_IN = re.compile(r"\b" + _PROCEDURE_WORDS, re.IGNORECASE)


# A noun phrase the vocabulary does not know counts only when its words name a disease.
_DISEASE = re.compile(
    r"(itis|itides|osis|oses|oma|omas|omata|emia|aemia|pathy|plasia|trophy|ectasis|ectasia|"
    r"cele|celes|iasis|lith|liths|megaly|malacia|penia|rrhage|rrhea|aneurysm|thrombus|"
    r"embolus|emboli|infarct|infarction|abscess|fistula|hernia|tumor|tumour|cyst|cysts|"
    r"polyp|polyps|ulcer|stone|stones|calculus|calculi|nodule|nodules|mass|masses|lesion|"
    r"lesions|fracture|fractures|tear|tears|rupture|leak|collection|syndrome|disease|"
    r"malformation|anomaly|deformity|injury|infection|carcinoma|cancer|sarcoma|lymphoma|"
    r"leukemia|metastasis|metastases|occlusion|stenosis|dissection|hematoma|hemorrhage|"
    r"effusion|edema|opacity|opacities|consolidation|defect|defects|thrombosis|"
    r"obstruction|dilatation|dilation|thickening|narrowing|enlargement|abnormality|"
    r"abnormalities|carcinoid|neoplasm|malignancy)$")


# Words of a phrase that make it no diagnosis: what is done, by whom, with what.
_NOT_A_DIAGNOSIS = frozenset({
    "therapy", "treatment", "correction", "care", "team", "report", "threshold", "mammogram",
    "mammography", "cholangiogram", "examination", "exam", "study", "screening",
    "surveillance", "management", "evaluation", "imaging", "workup", "work-up", "follow-up",
    "telephone", "nurse", "phone", "resident", "radiologist", "physician", "surgeon",
    "service", "department", "page", "call", "referral", "consultation", "discretion",
    "limits", "statement", "addendum", "attestation", "dose", "minutes", "time", "lot",
    "place",
    "pacs", "administration", "protocol", "technique", "comparison", "recommendation",
    "interval", "assessment", "category", "criteria", "score", "radiograph", "radiographs",
    "ultrasound", "views", "view", "images", "sequence", "reformats", "unit", "ward",
    "doppler", "suspicion", "concern", "indication", "question", "request", "order",
    "fraction", "ejection", "velocity", "velocities", "index", "ratio", "psv", "edv", "ef",
    "lvef", "sss", "srs", "sds", "tid", "suv", "hu", "measures", "measuring", "dimension",
    "waveform", "waveforms", "reconstructions", "reconstruction", "quality", "numbering",
    "contrast", "gadolinium", "dtpa", "iodinated", "gadobutrol", "gadoterate", "iohexol",
})


@dataclass(frozen=True)
class Recommendation:
    """What a report advises, in a form two wordings of one advice share."""

    actions: frozenset[str]
    months: frozenset[float]
    text: str
    span: tuple[int, int]


@functools.lru_cache(maxsize=50_000)
def role(sentence: str) -> Role:
    """What a sentence is about: a finding, or the reporting around it."""
    if _HISTORY.search(sentence):
        return "history"
    if _COMMUNICATION.search(sentence):
        return "communication"
    if _RECOMMENDATION.search(sentence) and not (_REPORTED.search(sentence)
                                                 and not _ADVISING.search(sentence)):
        return "recommendation"
    if _TECHNIQUE.search(sentence):
        return "technique"
    if _PROTOCOL.search(sentence) and len(sentence.split()) <= 6:
        return "technique"  # "CT chest PE protocol.": the question, not a finding
    return "finding"


# A follow-up study that was done reports what it showed ("A follow-up CT scan revealed a
# cystic mass"): a finding, unless the sentence also advises.
_REPORTED = re.compile(r"\b(showed|shows|revealed|reveals|demonstrat\w+|depict\w*|confirm\w*|"
                       r"identified|was performed|were performed)\b", re.IGNORECASE)
_ADVISING = re.compile(r"\b(recommend\w*|advis\w*|consider\w*|should|suggested|warranted|"
                       r"(may|could|can|would) (be|help)|if|to (confirm|exclude|assess|"
                       r"evaluate|document))\b", re.IGNORECASE)
_PROTOCOL = re.compile(r"\bprotocol\b", re.IGNORECASE)


def is_clinical(m: Mention, sentence: str = "") -> bool:
    """An assertion about the patient, not a word the reader happened to find."""
    return why_not(m, sentence) is None


def _gas_out_of_place(m: Mention) -> bool:
    return bool(m.anatomy_label) and not _GAS_HOLDING.search(m.anatomy_label.lower())


def _normal_near(m: Mention, sentence: str) -> bool:
    """A normal word next to the mention ("mineralization is preserved", "the kidneys
    enhance symmetrically"), not anywhere in a long sentence."""
    start = m.start - m.sentence[0]
    end = m.end - m.sentence[0]
    if m.how == "vocabulary" and m.concept != "normal_study":
        # around a named finding, not in it: "patent ductus arteriosus" is its own name
        return bool(_NORMAL_SAID.search(sentence[max(0, start - 30):start])
                    or _NORMAL_SAID.search(sentence[end:end + 30]))
    return bool(_NORMAL_SAID.search(sentence[max(0, start - 30):end + 30]))


def why_not(m: Mention, sentence: str = "") -> str | None:
    """The reason a mention is no clinical assertion (a short name, for the benches), or
    None when it is one."""
    if (m.how == "statement" or m.concept.startswith("~about")) and (
            m.polarity == "absent" or _normal_near(m, sentence)):
        # a sentence's main phrase in a normal line ("Facet joints: aligned", "portal and
        # hepatic veins patent"); in a descriptive sentence ("the coronal suture is fused")
        # it stays, as a description (`descriptive`)
        return "normal statement"
    if "rads" in m.concept.lower() or "rads" in m.text.lower() or m.text == "CAD":
        return "category name"  # `scoring.categories` compares the category itself
    if _ANATOMY_PHRASES.search(sentence) and (m.head in ("mass", "air", "calcification")
                                             or "dens" in m.text.lower()):
        return "anatomy"  # "the lateral masses of C1", "scattered fibroglandular density"
    if m.polarity != "absent" and (_CATEGORY_SENTENCE.search(sentence)
                                   or _UNASSESSED.search(sentence)):
        return "category sentence"
    if m.head == "air" and m.polarity != "absent" and not (m.sentence_words & _ABNORMAL_GAS) \
            and not _gas_out_of_place(m):
        return "normal sign"  # "the appendix contains gas", "nonobstructive bowel gas pattern"
    if m.polarity == "present" and m.how != "normal" and m.severity is None and \
            _normal_near(m, sentence) and \
            not _DISEASE.search(m.text.lower().split()[-1] if m.text.split() else ""):
        # "mineralization is preserved"; graded, it is a finding ("marked, homogeneous
        # enhancement")
        return "said normal"
    if m.polarity == "present" and m.text and re.search(
            _NORMAL_BEFORE + re.escape(m.text.lower()), sentence.lower()):
        return "said normal"  # "normal cervical lordosis", "physiologic fluid"
    if m.head == "mass" and sentence and _DEVICE_BEFORE.search(
            sentence[:m.start - m.sentence[0]]):
        return "device words"  # "the coil mass at the ACOM complex", "cement mass"
    end = m.end - m.sentence[0]
    if sentence and _said(_ARTIFACT_IN, sentence) and _ARTIFACT_AFTER.match(sentence, end):
        return "artifact"  # "obscuration of the diaphragm due to posterior beam attenuation"
    if sentence and _said(_PROCEDURE_IN, sentence) and _PROCEDURE_AFTER.match(sentence, end):
        return "reporting words"  # "fibrosis assessment could be considered", "PE protocol"
    if m.how in ("phrase", "statement"):
        words = m.concept.lstrip("~").split()
        if not words or set(words) & _NOT_A_DIAGNOSIS:
            return "reporting words"  # "annual screening mammography", "radioiodine therapy"
    return None


def descriptive(m: Mention) -> bool:
    """Kept, but no finding of its own: a sentence's main phrase (outside the impression,
    where a line ending in a disease word is the diagnosis), a noun phrase that names no
    disease, a bare finding word with no concept of the vocabulary ("prominent", "focus")."""
    if m.kind == "device" or m.how in ("vocabulary", "normal"):
        return False
    if m.concept.startswith("~about"):
        return True
    words = m.concept.lstrip("~").split()
    if m.how == "statement" and m.section != "impression":
        return True
    if m.how in ("phrase", "statement"):
        # an impression's line is its diagnosis: "Bronchial carcinoid" names a disease the
        # vocabulary does not know
        return not (words and _DISEASE.search(words[-1]))
    if m.concept != m.head:
        return False  # head + place made a concept ("renal cyst")
    return m.anatomy is None and (m.how == "adjective" or (m.head or "") in _BARE_HEADS)


# Finding heads too general to be a finding by themselves ("focus", "prominence").
_BARE_HEADS = frozenset({"lesion", "abnormality", "enlargement", "thickening", "thinning",
                         "enhancement", "signal_abnormality", "density_abnormality",
                         "echo_abnormality", "lucency", "sclerosis", "narrowing",
                         "dilatation", "deformity", "compression", "shift", "erosion",
                         "stranding", "inflammation", "calcification", "fluid"})


_CONTENT = re.compile(r"[a-z]{3,}")
_STOP = frozenset({"the", "and", "with", "without", "statement", "about", "of", "in", "for",
                   "there", "this", "that", "from", "are", "was", "were", "has", "have"})


def content_words(text: str) -> frozenset[str]:
    """Word stems (first five letters) a restyling keeps: "effacing" / "effaces"."""
    return frozenset(w[:5] for w in _CONTENT.findall(text.lower()) if w not in _STOP)


def said_alike(a: Mention, b: Mention) -> bool:
    """Same polarity and no contradicting side ("bilateral" covers "left" and "right")."""
    if a.polarity != b.polarity:
        return False
    sides = {a.laterality, b.laterality} - {None, "bilateral"}
    return len(sides) <= 1


def _before_advice(m: Mention, sentence: str) -> bool:
    """A finding stated before the advice in one sentence is still a finding; not one named
    in the advice's condition ("if the mass enlarges, MRI could be obtained")."""
    advice = _RECOMMENDATION.search(sentence)
    if advice is None or m.end - m.sentence[0] > advice.start():
        return False
    return not _CONDITION.search(sentence[:m.start - m.sentence[0]])


_CONDITION = re.compile(r"\b(if|should|unless|in case|in the event)\b", re.IGNORECASE)


def clinical_mentions(mentions: list[Mention], text: str) -> list[Mention]:
    """The mentions that count, from the sentences that state findings."""
    roles: dict[tuple[int, int], Role] = {}
    out = []
    for m in mentions:
        if m.sentence not in roles:
            roles[m.sentence] = role(text[m.sentence[0]:m.sentence[1]])
        sentence = text[m.sentence[0]:m.sentence[1]]
        if roles[m.sentence] == "recommendation" and _before_advice(m, sentence):
            pass  # "Acute cholecystitis; surgical consultation is recommended."
        elif roles[m.sentence] != "finding":
            continue
        if is_clinical(m, sentence):
            _osteopenia(m)
            _declared_benign(m, sentence)
            m.descriptive = descriptive(m)
            out.append(m)
    return out


def treated(mentions: list[Mention], text: str) -> list[Mention]:
    """The findings a history sentence names ("Status post coiling of a left MCA
    aneurysm"): no finding of this study, so they never count, but the other report
    stating the treated aneurysm ("coil mass in the treated aneurysm") missed nothing
    (`Scorer._said_elsewhere`)."""
    return [m for m in mentions if m.polarity == "present"
            and role(text[m.sentence[0]:m.sentence[1]]) == "history"
            and is_clinical(m, text[m.sentence[0]:m.sentence[1]])]


def denials(mentions: list[Mention], text: str) -> list[Mention]:
    """The denied sentence phrases `clinical_mentions` leaves out ("No loss of the fat
    plane", "CT shows no septations"): alone they deny nothing anyone said, but against the
    other report stating the same phrase they are its contradiction (`Scorer._analyse`)."""
    out = []
    for m in mentions:
        sentence = text[m.sentence[0]:m.sentence[1]]
        if m.polarity == "absent" and why_not(m, sentence) == "normal statement" and \
                role(sentence) == "finding" and not _normal_near(m, sentence):
            m.descriptive = True
            out.append(m)
    return out


# Words that make a finding of an incidental kind significant ("complex cyst").
SUSPICIOUS_WORDS = frozenset({"suspicious", "complex", "malignant", "malignancy", "concerning",
                              "worrisome", "enlarging", "pleomorphic", "spiculated",
                              "irregular", "solid", "enhancing", "infiltrative", "necrotic",
                              "obstructing", "septated", "thick-walled", "biopsy"})
# A sentence that declares its finding benign ("a side-branch IPMN without worrisome
# features", "a benign-appearing lymph node"): the reader is told no work-up follows.
_DECLARED_BENIGN = re.compile(
    r"\b(without|no|lacks?|lacking) (any )?(worrisome|suspicious|high[- ]risk|concerning|"
    r"aggressive|malignant) (features?|characteristics|stigmata)\b|"
    r"\bbenign[- ]appearing\b|\bnormal variant\b|\bof no clinical significance\b",
    re.IGNORECASE)


def _declared_benign(m: Mention, sentence: str) -> None:
    """Unless the sentence calls it suspicious in its own words ("a solid mass without
    worrisome features" is still a solid mass)."""
    if "benign" not in m.descriptors and _declares_benign(sentence):
        m.descriptors = (*m.descriptors, "benign")


@functools.lru_cache(maxsize=4096)
def _declares_benign(sentence: str) -> bool:
    declared = _DECLARED_BENIGN.search(sentence)
    if declared is None:
        return False
    rest = sentence[:declared.start()] + sentence[declared.end():]
    return not set(re.findall(r"[\w-]+", rest.lower())) & SUSPICIOUS_WORDS


def _osteopenia(m: Mention) -> None:
    """"Bone mineralization is mildly decreased" is osteopenia, said in a clause the
    vocabulary's phrase "decreased bone mineralization" does not match."""
    if m.change == "decreased" and re.search(r"mineraliz|bone density", m.text, re.IGNORECASE):
        m.concept = m.head = m.label = "osteopenia"
        m.change = None


# ------------------------------------------------------------------ recommendations
_ACTIONS: list[tuple[str, str]] = [
    ("biopsy", r"biops\w*|tissue sampling|fna\b|fine needle aspiration|core needle"),
    ("surgery", r"surg\w*|operative|repair|orthopedic|referral|consult\w*"),
    ("mri", r"\bmri?\b|magnetic resonance"),
    ("ct", r"\bcta?\b|computed tomography"),
    ("ultrasound", r"ultrasound|sonogra\w*|\bus\b"),
    ("pet", r"\bpet\b"),
    ("mammography", r"mammogra\w*|diagnostic (views|workup|imaging)|additional views|"
                    r"spot compression|magnification"),
    ("drainage", r"drain\w*|aspirat\w*"),
    ("reposition", r"withdraw\w*|reposition\w*|retract\w*|advance\w*|remov\w*|replac\w*"),
    ("no follow-up", r"no (further |routine |additional )?(follow[- ]?up|imaging|evaluation)"),
]
_INTERVAL = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:-|to)?\s*(?:\d+(?:\.\d+)?)?\s*(day|week|month|year)s?|"
    r"\b(annual\w*|yearly|short[- ]interval|short[- ]term)\b", re.IGNORECASE)
_UNIT_MONTHS = {"day": 1 / 30, "week": 0.25, "month": 1.0, "year": 12.0}


def read_recommendation(sentence: str, span: tuple[int, int]) -> Recommendation:
    low = sentence.lower()
    actions = frozenset(name for name, pattern in _ACTIONS if re.search(pattern, low))
    if "no follow-up" in actions:
        actions = frozenset({"no follow-up"})
    months: set[float] = set()
    for m in _INTERVAL.finditer(low):
        if m.group(1):
            months.add(float(m.group(1)) * _UNIT_MONTHS[m.group(2)])
        elif m.group(3).startswith(("annual", "yearly")):
            months.add(12.0)
        else:
            months.add(6.0)
    return Recommendation(actions, frozenset(months), sentence.strip(), span)


def recommendations(text: str, sentences: list[tuple[int, int]],
                    advice_spans: Sequence[tuple[int, int]] = ()) -> list[Recommendation]:
    """The recommendations of a report: the advice sentences of its scored sections and
    everything under a RECOMMENDATION: heading."""
    out = []
    for start, end in sentences:
        sentence = text[start:end]
        if role(sentence) == "recommendation":
            out.append(read_recommendation(sentence, (start, end)))
    for start, end in advice_spans:
        if text[start:end].strip():
            out.append(read_recommendation(text[start:end], (start, end)))
    return out


def advice(recs: list[Recommendation]) -> tuple[frozenset[str], frozenset[float]]:
    actions: set[str] = set()
    months: set[float] = set()
    for r in recs:
        actions |= r.actions
        months |= r.months
    return frozenset(actions), frozenset(months)


def recommendation_changed(prelim: list[Recommendation], final: list[Recommendation]) -> bool:
    """Another action or another interval; one report silent about advice the other gives
    counts only when that advice acts (a biopsy, a referral, a follow-up interval)."""
    pa, pm = advice(prelim)
    fa, fm = advice(final)
    if pm and fm and pm != fm:
        return True
    acting = {"biopsy", "surgery", "drainage", "reposition"}
    return bool((pa ^ fa) & acting) or (bool(pm) != bool(fm) and bool(
        (pa | fa) - {"no follow-up"}))
