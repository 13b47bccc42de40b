"""The MSH read once (`ingest.header.Msh`): its field numbers and the delimiters every later
reader (peek, parse, ACK, replay's ACK reader) takes from the parsed header."""

from __future__ import annotations

from ingest import MllpConfig, parse_reports, peek
from ingest.ack import build_ack
from ingest.escaping import Delimiters
from ingest.header import Msh
from ingest.replay import read_ack
from support.hl7build import oru


def test_msh_fields_by_their_hl7_numbers():
    msh = Msh.parse("MSH|^~\\&|RIS|RAD|RADAGREE|HOSP|20261126||ORU^R01^ORU_R01|M1|P|2.5.1")
    assert (msh[1], msh[2], msh[3], msh[9], msh[10], msh[12]) == (
        "|", "^~\\&", "RIS", "ORU^R01^ORU_R01", "M1", "2.5.1")
    assert msh.component(9, 2) == "R01" and msh[18] == "" and msh[0] == ""
    assert Msh.parse("MSH|^~").encoding_chars == "^~"  # MSH-2 verbatim (peek checks it)


def test_a_senders_own_delimiters_travel_on_the_header_to_parse_and_ack():
    standard = oru("A1", "F", "Effusion ^ small & stable", resident="R1&Res&Rita")
    table = str.maketrans({"|": "#", "^": "}", "&": "$"})
    raw = standard.decode().translate(table).encode()
    header, rejection = peek(raw, MllpConfig())
    assert rejection is None and header.reports == (("A1", "F"),)
    assert header.delimiters == Delimiters("#", "}", "~", "\\", "$")
    (report,) = parse_reports(raw, MllpConfig())
    assert report.resident == "R1&Res&Rita"  # stored in the standard separators
    ack = build_ack(header, "AR", None, text="bad # field } text")
    assert ack.startswith(b"MSH#}~\\$#")
    reply = read_ack(ack)
    assert (reply.code, reply.control_id, reply.text) == ("AR", header.control_id,
                                                          "bad # field } text")
