"""The code system and identifier systems radagree writes into FHIR.

No LOINC code exists for preliminary-vs-final agreement (notes/fhir-mapping.md), so the codes
are ours, published as the CodeSystem resource shipped in `data/` (also documented in the
README); `code.text` is always set so a consumer that cannot resolve it can still display it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

CODE_SYSTEM = "https://radagree.org/fhir/CodeSystem/report-agreement"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PROVENANCE_AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
# The systems of the whole-body vocabulary's sources, by the prefix scoring writes ("radlex|").
SOURCE_SYSTEMS = {
    "radlex": "http://radlex.org",
    "hpo": "http://purl.obolibrary.org/obo/hp.owl",
    "oifm": "https://github.com/openimagingdata/findingmodels",
    "gamuts": "http://gamuts.net",
    "radelement": "https://radelement.org",
}
# radagree's modality labels as DICOM modality codes: XR is digital radiography, FL is
# radio fluoroscopy.
DICOM_MODALITY = {"CT": ("CT", "Computed Tomography"), "MR": ("MR", "Magnetic Resonance"),
                  "US": ("US", "Ultrasound"), "XR": ("DX", "Digital Radiography"),
                  "NM": ("NM", "Nuclear Medicine"), "MG": ("MG", "Mammography"),
                  "FL": ("RF", "Radio Fluoroscopy"), "OT": ("OT", "Other")}
# The body regions as RadLex structures (breast: text only).
REGION_RADLEX = {"head": "RID9080", "neck": "RID7488", "chest": "RID1243", "abdomen": "RID56",
                 "pelvis": "RID2507", "spine": "RID7741", "upper_limb": "RID1850",
                 "lower_limb": "RID2638", "whole_body": "RID39569"}


@cache
def code_system() -> dict[str, Any]:
    """The CodeSystem resource, as shipped."""
    data = resources.files("outbound") / "data" / "codesystem-report-agreement.json"
    return json.loads(data.read_text(encoding="utf-8"))


@cache
def display(code: str) -> str:
    for concept in code_system()["concept"]:
        if concept["code"] == code:
            return str(concept["display"])
    raise KeyError(f"{code!r} is not in {CODE_SYSTEM}")


def coding(code: str) -> dict[str, Any]:
    """A CodeableConcept with our coding and the display as text."""
    return {"coding": [{"system": CODE_SYSTEM, "code": code, "display": display(code)}],
            "text": display(code)}
