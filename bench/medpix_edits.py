"""Whole-body error injection: MedPix CT/MR teaching cases turned into synthetic preliminaries.

The final is the case as a report (FINDINGS = the radiologist's findings, IMPRESSION = the
case diagnosis); the preliminary is an edited copy. The edits are generic text operations on
any region (sentence order, negation, side, severity words, a normal report, another case of
the region, an added critical finding); none is written for a particular case. Edited texts
live only in memory (MedPix: evaluation only, never copied or shipped). The held-back third
of the cases is not in this folder and is never read.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from functools import cache

from _iu import DATA
from injection import ORGAN_NAMED, SEVERITY_SWAP, restyle, reword

CASES = DATA / "eval" / "medpix-dev" / "cases.jsonl"
REGION = {"Head": "head", "Thorax": "thorax", "Abdomen": "abdomen",
          "Spine and Muscles": "spine/MSK", "Reproductive and Urinary System": "genitourinary"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9•\-(])|\n+")
_NEGATIVE = re.compile(r"\b(no|not|without|negative|absent|absence|normal|unremarkable|intact|"
                       r"resolved|free of|clear)\b", re.IGNORECASE)
_BULLET = re.compile(r"^[\s•\-*·]+")


@cache
def medpix_cases() -> tuple[dict, ...]:
    rows = [json.loads(line) for line in CASES.read_text("utf-8").splitlines() if line.strip()]
    return tuple(r for r in rows if r["findings"].strip() and r["diagnosis"].strip())


_WRAPPED = re.compile(r"(?<![.:;!?])\n(?=[a-z])")


def sentences(findings: str) -> list[str]:
    """Sentences and list items; a line wrapped inside a sentence is joined first."""
    out = []
    for piece in _SENTENCE.split(_WRAPPED.sub(" ", findings)):
        piece = _BULLET.sub("", piece).strip()
        if piece:
            out.append(piece)
    return out


def report(findings: list[str], impression: str) -> str:
    """One finding per line, as the teaching case lists them."""
    body = "\n".join(findings)
    return f"FINDINGS:\n{body}\nIMPRESSION: {impression}"


def final_report(case: dict) -> str:
    return report(sentences(case["findings"]), case["diagnosis"].strip())


def positive(sentence: str) -> bool:
    """A sentence stating something found: not a negative statement, not a bare caption."""
    return len(sentence.split()) >= 3 and not _NEGATIVE.search(sentence)


# --------------------------------------------------------------------------- benign
def identity(case: dict, rng: random.Random) -> str | None:
    return final_report(case)


def benign_rewording(case: dict, rng: random.Random) -> str | None:
    """Sentence order, 'There is no X' <-> 'No X', prose instead of a list."""
    ss = sentences(case["findings"])
    if not reword(ss, rng):
        return None
    return report(ss, case["diagnosis"].strip())


def restyling(case: dict, rng: random.Random) -> str | None:
    """A real restyling (injection.restyle): sentences rewritten, reordered, telegraphic."""
    ss = sentences(case["findings"])
    if not restyle(ss, rng):
        return None
    return report(ss, case["diagnosis"].strip())


# --------------------------------------------------------------------------- errors
def _replace(case: dict, rng: random.Random, change: Callable[[str], str | None]) -> str | None:
    ss = sentences(case["findings"])
    spots = list(range(len(ss)))
    rng.shuffle(spots)
    for k in spots:
        new = change(ss[k])
        if new is not None and new != ss[k]:
            ss[k] = new
            return report(ss, case["diagnosis"].strip())
    return None


_CAPTION = re.compile(r":\s*$|^\d{1,2} \w{3}:")


def _states_only_the_diagnosis(sentence: str, diagnosis: str) -> bool:
    """"These findings are consistent with a pancreatic pseudocyst." under the impression
    "Pancreatic Pseudocyst": left out, the report still states all it said."""
    words = set(re.findall(r"[a-z]{4,}", diagnosis.lower()))
    said = set(re.findall(r"[a-z]{4,}", sentence.lower()))
    return bool(words) and words <= said and len(said - words) <= 4


_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_REPORTING_WORDS = frozenset(re.findall(r"\w+", """
    this that these those which with were was been being have has also noted seen shows show
    showed shown demonstrates demonstrate demonstrated reveals revealed confirms confirmed
    evaluated consistent represents represent again finding findings image images there
    their they from into"""))


def _words(text: str) -> set[str]:
    """Words of four letters or more and every number ("Class III" = "Class 3")."""
    out = set()
    for w in re.findall(r"[a-z]+|\d+(?:\.\d+)?", text.lower()):
        w = _ROMAN.get(w, w)
        if w[0].isdigit() or len(w) >= 4:
            out.add(w)
    return out


def _said_elsewhere(k: int, ss: list[str], diagnosis: str) -> bool:
    """Every word and number of sentence k is in the rest of the case ("This was evaluated
    as a Bosniak Class 3 renal cyst." beside "Bosniak Class III complex renal cyst", a
    sentence repeated under a second sequence): left out, the report still says it all.
    A text test, not the scorer's reading, so the bench does not grade itself."""
    rest = _words(diagnosis).union(*(_words(s) for j, s in enumerate(ss) if j != k))
    own = _words(ss[k]) - _REPORTING_WORDS
    return bool(own) and own <= rest


# Sentences that state no finding, judged from the text alone (the scorer is not asked): how
# the study was done ("CT KUB was performed to evaluate for suspected renal stones"), teaching
# ("MR imaging is useful in ..."), and normal words the negative list lacks ("All the vessels
# are patent", "Nor is there ..."). A sentence that also reports what an image shows stays.
_NORMAL_WORDS = re.compile(
    r"^nor\b|\b(is|are|remains?|appears?) (all )?(patent|preserved|symmetric|symmetrical)\b|"
    r"\bare all patent\b|\bsymmetric aeration\b|\bage[- ]appropriate\b", re.IGNORECASE)
_BUT = re.compile(r"\b(however|but|except|although)\b", re.IGNORECASE)
_HOW_DONE = re.compile(
    r"\b(was|were) (performed|obtained|administered|recommended|recalled|removed|reimaged)\b|"
    r"\b(is|are) (useful|commonly accepted)\b|\bimages? (are|is|was|were) "
    r"(demonstrated|shown|presented|from|taken)\b|\bprotocol\b", re.IGNORECASE)
_SHOWS = re.compile(r"\b(demonstrat\w*|show\w*|reveal\w*|seen|noted|consistent|suggest\w*|"
                    r"confirm\w*|depict\w*|compatible)\b", re.IGNORECASE)
_TECHNIQUE_WORDS = frozenset({"ct", "mri", "mr", "film", "films", "chest", "abdominal", "abdomen",
                              "pelvis", "and", "with", "without", "contrast", "radiograph",
                              "radiographs", "pet", "ultrasound", "w", "wo"})


def states_no_finding(sentence: str) -> bool:
    """A sentence left out without leaving out a finding (see _HOW_DONE)."""
    if _NORMAL_WORDS.search(sentence) and not _BUT.search(sentence):
        return True
    if set(re.findall(r"[a-z]+", sentence.lower())) <= _TECHNIQUE_WORDS:
        return True  # a caption: "Chest Film and CT", "Abdominal CT (with contrast):1."
    return bool(_HOW_DONE.search(sentence)) and not _SHOWS.search(sentence)


def omission_spots(case: dict) -> list[int]:
    """Sentences that state a finding: not a caption ("Radiograph of L-spine:"), not a
    sentence of technique or teaching, not a sentence that only restates the impression's
    diagnosis or the rest of the case."""
    ss = sentences(case["findings"])
    diagnosis = case["diagnosis"]
    return [k for k, s in enumerate(ss) if positive(s) and not _CAPTION.search(s)
            and not states_no_finding(s)
            and not _states_only_the_diagnosis(s, diagnosis)
            and not _said_elsewhere(k, ss, diagnosis)]


def _without(case: dict, k: int) -> str:
    ss = sentences(case["findings"])
    del ss[k]
    return report(ss, case["diagnosis"].strip())


def omission(case: dict, rng: random.Random) -> str | None:
    """Drop one sentence that states a finding, drawn at random."""
    spots = omission_spots(case)
    return _without(case, rng.choice(spots)) if spots else None


def omissions(case: dict) -> list[str]:
    """Each sentence that states a finding dropped in turn: one pair per sentence, so the
    rate does not hang on which sentence a seed draws (cells of 36 cases move 3% a pair)."""
    return [_without(case, k) for k in omission_spots(case)]


_LABEL = re.compile(r"^((?:[A-Za-z0-9/ ]{1,25}|Image \d+):\s*|[A-Za-z/ ]{1,20}\s?-\s+)")
_REPORTING = re.compile(r"\b(demonstrates?|demonstrated|shows?|showed|shown|reveals?|revealed|"
                        r"confirms?|confirmed|depicts?|depicted)\s+(?:(?:a|an|the)\s+)?(?!no\b)")
_DETERMINER = re.compile(r"^(the|a|an|this|these|those|its|their|it|they|although|"
                         r"additionally|also|all|however|otherwise|then|note|both|each|some|"
                         r"such)\b", re.IGNORECASE)
_TECHNIQUE = re.compile(r"\b(was|were) (performed|obtained|acquired|done)\b|^(CT|MRI?|MRA|"
                        r"imaging|images?|radiographs?|scans?|views?|study|ultrasound|US|IV|contrast|axial|"
                        r"coronal|sagittal|follow[- ]?up|post|scout|PET|SPECT|rectal)\b",
                        re.IGNORECASE)


def _negate(s: str) -> str | None:
    """The sentence as a report would deny it, or None where no grammatical denial exists.

    A denial is written the way reports write one: "There is no X", "X is not seen",
    "CT demonstrates no X", a telegraphic "No X". A sentence that opens with a determiner
    ("The left IVC extends ...") or is about the study itself ("MRI was obtained") has no
    such form; prefixing "No" there ("No the ...", "No MRI was obtained") negates no finding.
    """
    label = _LABEL.match(s)  # "CT: large mass" -> "CT: No large mass"
    prefix, body = (s[:label.end()], s[label.end():]) if label else ("", s)
    if not body.strip():
        return None
    for pattern, repl in ((r"^There (is|are) (?:(?:a|an|the)\s+)?(?!no )", r"There \1 no "),
                          (r"\b(is|are) (?:also )?(seen|noted|present|identified)\b",
                           r"\1 not \2")):
        if re.search(pattern, body):
            return prefix + re.sub(pattern, repl, body, count=1)
    reported = _REPORTING.search(body)
    if reported and re.match(r"(the )?following|absence|lack|evidence|distribution|presence",
                             body[reported.end():], re.IGNORECASE):
        return None  # "revealed the following:", "demonstrates absence of": no finding to deny
    if reported:
        return prefix + _REPORTING.sub(lambda m: f"{m.group(1)} no ", body, count=1)
    if _DETERMINER.match(body) or _TECHNIQUE.search(body):
        return None
    return prefix + "No " + body[0].lower() + body[1:]


def negation_of_finding(case: dict, rng: random.Random) -> str | None:
    return _replace(case, rng, lambda s: _negate(s) if positive(s) else None)


def negation_of_diagnosis(case: dict, rng: random.Random) -> str | None:
    diagnosis = case["diagnosis"].strip()
    return report(sentences(case["findings"]), "No " + diagnosis[0].lower() + diagnosis[1:])


def laterality_swap(case: dict, rng: random.Random) -> str | None:
    def swap(s: str) -> str | None:
        left = re.search(r"\bleft\b", s, re.I)
        right = re.search(r"\bright\b", s, re.I)
        if bool(left) == bool(right) or not positive(s):
            return None
        table = {"left": "right", "right": "left", "Left": "Right", "Right": "Left",
                 "LEFT": "RIGHT", "RIGHT": "LEFT"}
        return re.sub(r"\b(left|right|Left|Right|LEFT|RIGHT)\b", lambda m: table[m.group(1)], s)

    return _replace(case, rng, swap)


def severity_swap(case: dict, rng: random.Random) -> str | None:
    words = "|".join(SEVERITY_SWAP)

    def swap(s: str) -> str | None:
        m = re.search(rf"\b({words})\b{ORGAN_NAMED}", s, re.I)
        if not m or not positive(s):
            return None
        word = m.group(1)
        new = SEVERITY_SWAP[word.lower()]
        new = new.capitalize() if word[0].isupper() else new
        return s[:m.start()] + new + s[m.end():]

    return _replace(case, rng, swap)


NORMAL_REPORTS = {
    "head": ("No acute intracranial abnormality. The ventricles and sulci are normal. "
             "No mass effect.", "Normal examination of the head."),
    "thorax": ("The lungs are clear. No pleural effusion. The heart and mediastinum are "
               "normal.", "No acute cardiopulmonary abnormality."),
    "abdomen": ("The liver, spleen, pancreas and kidneys are unremarkable. No free fluid.",
                "No acute abdominal abnormality."),
    "spine/MSK": ("Normal alignment. No fracture. The soft tissues are unremarkable.",
                  "Normal examination."),
    "genitourinary": ("The kidneys, bladder and pelvic organs are unremarkable.",
                      "No acute abnormality."),
}


def called_normal(case: dict, rng: random.Random) -> str | None:
    findings, impression = NORMAL_REPORTS[REGION[case["location_category"]]]
    return f"FINDINGS: {findings}\nIMPRESSION: {impression}"


def other_case(case: dict, rng: random.Random) -> str | None:
    same = [c for c in medpix_cases() if c["location_category"] == case["location_category"]
            and c["id"] != case["id"]]
    return final_report(rng.choice(same))


CRITICAL_ADDITIONS = {
    "head": ["Acute left subdural hematoma with 6 mm of midline shift.",
             "Subarachnoid hemorrhage in the basal cisterns.",
             "Large acute infarct in the right middle cerebral artery territory.",
             "Uncal herniation."],
    "thorax": ["Large right pneumothorax.", "Bilateral pulmonary emboli.",
               "Type A aortic dissection.", "Spiculated 3 cm mass in the left upper lobe."],
    "abdomen": ["Free intraperitoneal air.", "Small bowel obstruction.",
                "Acute appendicitis.", "Splenic laceration with hemoperitoneum."],
    "spine/MSK": ["Severe spinal cord compression at T10.",
                  "Acute burst fracture of L1 with retropulsion.",
                  "Displaced fracture of the femoral neck."],
    "genitourinary": ["Left testicular torsion.", "Right ovarian torsion.",
                      "Ruptured ectopic pregnancy with hemoperitoneum."],
}


def added_critical(case: dict, rng: random.Random) -> str | None:
    options = [s for s in CRITICAL_ADDITIONS[REGION[case["location_category"]]]
               if s.split()[-1].lower().strip(".") not in case["findings"].lower()]
    if not options:
        return None
    sentence = rng.choice(options)
    ss = sentences(case["findings"])
    return report([*ss, sentence], f"{sentence} {case['diagnosis'].strip()}")


BENIGN: dict[str, Callable[[dict, random.Random], str | None]] = {
    "identity": identity,
    "benign_rewording": benign_rewording,
    "restyling": restyling,
}
ERRORS: dict[str, Callable[[dict, random.Random], str | None]] = {
    "omission": omission,
    "negation_of_finding": negation_of_finding,
    "negation_of_diagnosis": negation_of_diagnosis,
    "laterality_swap": laterality_swap,
    "severity_swap": severity_swap,
    "called_normal": called_normal,
    "other_case": other_case,
    "added_critical": added_critical,
}
# Edits that make several preliminaries of one case.
EVERY: dict[str, Callable[[dict], list[str]]] = {
    "omission_each": omissions,
}
