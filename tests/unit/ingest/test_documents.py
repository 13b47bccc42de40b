"""MDM document messages (issue #19): each event built as the standard lays it out, read by
the MSH peek (accept or refuse, before the ACK) and by the parse (one report per document),
with TXA-17 mapped through the configured table."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import MllpConfig, attribution, parse_reports, peek
from ingest.config import DocumentMap
from ingest.documents import document_status
from ingest.errors import ParseError
from support.hl7build import mdm

CONFIG = MllpConfig()
TEXT = "FINDINGS: Small left pleural effusion.\nIMPRESSION: Effusion."


@pytest.mark.parametrize(("event", "completion", "status", "kind"), [
    ("T02", "IP", "P", "document"),
    ("T02", "DI", "P", "document"),
    ("T02", "PA", "P", "document"),
    ("T02", "AU", "F", "document"),
    ("T04", "LA", "F", "document"),
    ("T04", "DO", "P", "document"),
    ("T08", "IN", "P", "document"),
    ("T08", "AU", "F", "document"),  # a correction only once a final is stored
    ("T06", "AU", "C", "addendum"),
    ("T10", "LA", "C", "replacement"),
])
def test_each_content_event_is_one_report(event, completion, status, kind):
    raw = mdm("ACC7", event, completion, TEXT)
    header, rejection = peek(raw, CONFIG)
    assert rejection is None, str(rejection)
    assert header.type_name == f"MDM^{event}" and header.reports == (("ACC7", status),)
    (report,) = parse_reports(raw, CONFIG)
    assert (report.accession, report.status, report.document) == ("ACC7", status, kind)
    assert report.text == TEXT
    assert report.observed_at == "20261126090000"  # TXA-4: the study date of the pair
    assert report.status_changed_at == "20261126101500"  # TXA-8


def test_cancel_needs_no_content():
    raw = mdm("ACC7", "T11", "")  # MDM_T01 structure: no OBX, TXA-17 need not be filled
    assert peek(raw, CONFIG) == (peek(raw, CONFIG)[0], None)
    (report,) = parse_reports(raw, CONFIG)
    assert (report.status, report.text, report.document) == ("X", "", "cancel")


def test_accession_from_the_order_when_present_else_the_placer_order_number():
    (with_order,) = parse_reports(mdm("ACC8", "T02", "AU", TEXT, with_order=True), CONFIG)
    assert with_order.accession == "ACC8"  # OBR-18, as in the sender's ORU
    assert with_order.procedure.startswith("71046^XR CHEST")  # OBR-4 before TXA-2
    (bare,) = parse_reports(mdm("ACC8", "T02", "AU", TEXT), CONFIG)
    assert bare.accession == "ACC8" and bare.procedure == "RAD"  # TXA-14, TXA-2


def test_authors_feed_the_same_attribution_as_an_oru():
    (prelim,) = parse_reports(mdm("ACC9", "T02", "IP", TEXT), CONFIG)
    (final,) = parse_reports(mdm("ACC9", "T02", "AU", TEXT, originator="R9^Other^Olga",
                                 authenticator="A1^Signer^Sam^^^Dr"), CONFIG)
    people = attribution(prelim.resident, final.attending)
    assert (people["trainee_id"], people["trainee_name"]) == ("R123", "Rita Resident")
    assert (people["attending_id"], people["attending_name"]) == ("A1", "Dr Sam Signer")


@pytest.mark.parametrize(("raw", "code", "phrase"), [
    (mdm("A1", "T01", "AU"), "201", "MDM^T01"),  # notification only: nothing to score
    (mdm("A1", "T02", "XX", TEXT), "103", "TXA-17 (document completion status) is 'XX'"),
    (mdm("A1", "T02", "", TEXT), "101", "TXA-17 (document completion status) is empty"),
    (mdm("", "T02", "AU", TEXT), "101", "no accession number in OBR-18"),
    (mdm("A1", "T02", "AU", TEXT).replace(b"\rTXA|", b"\rZXA|"), "100", "no TXA"),
])
def test_refusals_name_the_field(raw, code, phrase):
    _, rejection = peek(raw, CONFIG)
    assert rejection is not None and rejection.error.code == code
    assert phrase in str(rejection)


def test_a_document_without_text_is_recorded_as_failed():
    with pytest.raises(ParseError, match="the document has no TX/FT/ST/CE text OBX"):
        parse_reports(mdm("A1", "T02", "AU", TEXT, value_type="ED"), CONFIG)


def test_the_status_table_and_events_are_configurable():
    documents = DocumentMap(statuses={"PA": "F", "AU": "F"}, events=["T02"])
    config = MllpConfig(documents=documents)
    header, rejection = peek(mdm("A1", "T02", "PA", TEXT), config)
    assert rejection is None and header.reports == (("A1", "F"),)
    _, rejection = peek(mdm("A1", "T02", "IP", TEXT), config)
    assert rejection is not None and rejection.error.code == "103"
    _, rejection = peek(mdm("A1", "T10", "AU", TEXT), config)
    assert rejection is not None and rejection.error.code == "201"
    no_cancel = DocumentMap(cancel_events=[])
    assert document_status("T11", "", no_cancel) == ("", "is empty")  # read as any other


def test_the_shared_sample(shared_data: Path):
    raw = (shared_data / "hl7-samples" / "ms_MDM_T02_v23.hl7").read_bytes()
    header, rejection = peek(raw, CONFIG)
    assert rejection is None and header.accept_ack_type == "AL"  # enhanced mode: CA
    (report,) = parse_reports(raw, CONFIG)
    assert (report.accession, report.status) == ("Placer 1", "P")  # OBR-18; TXA-17 IP
    assert report.observed_at == "20210801090642+0215"  # TXA-4
    assert report.patient_id == "3196695816"
    assert report.text.splitlines()[0].startswith("Toilet cylinder crackers")
    assert len(report.text.splitlines()) == 29
