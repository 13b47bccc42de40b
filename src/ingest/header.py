"""What the ACK needs, read from the raw bytes before anything is stored.

Full parsing (python-hl7, ~1.4 ms for a 3 KB report) would cap the listener near 700 msg/s, so
the MLLP path reads only the MSH and the accession fields of OBR/ORC: enough to answer AA, AE
or AR exactly as DESIGN.md §6 says. `message.parse_report` does the rest after storage.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import NamedTuple

from ingest.config import MllpConfig
from ingest.documents import EMPTY_STATUS, MDM, document_status
from ingest.errors import (
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION,
    Rejection,
)
from ingest.escaping import DEFAULT, Delimiters
from ingest.quirks import CHARSET_ALIASES, resolve_status

BOM = codecs.BOM_UTF8

# MSH-18 values seen in the field -> Python codec. Unknown or empty -> the configured default.
CHARSETS = {
    **CHARSET_ALIASES,
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
}


# OBR-25 values a report can have here: preliminary, final, corrected, partial, cancelled.
REPORT_STATUSES = ("P", "F", "C", "A", "X")
class _Obr(NamedTuple):
    accession: str
    status: str
    # Why `status` is empty (see `resolve_status`).
    missing_status: str


@dataclass(frozen=True, slots=True)
class Msh:
    """An MSH segment read once: its delimiters and its fields by their HL7 numbers.

    The one place that knows MSH's offset (MSH-1 is the field separator itself, so the
    segment split on it has MSH-n at index n - 1); everything that reads an MSH (the peek,
    the parse, the charset, replay's ACK reader) reads it through this.
    """

    delimiters: Delimiters
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, line: str) -> Msh:
        """From the MSH line's text; ValueError when it is not one."""
        delimiters = Delimiters.from_msh(line)
        return cls(delimiters, tuple(line.split(delimiters.field)))

    @property
    def encoding_chars(self) -> str:
        """MSH-2 as the sender wrote it (echoed verbatim in the ACK); the standard ones when
        the segment ends before it."""
        return self.fields[1] if len(self.fields) > 1 else "^~\\&"

    def __getitem__(self, number: int) -> str:
        """MSH-`number` ("" when the sender stopped before it)."""
        if number == 1:
            return self.delimiters.field
        return self.fields[number - 1] if 0 < number <= len(self.fields) else ""

    def component(self, number: int, index: int) -> str:
        """Component `index` (1-based) of MSH-`number`."""
        return _component(self[number], self.delimiters.component, index)


@dataclass(frozen=True, slots=True)
class Header:
    """The MSH fields the ACK echoes, plus the accessions found (for routing, not pairing)."""

    delimiters: Delimiters = DEFAULT
    # MSH-2 verbatim: 2 to 5 characters (v2.7 adds the truncation character).
    encoding_chars: str = "^~\\&"
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    trigger_event: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    accept_ack_type: str = ""
    charset: str = "latin-1"
    # (accession, result status) of each OBR, read by the configured field paths.
    reports: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def field_sep(self) -> str:
        return self.delimiters.field

    @property
    def sender(self) -> str:
        """Control ids are unique per sender only: the duplicate key is sender + MSH-10."""
        return f"{self.sending_application}^{self.sending_facility}"

    @property
    def type_name(self) -> str:
        return f"{self.message_type}^{self.trigger_event}" if self.trigger_event else (
            self.message_type or "unknown"
        )


def normalise(raw: bytes) -> bytes:
    """Strip a UTF-8 BOM and surrounding whitespace, turn CRLF/LF into CR, drop blank segments."""
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    raw = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").strip(b" \t\r\x00")
    while b"\r\r" in raw:
        raw = raw.replace(b"\r\r", b"\r")
    return raw


def codec_for(msh18: str, default: str) -> str:
    """The Python codec for an MSH-18 value (first repetition), else the default."""
    name = msh18.split("~", 1)[0].strip().upper()
    return CHARSETS.get(name, default)


def _component(value: str, sep: str, index: int) -> str:
    parts = value.split(sep)
    return parts[index - 1] if len(parts) >= index else ""


def peek(raw: bytes, config: MllpConfig) -> tuple[Header, Rejection | None]:
    """Read the MSH (and the accession fields) of a raw message; say why it must be refused.

    Always returns a header (as complete as the bytes allow) so that even a refused message
    gets a well-addressed ACK and is stored with its sender and control id.
    """
    text = normalise(raw)
    if not text.startswith(b"MSH") or len(text) < 8:
        return Header(charset=config.default_charset), Rejection(
            SEGMENT_SEQUENCE, "the message does not begin with an MSH segment", "MSH", None
        )
    first = text.split(b"\r", 1)[0]
    try:
        msh = Msh.parse(first.decode("latin-1"))
    except ValueError:
        msh = None
    if msh is None or not _valid_separators(msh.delimiters.field, msh.encoding_chars):
        # Answered with the standard separators: echoing these would garble our own ACK.
        return Header(charset=config.default_charset), Rejection(
            SEGMENT_SEQUENCE, "MSH-1/MSH-2 are not valid, distinct separator characters",
            "MSH", 1)
    delimiters = msh.delimiters
    charset = codec_for(msh[18], config.default_charset)
    message_type, trigger = msh.component(9, 1), msh.component(9, 2)
    if message_type == MDM:
        obrs = _document(text, delimiters, trigger, config)
    else:
        obrs = _reports(text, delimiters, config)
    if charset != "latin-1":
        # Re-read MSH in its declared charset so names with accents are echoed correctly.
        msh = Msh.parse(first.decode(charset, errors="replace"))
    header = Header(
        delimiters=delimiters,
        encoding_chars=msh.encoding_chars,
        sending_application=msh[3],
        sending_facility=msh[4],
        receiving_application=msh[5],
        receiving_facility=msh[6],
        message_type=message_type,
        trigger_event=trigger,
        control_id=msh[10].strip(),
        processing_id=msh.component(11, 1),
        version=msh.component(12, 1),
        accept_ack_type=msh[15].strip(),
        charset=charset,
        reports=tuple((obr.accession, obr.status) for obr in obrs),
    )
    return header, _check(header, obrs, text, config)


def _valid_separators(sep: str, enc: str) -> bool:
    """HL7 2.5 §2.5.4: printable, non-alphanumeric, all different (2 to 5 encoding chars)."""
    chars = sep + enc
    return (2 <= len(enc) <= 5 and len(set(chars)) == len(chars)
            and all(c.isprintable() and not c.isalnum() and not c.isspace() for c in chars))


def _check(header: Header, obrs: list[_Obr], text: bytes, config: MllpConfig
           ) -> Rejection | None:
    if not header.control_id:
        return Rejection(REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty", "MSH", 10)
    refused = _check_type(header, config)
    if refused is not None:
        return refused
    if header.processing_id not in config.processing_ids:
        return Rejection(
            UNSUPPORTED_PROCESSING_ID,
            f"MSH-11 is {header.processing_id!r}; accepted: {', '.join(config.processing_ids)}",
            "MSH",
            11,
        )
    if not any(header.version.startswith(v) for v in config.versions):
        return Rejection(
            UNSUPPORTED_VERSION,
            f"MSH-12 is {header.version!r}; accepted: {', '.join(config.versions)}",
            "MSH",
            12,
        )
    if header.message_type == MDM:
        return _check_document(obrs, config)
    if b"\rOBR" + header.field_sep.encode("latin-1") not in text:
        return Rejection(SEGMENT_SEQUENCE, "the ORU^R01 has no OBR segment", "OBR", None)
    for number, (accession, status, missing_status) in enumerate(obrs, start=1):
        if not accession:
            paths = ", ".join(config.fields.accession)
            return Rejection(
                REQUIRED_FIELD_MISSING, f"OBR #{number} has no accession number in {paths}", "OBR"
            )
        if not status:
            paths = ", ".join(config.fields.status)
            return Rejection(
                REQUIRED_FIELD_MISSING,
                f"OBR #{number} has no result status in {paths} {missing_status}", "OBR"
            )
        if status not in REPORT_STATUSES:
            return Rejection(
                TABLE_VALUE_NOT_FOUND,
                f"OBR #{number} result status is {status!r}; expected one of "
                f"{', '.join(REPORT_STATUSES)}",
                "OBR",
            )
    return None


def _check_type(header: Header, config: MllpConfig) -> Rejection | None:
    """ORU^R01, or an MDM event that carries a document; anything else can never succeed."""
    events = config.documents.events
    accepted = f"ORU^R01 and MDM^{'/'.join(events)}"
    if header.message_type not in ("ORU", MDM):
        return Rejection(UNSUPPORTED_MESSAGE_TYPE,
                         f"MSH-9 is {header.type_name!r}; only {accepted} carry reports", "MSH", 9)
    if (header.trigger_event != "R01" if header.message_type == "ORU"
            else header.trigger_event not in events):
        return Rejection(UNSUPPORTED_EVENT,
                         f"MSH-9 is {header.type_name!r}; only {accepted} are accepted", "MSH", 9)
    return None


def _check_document(heads: list[_Obr], config: MllpConfig) -> Rejection | None:
    """The one TXA of an MDM: present, with an accession and a status the table knows."""
    if not heads:
        return Rejection(SEGMENT_SEQUENCE, "the MDM has no TXA segment", "TXA", None)
    accession, status, missing_status = heads[0]
    if not accession:
        paths = ", ".join(config.documents.accession)
        return Rejection(REQUIRED_FIELD_MISSING, f"the document has no accession number in "
                         f"{paths}", "TXA", 14)
    if not status:
        code = REQUIRED_FIELD_MISSING if missing_status == EMPTY_STATUS else (
            TABLE_VALUE_NOT_FOUND)
        return Rejection(code, f"TXA-17 (document completion status) {missing_status}",
                         "TXA", 17)
    return None


def _document(text: bytes, delimiters: Delimiters, trigger: str, config: MllpConfig
              ) -> list[_Obr]:
    """Accession and status of an MDM's document (none without a TXA): the accession by the
    configured paths over its ORC, OBR and TXA, the status by `ingest.documents`."""
    sep = delimiters.field
    segments: dict[str, list[str]] = {}
    for line in text.split(b"\r"):
        name = line[:3]
        if name in (b"ORC", b"OBR", b"TXA") and name.decode() not in segments:
            segments[name.decode()] = line.decode("latin-1").split(sep)
    if "TXA" not in segments:
        return []
    documents = config.documents
    status, why = document_status(
        trigger, first_value(segments, documents.status, delimiters), documents)
    return [_Obr(first_value(segments, documents.accession, delimiters), status, why)]


def _reports(text: bytes, delimiters: Delimiters, config: MllpConfig) -> list[_Obr]:
    """Accession and status of each OBR, by the configured paths (first non-empty path wins);
    the OBX-11 of its observations only where that finds no status.

    ORC precedes its OBR in an ORU, so an ORC-n path applies to the OBRs after it.
    """
    sep = delimiters.field
    heads: list[tuple[str, str, list[str]]] = []  # accession, OBR status, OBX-11 values
    orc: list[str] = []
    for line in text.split(b"\r"):
        name = line[:3]
        if name == b"ORC":
            orc = line.decode("latin-1").split(sep)
        elif name == b"OBR":
            segments = {"OBR": line.decode("latin-1").split(sep), "ORC": orc}
            heads.append((first_value(segments, config.fields.accession, delimiters),
                          first_value(segments, config.fields.status, delimiters).upper(), []))
        elif name == b"OBX" and heads and not heads[-1][1]:
            fields = line.decode("latin-1").split(sep)
            heads[-1][2].append(fields[11] if len(fields) > 11 else "")
    return [_Obr(accession, *resolve_status(status, obx)) for accession, status, obx in heads]


def first_value(segments: dict[str, list[str]], paths: list[str],
                delimiters: Delimiters) -> str:
    """The first non-empty `SEG-n` / `SEG-n.c` value (first repetition, component 1 default)."""
    comp, rep = delimiters.component, delimiters.repetition
    for path in paths:
        seg, _, rest = path.partition("-")
        number, _, component = rest.partition(".")
        fields = segments.get(seg) or []
        n = int(number)
        if seg == "MSH":
            n -= 1  # MSH-1 is the separator itself, so the split is off by one
        value = fields[n] if 0 <= n < len(fields) else ""
        value = _component(value.split(rep, 1)[0], comp, int(component) if component else 1)
        if value.strip():
            return value.strip()
    return ""
