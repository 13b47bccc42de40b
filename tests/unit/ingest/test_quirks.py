"""The sender quirks, each on its own (the readers' tests cover them inside whole messages)."""

from __future__ import annotations

from ingest.header import codec_for
from ingest.quirks import person_in_first_component, resolve_status, split_run_on_obx


def test_status_from_agreeing_obx_when_obr25_is_empty():
    assert resolve_status("F", ["P"]) == ("F", "")  # OBR-25 wins when present
    assert resolve_status("", ["F", "F", ""]) == ("F", "")
    assert resolve_status("", ["", ""]) == ("", "and no OBX-11 result status either")
    assert "disagree (F, P)" in resolve_status("", ["F", "P"])[1]
    assert "'X' cannot stand" in resolve_status("", ["X"])[1]


def test_obx_run_on_inside_an_obr_line_is_split_out():
    lines = ["PID|1", "OBR|1|A|B| OBX||TX|FIND^FINDINGS^L|1|This is a test.| OBX||TX|X|2|Two",
             "OBX|3|TX|X|3|A | OBX| inside a text line stays"]
    assert list(split_run_on_obx(lines, "|")) == [
        "PID|1", "OBR|1|A|B", "OBX||TX|FIND^FINDINGS^L|1|This is a test.", "OBX||TX|X|2|Two",
        "OBX|3|TX|X|3|A | OBX| inside a text line stays"]


def test_person_forms():
    assert person_in_first_component(["A456&Attending&Alan", "20261126"])
    assert person_in_first_component(["A456", "20261126"])  # NDL: a time, not a name
    assert not person_in_first_component(["A456", "Attending", "Alan", "", "", "Dr"])


def test_declared_ascii_is_read_as_latin1():
    assert codec_for("ASCII", "utf-8") == "latin-1"
    assert codec_for("UNICODE UTF-8", "latin-1") == "utf-8"
