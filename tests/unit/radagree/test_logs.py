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


def test_uvicorn_keeps_its_own_text_and_never_a_request_line(captured, monkeypatch):
    """A real uvicorn server on a free port, configured as `radagree web` runs it (no log
    config of its own), then with its access log on: its lifecycle lines keep their text,
    a request line never reaches the log, even with report words in the URL."""
    import threading

    # As in a fresh `radagree web` process: an earlier test's uvicorn may have given its
    # loggers handlers of their own and stopped them propagating (uvicorn's LOGGING_CONFIG).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "disabled", False)
        monkeypatch.setattr(logger, "level", logging.NOTSET)

    import httpx
    import uvicorn

    from support.fhir import free_port

    async def app(scope, receive, send):  # the smallest ASGI app
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=True, lifespan="off"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            thread.join(0.05)
        assert server.started
        assert httpx.get(f"http://127.0.0.1:{port}/pairs?q=Small+effusion+ACC9").text == "ok"
    finally:
        server.should_exit = True
        thread.join(30)
    lines = [json.loads(x) for x in captured.getvalue().splitlines()]
    texts = [line.get("library_text") for line in lines if line["component"] == "uvicorn.error"]
    assert f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)" in texts
    assert "Shutting down" in texts
    access = [line for line in lines if line["component"] == "uvicorn.access"]
    assert access and all("library_text" not in line for line in access)
    assert "effusion" not in captured.getvalue() and "ACC9" not in captured.getvalue()
