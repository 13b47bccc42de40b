"""The exam as context: modality and body region from the procedure (OBR-4) or the report.

The body region decides what a bare word means ("effusion" on a chest radiograph is pleural,
on a knee MR articular; "no acute abnormality" of a CT head denies intracranial findings) and
which findings are critical. Both labels come from small fixed sets, so they can be Prometheus
labels and FHIR codes. The procedure wins; without one (the CLI, an order with a code only)
the report's own words ("CT of the abdomen and pelvis") and then the anatomy of its findings
say it.
"""

from __future__ import annotations

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

_MODALITY_WORDS: list[tuple[str, str]] = [
    ("MG", r"mammo\w*|tomosynthesis|\bmg\b"),
    ("NM", r"\bnm\b|nuclear|scintigra\w*|\bpet\b|spect|bone scan|\bv/?q\b|hida|muga|"
           r"octreotide|dat ?scan"),
    ("FL", r"\bfl\b|\brf\b|fluoro\w*|esophagram|swallow|barium|vcug|\bhsg\b|enema|"
           r"arthrogram|myelogram"),
    ("MR", r"\bmri?\b|\bmra\b|\bmrv\b|mrcp|magnetic resonance|\bmr[a-z]?\b"),
    ("CT", r"\bcta?\b|\bctpa\b|computed tomograph\w*|\bcat scan\b|\bct[a-z]?\b"),
    ("US", r"\bus\b|ultrasound|sonogra\w*|doppler|duplex|transvaginal|\becho\b"),
    ("XR", r"\bxr\b|x-?ray|radiograph\w*|\bcr\b|\bdx\b|\bcxr\b|\bkub\b|\bfilm\w*|"
           r"\b\d+ ?views?\b|\bpa and lat\w*|\bap\b|\bpa\b"),
]
_REGION_WORDS: list[tuple[str, str]] = [
    ("spine", r"\b[ctl]-?spine\b|spin(e|al)\b|cervical spine|thoracic spine|lumbar|"
              r"lumbosacral|sacrum|coccyx|myelogram|vertebra\w*"),
    ("breast", r"breast|mammo\w*"),
    ("head", r"\bhead\b|brain|skull|cranial|cranium|orbits?\b|sinus(es)?\b|facial|\bface\b|"
             r"\biacs?\b|temporal bone|pituitary|sella|stroke|intracranial|mastoid"),
    ("neck", r"\bneck\b|thyroid|larynx|laryngeal|carotid|parotid|soft tissues? of the neck"),
    ("chest", r"chest|thorax|thoracic|lungs?\b|\bcxr\b|pulmonary|cardiac|heart|\bribs?\b|"
              r"\bctpa\b|coronary|mediastin\w*"),
    ("abdomen", r"abdom\w*|\babd\b|liver|hepatic|pancrea\w*|kidneys?|renal|\bruq\b|"
                r"gallbladder|append\w*|enterograph\w*|urogra\w*|\bkub\b|spleen|biliary|"
                r"mrcp|bowel"),
    ("pelvis", r"pelvi[sc]|bladder|prostat\w*|uter\w*|ovar\w*|scrot\w*|testi\w*|"
               r"transvaginal|obstetric|\bob\b|pregnan\w*|rectum|rectal"),
    ("upper_limb", r"shoulder|humer\w*|elbow|forearm|wrist|\bhand\b|fingers?|thumb|"
                   r"clavic\w*|upper extremity|upper limb|\barm\b|scaphoid"),
    ("lower_limb", r"\bhips?\b|femur|femoral|thigh|knees?\b|tibia\w*|fibula\w*|\blegs?\b|"
                   r"ankles?\b|\bfoot\b|\bfeet\b|\btoes?\b|calcane\w*|lower extremity|"
                   r"lower limb|achilles"),
    ("whole_body", r"whole body|skull base to (mid ?)?thigh|total body"),
]


class Exam(BaseModel):
    """What the scorer knew of the exam, and where it learnt it."""

    model_config = ConfigDict(frozen=True)

    modality: Modality = "unknown"
    region: Region = "unknown"
    procedure: str | None = None
    source: Literal["procedure", "report", "findings", "unknown"] = "unknown"


def _named(text: str, words: list[tuple[str, str]]) -> list[str]:
    """The labels whose words the text names, in order of first mention."""
    low = text.lower()
    hits = []
    for label, pattern in words:
        m = re.search(pattern, low)
        if m:
            hits.append((m.start(), label))
    return [label for _, label in sorted(hits)]


def _modality(text: str) -> str:
    """The modality named first ("CT chest ... compared with radiographs" is a CT)."""
    return next(iter(_named(text, _MODALITY_WORDS)), "unknown")


def _regions(text: str) -> list[str]:
    """Regions named in the text, in order of first mention."""
    return _named(text, _REGION_WORDS)


def _one(regions: list[str]) -> str:
    if not regions:
        return "unknown"
    if "whole_body" in regions or len(set(regions) - {"pelvis"}) >= 3:
        return "whole_body"
    if set(regions) == {"abdomen", "pelvis"}:
        return "abdomen"
    return regions[0]


def procedure_text(procedure: str) -> str:
    """OBR-4 as stored ("74177^CT ABD&PELVIS W CONTRAST^CPT"): the words, not the codes."""
    parts = [p for p in re.split(r"[\^~]", procedure) if re.search(r"[A-Za-z]{2}", p)]
    return " ".join(parts).replace("&", " and ")


def from_procedure(procedure: str | None) -> Exam | None:
    if not procedure or not procedure.strip():
        return None
    text = procedure_text(procedure)
    modality, region = _modality(text), _one(_regions(text))
    if modality == "unknown" and region == "unknown":
        return None
    return Exam(modality=modality, region=region, procedure=procedure[:200], source="procedure")


def from_report(text: str) -> Exam | None:
    """"CT of the abdomen and pelvis" in the first lines of the report (technique, title)."""
    head = text[:400].rsplit(None, 1)[0] if len(text) > 400 else text  # whole words only
    modality, region = _modality(head), _one(_regions(head))
    if region == "unknown":
        return None
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
