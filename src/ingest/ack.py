"""The acknowledgement we send back: MSH + MSA (+ ERR), original or enhanced mode.

python-hl7's `Message.create_ack` writes MSH + MSA only (no MSA-3, no ERR), needs a fully
parsed message, and always writes `ACK^<trigger>^ACK`; the MLLP path has only the MSH peek,
so the few fields are written here, escaped with the sender's own encoding characters.
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime

from ingest.errors import Rejection
from ingest.header import Header

# Enhanced mode (MSH-15 present) answers with commit codes instead.
_COMMIT_CODES = {"AA": "CA", "AE": "CE", "AR": "CR"}
_counter = itertools.count()
_PREFIX = f"RA{os.getpid() % 100000:05d}{int(time.time()) % 100000:05d}"


def next_control_id() -> str:
    """Unique per process start (pid + start time + counter), unlike Mirth's timestamp ids."""
    return f"{_PREFIX}{next(_counter):09d}"


def _escape(text: str, header: Header) -> str:
    """One line of text, escaped with the sender's delimiters: free text cannot break the
    ACK's own structure."""
    line = " ".join(text.splitlines())
    return header.delimiters.escape_text(line)


def _version_at_least(version: str, major: int, minor: int) -> bool:
    try:
        parts = [int(p) for p in version.split(".")[:2]]
    except ValueError:
        return True
    return tuple(parts + [0] * (2 - len(parts))) >= (major, minor)


def build_ack(
    header: Header,
    code: str,
    rejection: Rejection | None = None,
    text: str = "",
    now: datetime | None = None,
) -> bytes:
    """The ACK for `header` with code AA/AE/AR (CA/CE/CR in enhanced mode), encoded in the
    message's own charset. AE/AR carry MSA-3 text and an ERR segment with the 0357 code."""
    if header.accept_ack_type:
        code = _COMMIT_CODES.get(code, code)
    sep, comp = header.delimiters.field, header.delimiters.component
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    version = header.version or "2.5"
    msg_type = (
        f"ACK{comp}{header.trigger_event}{comp}ACK"
        if _version_at_least(version, 2, 4) and header.trigger_event
        else "ACK"
    )
    msh = [
        "MSH",
        header.encoding_chars,
        header.receiving_application,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        stamp,
        "",
        msg_type,
        next_control_id(),
        header.processing_id or "P",
        version,
    ]
    message_text = str(rejection) if rejection is not None else text
    msa = ["MSA", code, header.control_id, _escape(message_text, header)[:80]]
    segments = [sep.join(msh), sep.join(msa).rstrip(sep)]
    if rejection is not None:
        segments.append(_err(header, rejection, version, comp))
    return ("\r".join(segments) + "\r").encode(header.charset, errors="replace")


def _err(header: Header, rejection: Rejection, version: str, comp: str) -> str:
    """ERR in the layout of the message's version: ERR-2/3/4/8 for 2.5+, ERR-1 before."""
    sep, sub = header.delimiters.field, header.delimiters.subcomponent
    error = rejection.error
    detail = _escape(rejection.detail, header)
    location = comp.join([rejection.segment, "1", str(rejection.field or "")]).rstrip(comp)
    if _version_at_least(version, 2, 5):
        code = comp.join([error.code, _escape(error.text, header), "HL70357"])
        return sep.join(["ERR", "", location, code, "E", "", "", "", detail])
    # 2.4 and earlier: ERR-1 is a CM of segment^sequence^field^code (code as a CE in sub).
    code = sub.join([error.code, _escape(error.text, header), "HL70357"])
    return sep.join(["ERR", comp.join([rejection.segment, "1", str(rejection.field or ""), code])])
