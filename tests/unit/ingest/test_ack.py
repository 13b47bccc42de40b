"""The MSH peek and the ACK it produces (DESIGN.md §6, notes/mllp-conventions.md §3)."""

from __future__ import annotations

from ingest.ack import build_ack
from ingest.config import MllpConfig
from ingest.header import peek
from ingest.replay import read_ack
from support.hl7build import oru

CONFIG = MllpConfig()


def segments(ack: bytes) -> dict[str, list[str]]:
    return {line[:3]: line.split("|") for line in ack.decode().split("\r") if line}


def test_accepted_oru_gets_aa_addressed_back_to_the_sender():
    header, rejection = peek(oru("ACC1", "F", "No effusion.", control_id="C1"), CONFIG)
    assert rejection is None
    assert header.reports == (("ACC1", "F"),)
    seg = segments(build_ack(header, "AA"))
    assert seg["MSH"][2:6] == ["RADAGREE", "HOSP", "RIS", "RADIOLOGY"]
    assert seg["MSH"][8] == "ACK^R01^ACK"
    assert seg["MSH"][9] and seg["MSH"][9] != "C1"
    assert seg["MSA"][1:3] == ["AA", "C1"]
    assert "ERR" not in seg


def test_two_acks_never_share_a_control_id():
    header, _ = peek(oru("ACC1", "F", "x"), CONFIG)
    ids = {segments(build_ack(header, "AA"))["MSH"][9] for _ in range(1000)}
    assert len(ids) == 1000


def test_wrong_message_type_is_ar_200_with_err_in_v25_layout():
    header, rejection = peek(oru("A", "F", "x", message_type="ADT^A01"), CONFIG)
    assert rejection is not None and rejection.error.code == "200"
    seg = segments(build_ack(header, "AR", rejection))
    assert seg["MSA"][1] == "AR"
    assert seg["ERR"][3].split("^")[0::2] == ["200", "HL70357"]
    assert seg["ERR"][4] == "E"
    assert "ADT" in read_ack(build_ack(header, "AR", rejection)).reason


def test_v23_error_goes_in_err_1():
    header, rejection = peek(oru("A", "F", "x", version="2.3", processing_id="X"), CONFIG)
    assert rejection is not None and rejection.error.code == "202"
    err = segments(build_ack(header, "AR", rejection))["ERR"]
    assert len(err) == 2 and "202&" in err[1]
    assert segments(build_ack(header, "AR", rejection))["MSH"][8] == "ACK"


def test_each_refusal_names_its_field():
    cases = {
        "203": oru("A", "F", "x", version="3.0"),
        "201": oru("A", "F", "x", message_type="ORU^R30"),
        "103": oru("A", "Q", "x"),
        "101": oru("", "F", "x"),
    }
    for code, message in cases.items():
        _, rejection = peek(message, CONFIG)
        assert rejection is not None and rejection.error.code == code, code
    _, rejection = peek(oru("", "F", "x"), CONFIG)
    assert "OBR-18, OBR-3, ORC-3" in str(rejection)


def test_accession_falls_back_to_obr3_when_obr18_is_empty():
    message = oru("ACC9", "F", "x").replace(b"|ACC9|||", b"||||", 1)
    header, rejection = peek(message, CONFIG)
    assert rejection is None and header.reports == (("FIACC9", "F"),)


def test_not_hl7_at_all_still_gets_an_ar():
    header, rejection = peek(b"hello world", CONFIG)
    assert rejection is not None and rejection.error.code == "100"
    assert read_ack(build_ack(header, "AR", rejection)).code == "AR"


def test_free_text_cannot_break_the_ack_structure():
    header, _ = peek(oru("A", "F", "x", sending_app="RIS"), CONFIG)
    ack = build_ack(header, "AE", None, text="a|b^c\rMSH|evil")
    assert ack.count(b"\r") == 2  # MSH and MSA only
    assert read_ack(ack).text == "a|b^c MSH|evil"


def test_enhanced_mode_answers_with_commit_codes():
    message = oru("A", "F", "x").replace(b"|2.5.1||||||", b"|2.5.1|||AL|NE||", 1)
    header, _ = peek(message, CONFIG)
    assert header.accept_ack_type == "AL"
    assert read_ack(build_ack(header, "AA")).code == "CA"


def test_bom_lf_and_latin1_are_read():
    message = b"\xef\xbb\xbf" + oru("ACC1", "P", "Pl\u00e8vre", charset="8859/1",
                                    terminator="\n")
    header, rejection = peek(message, CONFIG)
    assert rejection is None and header.charset == "latin-1"
    assert header.reports == (("ACC1", "P"),)
