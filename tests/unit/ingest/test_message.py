"""Every public sample either yields its report fields or is refused with a precise reason;
synthetic fixtures cover what the samples lack (P/F/C, escapes, Z-segments, big PDFs, charsets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import MllpConfig
from ingest.errors import ParseError
from ingest.header import peek
from ingest.message import parse_reports
from ingest.replay import split_messages
from support.hl7build import oru

CONFIG = MllpConfig()

# file -> ("report", accession, status, a phrase of its text) | ("ar", code, reason phrase)
#       | ("no-text", reason phrase): AA (stored), then recorded as failed with the reason.
SAMPLES = {
    "dcm4che_ORU_R01-SR_v251_radiology.hl7": ("report", "AccessionNumber", "F",
                                              "small mass in the left lung"),
    # OBR-25 empty, every OBX-11 final: the report is final (issue #14)
    "dcm4che_ORU_R01_v231_radiology.hl7": ("report", "ACC1", "F", "small mass in the left lung"),
    "dcm4che_ORU_R01-PDF_v251_radiology_ED.hl7": ("no-text", "ED"),
    "dcm4che_ORU_R01-CDA_v251_radiology_crlf.hl7": ("no-text", "ED"),
    "dcm4che_OMI_O23_imaging_order.hl7": ("ar", "200", "OMI^O23"),
    "lfh_ORU_R01_v26_imaging_multiline_TX_lf.hl7": ("report", "FON_0d70c6c8", "F",
                                                    "Emergency Department"),
    "lfh_ORU_R01_v26_imaging_multiline_mixed_lf.hl7": ("report", "FON_0d70c6c8", "F",
                                                       "Emergency Department"),
    "ms_ORU_R01_v24_GHH_glucose.hl7": ("no-text", "SN"),
    "ms_LAB_ORU_v25_bom_P_and_F.hl7": ("no-text", "NM"),  # OBR #2: P from its OBX-11
    "ms_LAB_ORU_v25_final.hl7": ("no-text", "NM"),  # both OBR: F from their OBX-11
    "ms_ORU_R01_v251_kitchensink.hl7": ("no-text", "RP"),
    # TXA-17 IP (in progress): a preliminary; the accession from its OBR-18 (issue #19)
    "ms_MDM_T02_v23.hl7": ("report", "Placer 1", "P", "Toilet cylinder crackers"),
    "athena_ORU_R01_v251_LRI.hl7": ("no-text", "value types: none"),
    "nist_ORU_R01_v251_SampleTestCase1.hl7": ("no-text", "NM"),
    "cerner_ORU_R01_v251_ELR.hl7": ("report", "2010273000016", "F", "Bordetella pertussis"),
}


def test_every_sample_file_is_covered(shared_data: Path):
    names = {p.name for p in (shared_data / "hl7-samples").glob("*.hl7")}
    assert names == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample(shared_data: Path, name: str):
    raw = (shared_data / "hl7-samples" / name).read_bytes()
    expected = SAMPLES[name]
    _, rejection = peek(raw, CONFIG)
    if expected[0] == "ar":
        assert rejection is not None
        assert rejection.error.code == expected[1]
        assert expected[2] in str(rejection)
        return
    assert rejection is None, str(rejection)
    if expected[0] == "no-text":
        with pytest.raises(ParseError, match="no report text") as info:
            parse_reports(raw, CONFIG)
        assert expected[1] in str(info.value)
        return
    (event,) = parse_reports(raw, CONFIG)
    assert (event.accession, event.status) == expected[1:3]
    assert expected[3] in event.text


def test_hapi_file_of_eighteen_messages(shared_data: Path):
    data = (shared_data / "hl7-samples" / "hapi_messages_mixed_v21-v24_incl_radiology_ORU_P.txt")
    messages = split_messages(data.read_bytes())
    assert len(messages) == 18
    outcomes = []
    for message in messages:
        header, rejection = peek(message, CONFIG)
        if rejection is not None:
            # refused with a 0357 code and a reason that names the problem
            assert rejection.error.code in {"100", "101", "103", "200", "201", "202", "203"}
            assert rejection.detail
            outcomes.append(("AR", header.type_name))
            continue
        try:
            events = parse_reports(message, CONFIG)
            outcomes.append(("report", events[0].status))
        except ParseError as exc:
            outcomes.append(("no-text", str(exc)))
    # The radiology P report: its OBX were pasted into the OBR line; they are split out again.
    (oru_outcome,) = [o for o in outcomes if o[0] != "AR"]
    assert oru_outcome == ("report", "P")
    (radiology,) = [m for m in messages if b"CT CHEST" in m]
    (event,) = parse_reports(radiology, CONFIG)
    assert event.accession == "0000000566" and event.procedure.startswith("37953^CT CHEST")
    assert event.text.splitlines()[:2] == ["This is a test on 05/02/94.",
                                           "This is a test for the CRR."]
    # All others are BAR/ACK/ORM/QRY: refused as unsupported message types.
    assert sum(1 for kind, _ in outcomes if kind == "AR") == 17


def test_dicom_uid_obx_is_not_report_text(shared_data: Path):
    raw = (shared_data / "hl7-samples" / "dcm4che_ORU_R01-SR_v251_radiology.hl7").read_bytes()
    (event,) = parse_reports(raw, CONFIG)
    assert "1.2.392.200036" not in event.text


def test_ft_text_with_breaks_and_escapes():
    text = "FINDINGS: Small effusion & atelectasis.\nIMPRESSION: Effusion | no PTX."
    (event,) = parse_reports(oru("A1", "F", text, value_type="FT"), CONFIG)
    assert event.text == text


def test_tx_lines_and_report_fields():
    (event,) = parse_reports(oru("A1", "P", "line one\nline two", patient_id="MRN9"), CONFIG)
    assert event.text == "line one\nline two"
    assert (event.status, event.patient_id) == ("P", "MRN9")
    assert event.resident.startswith("R123") and event.attending.startswith("A456")
    assert event.procedure.startswith("71046")
    assert event.status_changed_at == "20261126101500"


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "8859/1"])
def test_non_ascii_text_in_either_charset(charset):
    text = "Épanchement pleural, Größe 9 mm, côté gauche."
    (event,) = parse_reports(oru("A1", "F", text, charset=charset), CONFIG)
    assert event.text == text


def test_z_segments_are_ignored():
    message = oru("A1", "F", "No effusion.", extra_segments=("ZDS|1.2.3^RIS^Application^DICOM",
                                                             "ZRP|x|y"))
    assert peek(message, CONFIG)[1] is None
    (event,) = parse_reports(message, CONFIG)
    assert event.text == "No effusion."


def test_big_message_with_base64_pdf():
    message = oru("A1", "F", "Mild cardiomegaly.", pdf_bytes=100_000)
    assert len(message) > 64 * 1024
    (event,) = parse_reports(message, CONFIG)
    assert event.text == "Mild cardiomegaly." and event.has_embedded_document


def test_several_obr_in_one_message():
    first = oru("A1", "F", "Report one.")
    second_obr = [s for s in oru("A2", "F", "Report two.").split(b"\r") if s[:3] in (b"OBR",
                                                                                     b"OBX")]
    message = first + b"\r".join(second_obr) + b"\r"
    header, rejection = peek(message, CONFIG)
    assert rejection is None and header.reports == (("A1", "F"), ("A2", "F"))
    events = parse_reports(message, CONFIG)
    assert [(e.accession, e.text) for e in events] == [("A1", "Report one."), ("A2", "Report two.")]


def test_split_framed_blank_line_and_msh_separated_files():
    a, b = oru("A1", "P", "x"), oru("A1", "F", "y")
    framed = b"\x0b" + a + b"\x1c\r" + b"\x0b" + b + b"\x1c\r"
    assert split_messages(framed) == [a, b]
    assert split_messages(a.replace(b"\r", b"\n") + b"\n\n" + b.replace(b"\r", b"\n")) == [a, b]
    assert split_messages(a + b) == [a, b]


def _with_fields(message: bytes, segment: bytes, values: dict[int, bytes]) -> bytes:
    """`message` with field n of the n-th `segment` set: {occurrence: value} for field 11 of
    OBX, or {1: value} for OBR-25."""
    number = 25 if segment == b"OBR" else 11
    lines = message.split(b"\r")
    seen = 0
    for i, line in enumerate(lines):
        if line.startswith(segment + b"|"):
            seen += 1
            if seen in values:
                fields = line.split(b"|")
                fields[number] = values[seen]
                lines[i] = b"|".join(fields)
    return b"\r".join(lines)


def test_status_from_the_obx_when_obr25_is_empty():
    message = _with_fields(oru("A1", "F", "line one\nline two"), b"OBR", {1: b""})
    header, rejection = peek(message, CONFIG)
    assert rejection is None and header.reports == (("A1", "F"),)
    (event,) = parse_reports(message, CONFIG)
    assert event.status == "F"


@pytest.mark.parametrize(("obx_statuses", "why"), [
    ((b"F", b"P"), "OBX-11 result statuses disagree (F, P)"),
    ((b"", b""), "no OBX-11 result status either"),
    ((b"I", b"I"), "OBX-11 result status 'I' cannot stand"),
])
def test_no_status_or_disagreeing_obx_is_refused_naming_both(obx_statuses, why):
    message = _with_fields(oru("A1", "F", "line one\nline two"), b"OBR", {1: b""})
    message = _with_fields(message, b"OBX", dict(enumerate(obx_statuses, start=1)))
    _, rejection = peek(message, CONFIG)
    assert rejection is not None and rejection.error.code == "101"
    assert "no result status in OBR-25" in str(rejection) and why in str(rejection)
    with pytest.raises(ParseError, match="no result status"):
        parse_reports(message, CONFIG)
