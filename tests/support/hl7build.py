"""Synthetic ORU^R01 messages for the cases the public samples lack (DESIGN.md §11).

Derived in shape from the dcm4che SR sample (MSH/PID/PV1/ORC/OBR/OBX), with our own values:
P -> F -> C for one accession, `\\.br\\` escapes in FT text, Z-segments, big base64 PDFs,
UTF-8 and 8859/1 text with non-ASCII characters.
"""

from __future__ import annotations

import base64
import itertools

from ingest.escaping import escape

_ids = itertools.count(1)


def oru(
    accession: str,
    status: str,
    text: str,
    *,
    control_id: str | None = None,
    sending_app: str = "RIS",
    sending_facility: str = "RADIOLOGY",
    charset: str = "UNICODE UTF-8",
    version: str = "2.5.1",
    message_type: str = "ORU^R01^ORU_R01",
    processing_id: str = "P",
    value_type: str = "TX",
    status_changed_at: str = "20261126101500",
    patient_id: str = "MRN0001",
    patient_name: str = "Doe^Jane",
    resident: str = "R123&Resident&Rita",
    attending: str = "A456&Attending&Alan",
    extra_segments: tuple[str, ...] = (),
    pdf_bytes: int = 0,
    terminator: str = "\r",
) -> bytes:
    """One ORU^R01. TX text is one OBX per line; FT text is one OBX joined with \\.br\\."""
    control_id = control_id or f"MSG{next(_ids):08d}"
    codec = "latin-1" if charset == "8859/1" else "utf-8"
    placer, filler = (f"PL{accession}", f"FI{accession}") if accession else ("", "")
    obr = ["OBR", "1", placer, filler, "71046^XR CHEST 2 VIEWS^CPT", "",
           "", "20261126090000"] + [""] * 10 + [accession, "", "", "", status_changed_at, "", "",
                                                 status]
    obr += [""] * 6 + [attending, resident]
    segments = [
        f"MSH|^~\\&|{sending_app}|{sending_facility}|RADAGREE|HOSP|20261126101500||"
        f"{message_type}|{control_id}|{processing_id}|{version}||||||{charset}",
        f"PID|1||{patient_id}^^^HOSP^MR||{patient_name}||19700101|F",
        "PV1|1|O",
        f"ORC|RE|{placer}|{filler}",
        "|".join(obr),
    ]
    lines = [line for line in text.split("\n")]
    if value_type == "FT":
        segments.append("OBX|1|FT|18782-3^Radiology Study observation^LN|1|"
                        + "\\.br\\".join(escape(line) for line in lines) + f"||||||{status}")
    else:
        for n, line in enumerate(lines, start=1):
            segments.append(f"OBX|{n}|{value_type}|18782-3^Radiology Study observation^LN|{n}|"
                            f"{escape(line)}||||||{status}")
    if pdf_bytes:
        blob = base64.b64encode(b"%PDF-1.4\n" + b"0" * pdf_bytes).decode("ascii")
        segments.append(f"OBX|{len(segments)}|ED|PDF^Report^L||^Application^PDF^Base64^{blob}"
                        f"||||||{status}")
    segments.extend(extra_segments)
    return (terminator.join(segments) + terminator).encode(codec)


# MDM message structure per event (HL7 v2.5 §9.6): T02..T10 carry content (MDM_T02, OBX
# after TXA), T01/T03/.../T11 notify only (MDM_T01, no OBX).
_MDM_STRUCTURES = {"T02": "MDM_T02", "T04": "MDM_T02", "T06": "MDM_T02", "T08": "MDM_T02",
                   "T10": "MDM_T02", "T01": "MDM_T01", "T03": "MDM_T01", "T05": "MDM_T01",
                   "T07": "MDM_T01", "T09": "MDM_T01", "T11": "MDM_T01"}


# The TXA facts `mdm` fills unless told otherwise (its keyword arguments).
_DOCUMENT = {
    "document_number": "DOC1", "parent_document": "", "sending_app": "TRANSCRIBE",
    "originator": "R123^Resident^Rita", "authenticator": "A456^Attending^Alan",
    "activity_at": "20261126090000", "edited_at": "20261126101500", "version": "2.5.1",
}


def mdm(accession: str, event: str, completion: str, text: str = "", *,
        control_id: str | None = None, with_order: bool = False, value_type: str = "TX",
        **document: str) -> bytes:
    """One MDM document message as the standard lays it out (v2.5 §9.6): MSH, EVN, PID, PV1,
    [ORC, OBR] when `with_order` (the accession then in OBR-18 as in `oru`, else in TXA-14,
    the placer order number), TXA, and for content events one OBX per line of `text`.
    `document` overrides the TXA facts of `_DOCUMENT` (originator, authenticator, ...)."""
    unknown = set(document) - set(_DOCUMENT)
    assert not unknown, f"unknown document facts: {unknown}"
    d = _DOCUMENT | document
    sending_app, version = d["sending_app"], d["version"]
    activity_at, edited_at = d["activity_at"], d["edited_at"]
    authenticator = d["authenticator"]
    control_id = control_id or f"MDM{next(_ids):08d}"
    structure = _MDM_STRUCTURES[event]
    txa = ["TXA", "1", "RAD", "TX", activity_at, authenticator, activity_at, activity_at,
           edited_at, d["originator"], "", "", d["document_number"], d["parent_document"],
           "" if with_order else accession, "", "", completion, "", "", "", "",
           authenticator]
    segments = [
        f"MSH|^~\\&|{sending_app}|RADIOLOGY|RADAGREE|HOSP|{edited_at}||MDM^{event}^{structure}|"
        f"{control_id}|P|{version}||||||UNICODE UTF-8",
        f"EVN|{event}|{edited_at}",
        "PID|1||MRN0001^^^HOSP^MR||Doe^Jane||19700101|F",
        "PV1|1|O",
    ]
    if with_order:
        obr = ["OBR", "1", f"PL{accession}", f"FI{accession}", "71046^XR CHEST 2 VIEWS^CPT",
               "", "", activity_at] + [""] * 10 + [accession]
        segments += [f"ORC|RE|PL{accession}|FI{accession}", "|".join(obr)]
    segments.append("|".join(txa))
    if structure == "MDM_T02":
        for n, line in enumerate(text.split("\n"), start=1):
            segments.append(f"OBX|{n}|{value_type}|18782-3^Radiology Study observation^LN|{n}|"
                            f"{escape(line)}||||||F")
    return ("\r".join(segments) + "\r").encode("utf-8")
