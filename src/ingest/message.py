"""Full parsing of a stored ORU^R01 into one `ReportEvent` per OBR (python-hl7), and of an
MDM document message into the one `ReportEvent` of its TXA.

Runs after the message is durable, so any failure here is recorded on the stored message and
never costs the sender an answer. Text assembly follows DESIGN.md §6: OBX-5 of the text value
types in order (repetitions and OBX-4 sub-ids are lines), HL7 escapes decoded, embedded
documents (ED/RP: PDF, CDA) noted on the report but never scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ingest.config import FieldMap, MllpConfig
from ingest.documents import MDM, kind_of
from ingest.documents import document_status as document_status_of
from ingest.errors import ParseError
from ingest.escaping import Delimiters
from ingest.header import Msh, codec_for, first_value, normalise
from ingest.quirks import resolve_status, split_run_on_obx

# Highlighting (2.10.3) has no meaning in plain text: drop the markers instead of "_".
_ESCAPE_MAP = {"H": "", "N": ""}
# OBX-3 codes whose ST value is a DICOM reference, not report text.
_DICOM_REFERENCES = {"113014", "112002", "113012", "121139"}


@dataclass(frozen=True, slots=True)
class ReportEvent:
    """One OBR of an ORU: a report version for one accession."""

    obr_index: int
    accession: str
    status: str
    text: str
    patient_id: str = ""
    procedure: str = ""
    attending: str = ""
    resident: str = ""
    observed_at: str = ""
    status_changed_at: str = ""
    has_embedded_document: bool = False
    # OBX value types seen under this OBR, to explain a report that has no scorable text.
    value_types: tuple[str, ...] = field(default_factory=tuple)
    # For an MDM: "document", "addendum", "replacement" or "cancel" (`ingest.documents`);
    # empty for an ORU. Read by `ingest.document_versions`, never stored.
    document: str = ""


def decode(raw: bytes, default_charset: str) -> str:
    """Normalised text in the charset MSH-18 declares (errors replaced: the bytes are kept)."""
    data = normalise(raw)
    try:
        msh18 = Msh.parse(data.split(b"\r", 1)[0].decode("latin-1"))[18]
    except ValueError:  # not an MSH: `parse_reports` says so
        msh18 = ""
    return data.decode(codec_for(msh18, default_charset), errors="replace")


def parse_reports(raw: bytes, config: MllpConfig) -> list[ReportEvent]:
    """Every OBR of the message as a report event; `ParseError` naming the problem otherwise."""
    text = decode(raw, config.default_charset)
    lines = text.split("\r")
    try:
        # Only the delimiters come from the MSH: building python-hl7's containers for the
        # whole message cost 1.4 ms per 4 KB report (bench/ingest_load.py), so segments are
        # split as strings and only the text is unescaped (with python-hl7's rules).
        msh = Msh.parse(lines[0])
    except ValueError as exc:
        raise ParseError(f"MSH could not be parsed: {exc}") from exc
    delimiters = msh.delimiters
    sep = delimiters.field
    if msh.component(9, 1) == MDM:
        return _parse_document(lines, delimiters, msh.component(9, 2), config)
    fmap = config.fields
    events: list[ReportEvent] = []
    pid: list[str] = []
    orc: list[str] = []
    current: _Builder | None = None
    for line in split_run_on_obx(lines[1:], sep):
        name = line[:3]
        if name == "PID":
            pid = line.split(sep)
        elif name == "ORC":
            orc = line.split(sep)
        elif name == "OBR":
            if current is not None:
                events.append(current.build())
            segments = {"PID": pid, "ORC": orc, "OBR": line.split(sep)}
            current = _Builder(len(events) + 1, segments, fmap, delimiters)
        elif name == "OBX" and current is not None:
            current.add_obx(line.split(sep))
    if current is not None:
        events.append(current.build())
    if not events:
        raise ParseError("the ORU^R01 has no OBR segment")
    for event in events:
        if not event.status:  # the listener refuses these; `replay --direct` may not
            raise ParseError(f"OBR #{event.obr_index} has no result status")
    scorable = [e for e in events if e.text.strip()]
    if not scorable:
        raise ParseError("no report text: " + "; ".join(_why_no_text(e) for e in events))
    return scorable


def _parse_document(lines: list[str], delimiters: Delimiters, trigger: str,
                    config: MllpConfig) -> list[ReportEvent]:
    """The document of an MDM as one report: its TXA (with the ORC/OBR before it, where the
    sender sends them) and the text of the OBX after it, read like an ORU's."""
    sep, documents = delimiters.field, config.documents
    segments: dict[str, list[str]] = {}
    builder: _Builder | None = None
    for line in split_run_on_obx(lines[1:], sep):
        name = line[:3]
        if name == "TXA" and builder is None:
            segments["TXA"] = line.split(sep)
            builder = _Builder(1, segments, documents.fields(config.fields), delimiters)
        elif name == "OBX" and builder is not None:
            builder.add_obx(line.split(sep))
        elif name in ("EVN", "PID", "ORC", "OBR") and builder is None:
            segments.setdefault(name, line.split(sep))
    if builder is None:
        raise ParseError("the MDM has no TXA segment")
    completion = first_value(segments, documents.status, delimiters)
    status, why = document_status_of(trigger, completion, documents)
    if not status:  # the listener refuses these; `replay --direct` may not
        raise ParseError(f"TXA-17 (document completion status) {why}")
    kind = kind_of(trigger, documents)
    event = replace(builder.build(), status=status, document=kind)
    if kind != "cancel" and not event.text.strip():
        raise ParseError("no report text: " + _why_no_text(event))
    return [event]


def _why_no_text(event: ReportEvent) -> str:
    kinds = ", ".join(event.value_types) or "none"
    embedded = " (embedded document noted, not scored)" if event.has_embedded_document else ""
    where = "the document" if event.document else f"OBR #{event.obr_index}"
    return (f"{where} has no TX/FT/ST/CE text OBX; OBX value types: {kinds}"
            f"{embedded}")


class _Builder:
    """Collects the OBX text of one OBR."""

    def __init__(self, index: int, segments: dict[str, list[str]], fmap: FieldMap,
                 delimiters: Delimiters) -> None:
        self.index = index
        self.delimiters = delimiters
        self.segments = segments
        self.fmap = fmap
        self.lines: list[str] = []
        self.embedded = False
        self.value_types: set[str] = set()
        self.obx_statuses: list[str] = []

    def add_obx(self, fields: list[str]) -> None:
        comp, rep = self.delimiters.component, self.delimiters.repetition

        def field(n: int) -> str:
            return fields[n] if n < len(fields) else ""

        value_type = field(2).strip().upper()
        self.value_types.add(value_type or "?")
        self.obx_statuses.append(field(11))
        if value_type in self.fmap.embedded_value_types:
            self.embedded = True
            return
        if value_type not in self.fmap.text_value_types:
            return
        identifier = field(3).split(comp)
        if identifier[0] in _DICOM_REFERENCES or identifier[-1].upper().endswith("UID"):
            return
        for repetition in field(5).split(rep):
            if value_type == "CE":
                # A coded entry: its text component (CE-2) is what a reader sees.
                parts = repetition.split(comp)
                repetition = parts[1] if len(parts) > 1 else ""
            value = self.delimiters.unescape_text(repetition, _ESCAPE_MAP) if repetition else ""
            value = value.replace("\r", "\n")
            if value.strip():
                self.lines.append(value.rstrip())

    def build(self) -> ReportEvent:
        s, fmap, d = self.segments, self.fmap, self.delimiters

        def get(paths: list[str]) -> str:
            return first_value(s, paths, d)

        return ReportEvent(
            obr_index=self.index,
            accession=get(fmap.accession),
            status=resolve_status(get(fmap.status).upper(), self.obx_statuses)[0],
            text="\n".join(self.lines),
            patient_id=get(fmap.patient_id),
            procedure=_readable(s, fmap.procedure, d),
            attending=_standard(_readable(s, fmap.attending, d), d),
            resident=_standard(_readable(s, fmap.resident, d), d),
            observed_at=get(fmap.observed_at),
            status_changed_at=get(fmap.status_changed_at),
            has_embedded_document=self.embedded,
            value_types=tuple(sorted(self.value_types)),
        )


def _standard(value: str, d: Delimiters) -> str:
    """A person field in HL7's recommended separators (`^`, `&`, `\\`) whatever the sender
    used, so that `ingest.people` can read the stored value without its message."""
    if (d.component, d.escape, d.subcomponent) == ("^", "\\", "&"):
        return value
    return value.translate(str.maketrans({d.component: "^", d.escape: "\\",
                                          d.subcomponent: "&"}))


def _readable(segments: dict[str, list[str]], paths: list[str], d: Delimiters) -> str:
    """A whole field (all components) as text, e.g. a procedure code with its name."""
    for path in paths:
        seg, _, number = path.partition("-")
        number = number.split(".", 1)[0]
        fields = segments.get(seg) or []
        n = int(number)
        if n < len(fields) and fields[n].strip():
            return fields[n].split(d.repetition, 1)[0].strip()
    return ""
