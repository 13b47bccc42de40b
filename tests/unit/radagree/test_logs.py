"""The log redaction: only known-safe keys and numbers pass; accessions become salted hashes."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from radagree.logs import REDACTED, accession_hash, configure_logging, redact


def test_unknown_keys_and_free_text_events_are_withheld():
    out = redact(None, "info", {
        "event": "pair_scored", "text": "Small left effusion.", "patient": "Doe^Jane",
        "grade": 3, "esas": 0.5, "ok": True, "state": "scored"})
    assert out == {"event": "pair_scored", "text": REDACTED, "patient": REDACTED,
                   "grade": 3, "esas": 0.5, "ok": True, "state": "scored"}
    assert redact(None, "info", {"event": "scored Small left effusion"})["event"] == REDACTED
    assert redact(None, "info", {"event": "x", "reason": ["Doe"]})["reason"] == REDACTED


def test_accession_becomes_a_salted_hash():
    out = redact(None, "info", {"event": "e", "accession": "ACC123"})
    assert "accession" not in out and out["accession_hash"] == accession_hash("ACC123")
    assert accession_hash("ACC123", "site-a") != accession_hash("ACC123", "site-b")
    assert "accession_hash" not in redact(None, "info", {"event": "e", "accession": None})


@pytest.fixture
def captured(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(json_lines=True)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers = []


def test_json_lines_with_component_and_no_traceback_text(captured):
    log = structlog.get_logger("ingest.mllp")
    log.info("mllp_answered", ack="AR", accession="ACC9", note="Doe^Jane")
    try:
        raise ValueError("report text: Small effusion")
    except ValueError:
        log.exception("failed")
    logging.getLogger("httpx").warning("HTTP Request: POST https://x/?identifier=ACC9")
    lines = [json.loads(x) for x in captured.getvalue().splitlines()]
    assert lines[0]["component"] == "ingest.mllp" and lines[0]["note"] == REDACTED
    assert lines[0]["accession_hash"] == accession_hash("ACC9")
    assert lines[1]["exc_type"] == "ValueError"
    assert lines[2] == {**lines[2], "event": "library_log", "component": "httpx"}
    assert "ACC9" not in captured.getvalue() and "Small effusion" not in captured.getvalue()
