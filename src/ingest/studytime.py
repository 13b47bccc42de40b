"""The study's own date: OBR-7 (observation time), else OBR-22 (status change), else arrival.

Pairs are dated by the study, not by the day their messages arrived: a site that loads its
archive must see October's studies in October. The HL7 TS (YYYYMMDD[HH[MM[SS[.S]]]][+/-ZZZZ])
is kept as the sender's wall-clock time (its offset dropped, stored as if UTC): the date a
radiologist reads in the RIS is the local one, and converting to UTC would move evening
studies into the next day or month. MSH-7 is not among the fallbacks: ingest keeps it only
inside the raw message bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def hl7_wall_clock(value: str) -> datetime | None:
    """An HL7 TS as its wall-clock time (UTC-tagged); None when it is not one."""
    digits = (value or "").strip()
    for sign in "+-":
        cut = digits.find(sign, 8)
        if cut != -1:
            digits = digits[:cut]
    digits = digits.split(".")[0]
    if len(digits) < 8 or not digits.isdigit():
        return None
    padded = (digits + "000000")[:14] if len(digits) >= 10 else digits[:8] + "000000"
    try:
        return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def study_time(observed_at: str, status_changed_at: str, arrival: datetime) -> datetime:
    """OBR-7, else OBR-22, else `arrival` (the first that is a valid HL7 time)."""
    return hl7_wall_clock(observed_at) or hl7_wall_clock(status_changed_at) or arrival
