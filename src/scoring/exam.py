"""The exam as context: modality and body region from the procedure (OBR-4) or the report.

The body region decides what a bare word means ("effusion" on a chest radiograph is pleural,
on a knee MR articular; "no acute abnormality" of a CT head denies intracranial findings) and
which findings are critical. Both labels come from small fixed sets, so they can be Prometheus
labels and FHIR codes. The procedure wins; without one (the CLI, an order with a code only)
the report's own words ("CT of the abdomen and pelvis") and then the anatomy of its findings
say it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

Modality = Literal["CT", "MR", "US", "XR", "NM", "MG", "FL", "OT", "unknown"]
Region = Literal["head", "neck", "chest", "breast", "abdomen", "pelvis", "spine", "upper_limb",
                 "lower_limb", "whole_body", "unknown"]
MODALITIES: tuple[str, ...] = get_args(Modality)
REGIONS: tuple[str, ...] = get_args(Region)

# The structure that stands for a whole region (RadLex ids): where a region-wide statement
# ("no acute abnormality") is placed.
REGION_ROOT = {"head": "RID9080", "neck": "RID7488", "chest": "RID1243", "breast": "RA:breast",
               "abdomen": "RID56", "pelvis": "RID2507", "spine": "RID7741",
               "upper_limb": "RID1850", "lower_limb": "RID2638"}

# Each list is read in its order, and what a pattern matches is used up: the words of an
# earlier, more particular pattern are not read again by a later one. That is why "thoracic
# spine" is the spine and not the chest, "skull base to thigh" the whole body and not the head
# and the leg, and "PET/CT" nuclear medicine rather than CT. Among what is left the label named
# first wins. Contrast (W/, W/O, WO, W/WO), laterality (RT, LT, BILAT, UNILAT) and extent
# (LIMITED, COMPLETE) name neither a modality nor a region and are simply not read.
#
# The Modality literal has no XA: conventional angiography and interventional procedures (XA,
# IR, "angiogram") are done under fluoroscopy, so they are FL. Bone densitometry (DEXA/DXA) is an
# X-ray method and is XR; an echocardiogram (ECHO, TTE, TEE) is US.
_MODALITY_WORDS: list[tuple[str | None, str]] = [
    ("NM", r"\b(pet|spect)\s*[/-]?\s*(ct|mri?)\b|\b(ct|mri?)\s*[/-]\s*(pet|spect)\b|"
           r"\bnm\b|nuclear|scintigra\w*|lymphoscint\w*|\bpet\b|\bspect\b|bone scan|"
           r"\bv\s*/?\s*q\b|vent\w*\s*(/|and)\s*perf\w*|\bhida\b|\bmuga\b|\bmpi\b|\bfdg\b|"
           r"octreotide|dat ?scan|sestamibi|technetium|\btc-?99m?\b|thallium|\bmag\s*-?3\b|"
           r"\bdtpa\b|\bmibg\b|gastric emptying|thyroid uptake"),
    ("MG", r"(\bdx\s+)?mammo\w*|tomosynthesis|\bdbt\b|(?<![\d.]\s)(?<![\d.])\bmg\b"),
    ("FL", r"\bfl\b|\brf\b|\bxa\b|\bir\b|fluoro\w*|esophagram|swallow|barium|\bvcug\b|\bhsg\b|"
           r"enema|arthrogram|myelogram|angio(gra\w*)?\b|arteriogra\w*|venogra\w*|"
           r"interventional|\bercp\b|cholangiogra\w*|hysterosalping\w*|cystogra\w*|"
           r"cystourethrogra\w*|urethrogra\w*|sialogra\w*|fistulogra\w*|defecogra\w*|"
           r"\bugi\b|upper gi\b|small bowel follow|\bsbft\b"),
    ("MR", r"\bmr[a-z]{0,2}\b|magnetic resonance"),
    ("CT", r"\bct[a-z]?\b|\bctpa\b|computed tomograph\w*|\bcat scan\b|\b(nc|hr|ce|cb|ld)ct\b"),
    ("US", r"\bus\b|\busg\b|ultrasound|ultrasonogra\w*|sonogra\w*|doppler|duplex|"
           r"transvaginal|endovaginal|\becho(cardiogra\w*)?\b|\btte\b|\btee\b"),
    ("XR", r"\bxr\b|x-?ray|radiograph\w*|\bcr\b|\bdx\b|\bcxr\b|\bkub\b|\bfilm\w*|"
           r"\b\d+(-\d+)?\+?\s*v(iews?)?\b|\bpa\s*(and|/|&)?\s*lat\w*|\bap\b|\bpa\b|"
           r"portable|\bport\b(?=\s*$|\s+(chest|abd\w*|\d|ap\b|views?\b))|"
           r"\bdexa\b|\bdxa\b|bone densit\w*|densitometry|skeletal survey|bone survey"),
]
# The region words, strongest first (see above). A None label uses up words that would mislead:
# "transabdominal" is the way in of a pelvic ultrasound, not the abdomen; the exam a spine is
# "reformatted from" or the one it is "compared with" is another exam.
_REGION_WORDS: list[tuple[str | None, str]] = [
    (None, r"trans-?abdominal\w*|\b(reformat\w*|reconstruct\w*|derived) from [^)\n]*|"
           r"\bcompar\w* (with|to) [^.;)\n]*"),
    ("whole_body", r"whole[- ]body|total[- ]body|skull base to (mid[- ]?)?thighs?|"
                   r"vertex to (toes?|thighs?)|eyes? to thighs?|skeletal survey|bone survey|"
                   r"metastatic survey"),
    ("spine", r"\b(cervical|thoracic|lumbar|sacral|[ctl])(\s*(/|-|,|and|&)\s*"
              r"(cervical|thoracic|lumbar|sacral|[ctl]))*[\s-]*spines?\b|"
              r"\b(cervico|thoraco)(thoracic|lumbar)\w*|\bspin(e|al)\b|lumbar|lumbosacral|"
              r"sacrum|sacral|coccyx|myelogra\w*|vertebra\w*"),
    ("breast", r"breasts?|mammo\w*"),
    ("head", r"\bhead\b|brain|skull|cranial|cranium|orbits?\b|sinus(es)?\b|facial|\bface\b|"
             r"\biacs?\b|temporal bone|pituitary|sella|stroke|intracranial|mastoid|cerebr\w*|"
             r"cerebell\w*|maxillofacial|mandib\w*|\btmj\b"),
    ("neck", r"\bneck\b|thyroid|larynx|laryn\w*|carotids?|parotid|salivary|submandibular|"
             r"pharyn\w*|vocal cords?|vertebral arter\w*|soft tissues? of the neck"),
    ("chest", r"chest|thorax|thoracic|\blungs?\b|\bcxr\b|pulmonary|cardiac|cardio\w*|heart|"
              r"\bribs?\b|\bctpa\b|coronar\w*|mediastin\w*|myocard\w*|\bmpi\b|\bmuga\b|"
              r"\bv\s*/?\s*q\b|vent\w*\s*(/|and)\s*perf\w*|ventilation|esophag\w*|sternum|"
              r"sternal|aortic (arch|valve|root)|ascending aorta|\becho(cardiogra\w*)?\b|"
              r"\btte\b|\btee\b|\bpe (protocol|study)\b|\btavr\b|\btavi\b"),
    ("abdomen", r"abdom\w*|\babdo?\b|\bliver|hepat\w*|pancrea\w*|kidneys?|renal|nephr\w*|"
                r"\bruq\b|\bluq\b|gallbladder|biliary|cholang\w*|\bt-?tube\b|\bercp\b|mrcp|"
                r"\bhida\b|append\w*|enterogra\w*|enteroclysis|urogra\w*|\bkub\b|splen\w*|"
                r"bowel|\bugi\b|upper gi\b|\bsbft\b|gastric|gastro(?!cnem)\w*|stomach|"
                r"duoden\w*|colon\w*|adrenal\w*|retroperiton\w*|mesenter\w*|\bmag\s*-?3\b|"
                r"paracentesis|meckel\w*"),
    ("pelvis", r"pelv\w*|\bbladder|prostat\w*|\buter\w*|ovar\w*|adnex\w*|scrot\w*|testi\w*|"
               r"testes|transvag\w*|endovag\w*|obstetric\w*|\bob\b|pregnan\w*|fetal|fetus|"
               r"gestation\w*|trimester|rectum|rectal|\bhsg\b|hysterosalping\w*|"
               r"hysterogra\w*|cystogra\w*|\bvcug\b|cystourethro\w*|urethr\w*|perianal|"
               r"\banal\b|sacroiliac|\bsi joints?\b|inguinal|groin|fibroids?|endometri\w*|"
               r"cervix"),
    ("upper_limb", r"shoulders?|humer\w*|elbows?|forearms?|wrists?|\bhands?\b|fingers?|"
                   r"thumbs?|clavic\w*|scapul\w*|\bac joints?\b|scaphoid|\bradius\b|\bulna\w*|"
                   r"carpal|metacarp\w*|upper (extremit\w*|ext|limbs?)\b|\bues?\b|\barms?\b|"
                   r"basilic|brachial\w*"),
    ("lower_limb", r"\bhips?\b|femur|femor\w*|femoral|thighs?|knees?\b|patell\w*|tibia\w*|"
                   r"fibula\w*|\blegs?\b|ankles?\b|\bfoot\b|\bfeet\b|\btoes?\b|calcane\w*|"
                   r"\bheels?\b|achilles|metatars\w*|\btars\w*|popliteal|\bcalf\b|\bcalves\b|"
                   r"lower (extremit\w*|ext|limbs?)\b|\bles?\b|\blex\b"),
]
# Words that only hint at a region, read when no word above names one: an IR line's tip lies
# in the chest, an aorta without "chest" or "arch" is most often the abdominal one, a bone scan
# or a PET without a part named covers the body.
_REGION_HINTS: list[tuple[str | None, str]] = [
    ("chest", r"\bpicc\b|central (venous )?(line|catheter)|(hemo)?dialysis catheter|"
              r"tunnell?ed\s+(\w+\s+)?catheter|port-?a-?cath|\bsvc\b|cavoatrial"),
    ("abdomen", r"aort\w*|\bivc\b|\baaa\b|\btips\b"),
    ("lower_limb", r"run-?off"),
    ("whole_body", r"\bpet\b|bone scan|\bfdg\b|octreotide|\bmibg\b"),
]
# A modality that says its region by itself ("MG DIGITAL DIAGNOSTIC UNILAT").
_IMPLIED_REGION = {"MG": "breast"}


class Exam(BaseModel):
    """What the scorer knew of the exam, and where it learnt it."""

    model_config = ConfigDict(frozen=True)

    modality: Modality = "unknown"
    region: Region = "unknown"
    procedure: str | None = None
    source: Literal["procedure", "report", "findings", "unknown"] = "unknown"


def _named(text: str, words: list[tuple[str | None, str]]) -> list[str]:
    """The labels whose words the text names, in order of first mention.

    Each pattern's matches are blanked out before the next pattern is read, so a phrase
    counts for the first (most particular) label only; blanking keeps the offsets."""
    low = text.lower()
    first: dict[str, int] = {}
    for label, pattern in words:
        spans = [m.span() for m in re.finditer(pattern, low) if m.end() > m.start()]
        if not spans:
            continue
        if label is not None:
            first.setdefault(label, spans[0][0])
            first[label] = min(first[label], spans[0][0])
        for start, end in spans:
            low = low[:start] + " " * (end - start) + low[end:]
    return sorted(first, key=first.__getitem__)


def _modality(text: str) -> str:
    """The modality named first ("CT chest ... compared with radiographs" is a CT)."""
    return next(iter(_named(text, _MODALITY_WORDS)), "unknown")


def _regions(text: str) -> list[str]:
    """Regions named in the text, in order of first mention; the hints only when none is."""
    return _named(text, _REGION_WORDS) or _named(text, _REGION_HINTS)


def _one(regions: list[str]) -> str:
    """One region for the exam: several parts named are the whole body, the abdomen and the
    pelvis together are read as the abdomen, otherwise the part named first."""
    if not regions:
        return "unknown"
    if "whole_body" in regions or len(set(regions) - {"pelvis"}) >= 3:
        return "whole_body"
    if set(regions) == {"abdomen", "pelvis"}:
        return "abdomen"
    return regions[0]


@functools.lru_cache(maxsize=4096)
def _exam(text: str) -> tuple[str, str]:
    """(modality, region) the words say, the modality's own region when no part is named."""
    modality, region = _modality(text), _one(_regions(text))
    if region == "unknown":
        region = _IMPLIED_REGION.get(modality, "unknown")
    return modality, region


def procedure_text(procedure: str) -> str:
    """OBR-4 as stored ("74177^CT ABD&PELVIS W CONTRAST^CPT"): the words, not the codes."""
    parts = [p for p in re.split(r"[\^~]", procedure) if re.search(r"[A-Za-z]{2}", p)]
    return " ".join(parts).replace("&", " and ")


def from_procedure(procedure: str | None) -> Exam | None:
    """The exam the order names (RIS style: "MRI T SPINE W/WO", "XR CHEST 2V PORT")."""
    if not procedure or not procedure.strip():
        return None
    modality, region = _exam(procedure_text(procedure))
    if modality == "unknown" and region == "unknown":
        return None
    return Exam(modality=modality, region=region, procedure=procedure[:200], source="procedure")


# The report's title line ("EXAM: MRI THORACIC SPINE WITHOUT CONTRAST"): it names the exam and
# nothing else, where the history or the comparison around it name other parts and exams.
_TITLE = re.compile(r"^[ \t]*(exam(ination)?|study|title|type of (exam|study))[ \t]*[:\-][ \t]*"
                    r"(?P<title>\S.*)$", re.IGNORECASE | re.MULTILINE)
_PROCEDURE_TITLE = re.compile(r"^[ \t]*procedure[ \t]*:[ \t]*(?P<title>\S.*)$",
                              re.IGNORECASE | re.MULTILINE)
# Lines of the report's head that speak of the patient or of other exams, not of this one.
_NOT_THE_EXAM = re.compile(r"^[ \t]*(clinical )?(history|hx|indications?|reason( for (exam|study))?"
                           r"|comparisons?|priors?|clinical( information)?)\b[^:\n]{0,20}:.*$",
                           re.IGNORECASE | re.MULTILINE)


def from_report(text: str) -> Exam | None:
    """"CT of the abdomen and pelvis" in the first lines of the report (title, technique).

    The title line is trusted first; without one, the head of the report less its history
    and comparison lines (a cervical spine MR's history of arm numbness is not the arm)."""
    head = text[:400].rsplit(None, 1)[0] if len(text) > 400 else text  # whole words only
    title = _TITLE.search(text[:1000]) or _PROCEDURE_TITLE.search(head)
    title_modality = "unknown"
    if title:
        title_modality, region = _exam(title.group("title"))
        if region != "unknown":
            return Exam(modality=title_modality, region=region, source="report")
    modality, region = _exam(_NOT_THE_EXAM.sub(" ", head))
    if region == "unknown":
        modality, region = _exam(head)
    if region == "unknown":
        return None
    if title_modality != "unknown":
        modality = title_modality
    return Exam(modality=modality, region=region, source="report")


def from_findings(regions: Iterable[str]) -> Exam | None:
    """The body region most of the report's findings lie in."""
    counts = Counter(r for r in regions if r not in ("unknown", "whole_body"))
    if not counts:
        return None
    return Exam(region=counts.most_common(1)[0][0], source="findings")


def merge(first: Exam | None, *fallbacks: Exam | None) -> Exam:
    """The first known modality and the first known region, in order of trust."""
    known = [e for e in (first, *fallbacks) if e is not None]
    if not known:
        return Exam()
    modality = next((e.modality for e in known if e.modality != "unknown"), "unknown")
    region_from = next((e for e in known if e.region != "unknown"), None)
    return Exam(modality=modality, region=region_from.region if region_from else "unknown",
                procedure=known[0].procedure,
                source=region_from.source if region_from else known[0].source)
