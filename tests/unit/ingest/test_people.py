"""Who wrote a report: XCN components and CNN sub-components (OBR-32..34) read alike, HL7
escapes decoded, a sender's own separators translated at parse time."""

from __future__ import annotations

import pytest

from ingest import MllpConfig, attribution, parse_person, parse_reports
from ingest.people import Person


@pytest.mark.parametrize("field,expected", [
    ("A456^Attending^Alan", Person("A456", "Alan Attending", "")),
    ("R123&Resident&Rita", Person("R123", "Rita Resident", "")),
    ("A456^Attending^Alan^J^^Dr^MD^^HOSP&1.2.3&ISO",
     Person("A456", "Dr Alan J Attending, MD", "HOSP")),
    ("A456&Attending&Alan&&&&&&HOSP^20260101^20261231", Person("A456", "Alan Attending", "HOSP")),
    ("A456&&&&&&&&&2.16.840.1.1", Person("A456", "", "2.16.840.1.1")),
    ("A1^20260101120000", Person("A1", "", "")),  # NDL: an id, then its start time
    ("^O\\T\\Brien^Pat", Person("", "Pat O&Brien", "")),
])
def test_person_fields_read_both_ways(field, expected):
    assert parse_person(field) == expected


def test_nobody_is_none_and_attribution_fills_the_pair_columns():
    assert parse_person("") is None and parse_person("^^") is None
    assert attribution("R123^Resident^Rita^^^^^^HOSP", "") == {
        "trainee_id": "R123", "trainee_name": "Rita Resident", "trainee_authority": "HOSP",
        "attending_id": None, "attending_name": None, "attending_authority": None}


def test_a_senders_own_separators_are_translated_when_the_report_is_parsed():
    # MSH-2 "$~\\%": components by "$", sub-components by "%"
    message = (b"MSH|$~\\%|RIS|RAD|RADAGREE|HOSP|20261126101500||ORU$R01|C1|P|2.5.1\r"
               b"PID|1||MRN1\r"
               b"OBR|1|PL1|FI1|71046$XR CHEST$CPT|||20261126090000|||||||||||ACC9||||"
               b"20261126101500|||P|||||||A456%Attending%Alan|R123$Resident$Rita\r"
               b"OBX|1|TX|1||No pneumothorax.||||||P\r")
    (report,) = parse_reports(message, MllpConfig())
    assert parse_person(report.resident) == Person("R123", "Rita Resident", "")
    assert parse_person(report.attending) == Person("A456", "Alan Attending", "")
