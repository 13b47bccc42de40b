"""One HL7 escape/unescape for the ACK builder, replay, the fixtures and the bench."""

from __future__ import annotations

import pytest

from ingest.escaping import DEFAULT, Delimiters, escape, unescape


@pytest.mark.parametrize("text", ["a|b^c~d&e\\f", "Épanchement, Größe 9 mm", "two\rlines\nhere",
                                  "plain"])
def test_round_trip_with_the_default_delimiters(text):
    escaped = escape(text)
    assert not set("|^~&\r\n") & set(escaped)
    assert unescape(escaped) == text


def test_each_delimiter_has_its_sequence():
    assert escape("|^~\\&") == "\\F\\\\S\\\\R\\\\E\\\\T\\"
    assert escape("a\rb") == "a\\X0D\\b"


def test_a_senders_own_delimiters():
    delimiters = Delimiters.of("#", "^~}&")
    escaped = delimiters.escape_text("a#b}c")
    assert escaped == "a}F}b}E}c"
    assert delimiters.unescape_text(escaped) == "a#b}c"
    assert delimiters.unescape_text("x}.br}y") == "x\ry"


def test_missing_encoding_characters_keep_their_defaults():
    assert Delimiters.of("|", "^~") == DEFAULT
    assert Delimiters.from_msh("MSH|^~\\&|RIS") == DEFAULT
    with pytest.raises(ValueError, match="MSH"):
        Delimiters.from_msh("PID|1")


def test_highlighting_can_be_dropped():
    assert DEFAULT.unescape_text("\\H\\bold\\N\\", {"H": "", "N": ""}) == "bold"
