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
