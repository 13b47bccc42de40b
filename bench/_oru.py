"""Realistic ORU^R01 radiology messages (3-5 KB) built at run time from IU dev reports.

The report text is a real radiologist's FINDINGS/IMPRESSION (uid % 7 != 3); around it sit the
segments and the boilerplate a RIS really sends (exam, indication, technique, comparison,
attestation), one OBX per line, so message size and segment count match production traffic.
Nothing generated here is written to the repository.
"""

from __future__ import annotations

import random
import textwrap

from _iu import iu_reports, report_text
from ingest.escaping import escape

BOILERPLATE = [
    "TECHNIQUE: Frontal and lateral views of the chest were obtained in the upright position.",
    "Radiation dose: this examination was performed using dose-reduction techniques "
    "including automated exposure control.",
    "This report was dictated using voice recognition software; minor transcription "
    "errors may be present.",
    "Critical results, if any, were communicated to the ordering provider according to "
    "departmental policy.",
    "Electronically signed by the interpreting radiologist after review of all images.",
    "Preliminary findings were discussed with the emergency department physician.",
    "Images were reviewed on a diagnostic workstation with calibrated monitors.",
]


def _obr(accession: str, status: str, stamp: str) -> list[str]:
    """OBR by field number, so each value sits exactly where DESIGN.md §6 reads it."""
    obr = ["OBR"] + [""] * 33
    obr[1], obr[2], obr[3] = "1", f"PL{accession}^RIS", f"FI{accession}^PACS"
    obr[4], obr[7] = "71046^XR CHEST 2 VIEWS^CPT4", stamp
    obr[16] = "1234567890^Referring^Rachel^^^DR^MD"
    obr[18], obr[22], obr[24], obr[25] = accession, stamp, "CR", status
    obr[32], obr[33] = "A987654&Attending&Alan", "R123456&Resident&Rita"
    return obr


def build_oru(accession: str, status: str, text: str, control_id: str, rng: random.Random,
              indication: str = "", target_size: int = 4000, wrap: int | None = None) -> bytes:
    stamp = f"202611{rng.randint(1, 28):02d}{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}00"
    mrn = f"MRN{rng.randint(10**6, 10**7 - 1)}"
    head = [
        f"MSH|^~\\&|RIS|GENERAL_HOSPITAL|RADAGREE|QA|{stamp}||ORU^R01^ORU_R01|{control_id}|P|"
        f"2.5.1||||||UNICODE UTF-8",
        f"PID|1||{mrn}^^^GH^MR~{rng.randint(10**8, 10**9 - 1)}^^^SSA^SS||Patient^Test^Q^^^^L||"
        f"19{rng.randint(30, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}|{rng.choice('MF')}|||"
        f"{rng.randint(1, 999)} Main Street^^Springfield^IL^62701^USA^H||^PRN^PH^^1^217^5550100",
        f"PV1|1|E|ED^ED12^01^GH||||1234567890^Referring^Rachel^^^DR^MD|||EM||||||||"
        f"V{rng.randint(10**6, 10**7 - 1)}|||||||||||||||||||||||||{stamp}",
        f"ORC|RE|PL{accession}^RIS|FI{accession}^PACS||CM||||{stamp}|||"
        f"1234567890^Referring^Rachel^^^DR^MD",
        "|".join(_obr(accession, status, stamp)),
    ]
    lines = [f"EXAMINATION: XR CHEST 2 VIEWS ({status})"]
    if indication:
        lines.append(f"INDICATION: {indication}")
    lines += text.split("\n")
    boiler = list(BOILERPLATE)
    rng.shuffle(boiler)
    if wrap:  # hl7apy's strict mode holds an OBX-5 to the 199 characters of its ST/TX type
        lines = [part for line in lines for part in textwrap.wrap(line, wrap) or [""]]
        boiler = [part for line in boiler for part in textwrap.wrap(line, wrap)]
    obx = []
    size = sum(len(s) for s in head)
    # Real reports carry long attestation and dose blocks; cycle them up to the target size.
    for line in lines + boiler * 6:
        seg = (f"OBX|{len(obx) + 1}|TX|18782-3^Radiology Study observation^LN|{len(obx) + 1}|"
               f"{escape(line)}||||||{status}|||{stamp}||A987654^Attending^Alan")
        obx.append(seg)
        size += len(seg)
        if size >= target_size:
            break
    return ("\r".join(head + obx) + "\r").encode("utf-8")


def message_pairs(n_pairs: int, seed: int = 7,
                  wrap: int | None = None) -> list[tuple[bytes, bytes]]:
    """`n_pairs` (preliminary, final) messages; the final is the same real report, lightly
    edited so scoring has work to do. `wrap`: OBX lines at most this long."""
    rng = random.Random(seed)
    rows = [r for r in iu_reports() if r["findings"].strip() or r["impression"].strip()]
    out = []
    for i in range(n_pairs):
        row = rows[i % len(rows)]
        text = report_text(row)
        final = text.replace(" no ", " small ", 1) if i % 3 == 0 else text
        acc = f"BENCH{seed}{i:07d}"
        size = rng.randint(3000, 5000)
        out.append((
            build_oru(acc, "P", text, f"{acc}P", rng, row["indication"], size, wrap),
            build_oru(acc, "F", final, f"{acc}F", rng, row["indication"], size, wrap),
        ))
    return out
