"""Delivery to a real FHIR server (Medplum 4.5.2 in memory, tests/fhir_server) through the
real worker path (score -> settle + outbox in one transaction -> delivery pass)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import outbound
from ingest import Incoming, MllpConfig, peek, store_messages
from outbound import FhirConfig, FhirSink
from outbound.tables import outbox
from radagree.parsing import ParseWorker
from radagree.workers import ScoringWorker
from support.hl7build import oru

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # the Medplum server (Node)
SYSTEM = "https://radagree.org/fhir/sid/report-agreement"


@pytest.fixture
def pipeline(engine, scorer, fhir_server):
    """The worker processes' objects, built in this process on the session's scorer."""
    fhir_server.reset()
    config = FhirConfig(base_url=fhir_server.base_url, timeout_s=2, backoff_base_s=0.05,
                        backoff_max_s=0.2)
    return Pipeline(config, ParseWorker(engine, MllpConfig()),
                    ScoringWorker(engine, scorer, config))


@dataclass
class Pipeline:
    config: FhirConfig
    parser: ParseWorker
    scorer: ScoringWorker


def ingest(pipeline: Pipeline, *messages: bytes) -> None:
    with pipeline.parser.engine.begin() as conn:
        store_messages(conn, [Incoming(m, *peek(m, MllpConfig()), received_at=datetime.now(UTC))
                              for m in messages])
    pipeline.parser.process_pending(100)
    pipeline.scorer.score_batch("test-worker", 50, 3)


def deliver(engine, config, rounds: int = 1) -> dict:
    async def run() -> dict:
        sink = FhirSink(config)
        total: dict = {}
        try:
            for _ in range(rounds):
                done = (await outbound.deliver_due(engine, sink, "test-worker", config)).done
                for k, v in done.items():
                    total[k] = total.get(k, 0) + v
        finally:
            await sink.close()
        return total

    return asyncio.run(run())


def states(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(outbox.c.accession, outbox.c.kind, outbox.c.state).order_by(outbox.c.id))]


def test_accepted_and_read_back_by_identifier(engine, pipeline, fhir_server):
    ingest(pipeline, oru("D1", "P", "Mild cardiomegaly."),
           oru("D1", "F", "Mild cardiomegaly. Small bilateral pleural effusions."))
    assert deliver(engine, pipeline.config) == {"delivered": 1}
    (obs,) = fhir_server.search("Observation", f"{SYSTEM}/observation|D1")
    assert obs["status"] == "final" and 0 <= obs["valueQuantity"]["value"] < 1
    (report,) = fhir_server.search("DiagnosticReport", f"{SYSTEM}/diagnosticreport|D1")
    assert report["result"] == [{"reference": f"Observation/{obs['id']}"}]
    assert states(engine) == [("D1", "score", "delivered")]


def test_sending_twice_leaves_one_of_each(engine, pipeline, fhir_server):
    ingest(pipeline, oru("D2", "P", "No effusion."), oru("D2", "F", "Small effusion."))
    deliver(engine, pipeline.config)
    with engine.begin() as conn:  # as if the first response had been lost
        conn.execute(update(outbox).values(state="pending", next_attempt_at=datetime.now(UTC)))
    assert deliver(engine, pipeline.config) == {"delivered": 1}
    assert len(fhir_server.search("Observation", f"{SYSTEM}/observation|D2")) == 1
    assert len(fhir_server.search("DiagnosticReport", f"{SYSTEM}/diagnosticreport|D2")) == 1


def test_a_dead_daemons_deliveries_in_flight_go_out_at_restart(engine, pipeline, fhir_server):
    """Claimed, then the daemon died before the answer was recorded: at start-up on SQLite
    the claim is released at once instead of after its 2-minute lease, and the resend of a
    bundle the server may already hold still leaves one Observation."""
    ingest(pipeline, oru("D9", "P", "No effusion."), oru("D9", "F", "Small effusion."))
    (claimed,) = outbound.claim_due(engine, "dead-daemon", 16, timedelta(seconds=120))

    async def send_then_die() -> None:  # it reached the server; then kill -9
        sink = FhirSink(pipeline.config)
        assert (await sink.send(claimed)).result == "delivered"
        await sink.close()

    asyncio.run(send_then_die())
    assert deliver(engine, pipeline.config) == {}  # leased: nothing due
    assert outbound.release_claims(engine) == 1
    assert deliver(engine, pipeline.config) == {"delivered": 1}
    assert len(fhir_server.search("Observation", f"{SYSTEM}/observation|D9")) == 1


def test_a_delivery_after_an_outage_makes_the_waiting_bundles_due(engine, pipeline):
    """Bundles backing off because the server was unreachable (no answer, 503) are due as
    soon as it accepts one again; a 429 keeps its Retry-After, a 500 its own backoff."""
    for acc in ("W1", "W2", "W3", "W4", "W5"):
        ingest(pipeline, oru(acc, "P", "No effusion."), oru(acc, "F", "Small effusion."))
    later = datetime.now(UTC) + timedelta(hours=1)
    with engine.begin() as conn:
        for acc, status in (("W1", None), ("W2", 503), ("W3", 429), ("W4", 500)):
            conn.execute(update(outbox).where(outbox.c.accession == acc).values(
                attempts=3, last_status=status, next_attempt_at=later))
    assert deliver(engine, pipeline.config) == {"delivered": 1}  # W5, the only one due
    assert deliver(engine, pipeline.config) == {"delivered": 2}  # W1 and W2, woken by it
    assert [(a, s) for a, _, s in states(engine)] == [
        ("W1", "delivered"), ("W2", "delivered"), ("W3", "pending"), ("W4", "pending"),
        ("W5", "delivered")]


def test_correction_updates_in_place_and_cancel_marks_entered_in_error(
        engine, pipeline, fhir_server):
    ingest(pipeline, oru("D3", "P", "Small left effusion."), oru("D3", "F", "Small left effusion."))
    deliver(engine, pipeline.config)
    (first,) = fhir_server.search("Observation", f"{SYSTEM}/observation|D3")
    ingest(pipeline, oru("D3", "C", "Large right effusion."))
    deliver(engine, pipeline.config)
    (corrected,) = fhir_server.search("Observation", f"{SYSTEM}/observation|D3")
    assert corrected["id"] == first["id"] and corrected["status"] == "corrected"
    assert corrected["valueQuantity"]["value"] < first["valueQuantity"]["value"]
    assert corrected["identifier"][1]["value"] == "D3-2"
    ingest(pipeline, oru("D3", "X", "Cancelled."))
    assert deliver(engine, pipeline.config) == {"delivered": 1}
    (cancelled,) = fhir_server.search("Observation", f"{SYSTEM}/observation|D3")
    assert cancelled["id"] == first["id"] and cancelled["status"] == "entered-in-error"
    assert [s[1:] for s in states(engine)] == [("score", "delivered"), ("score", "delivered"),
                                               ("cancel", "delivered")]


def test_resource_the_server_rejects_goes_to_the_dead_letter(engine, pipeline, fhir_server):
    ingest(pipeline, oru("D4", "P", "x"), oru("D4", "F", "y"))
    with engine.begin() as conn:
        bundle = conn.execute(select(outbox.c.bundle)).scalar()
        bundle["entry"][0]["resource"]["valueQuantity"]["value"] = "not a number"
        conn.execute(update(outbox).values(bundle=bundle))  # past our own validation
    assert deliver(engine, pipeline.config) == {"dead": 1}
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.state == "dead" and row.last_status == 400
    assert row.outcome["resourceType"] == "OperationOutcome"
    assert fhir_server.search("Observation", f"{SYSTEM}/observation|D4") == []


def test_server_stopped_mid_run_then_all_arrive_once(engine, pipeline, fhir_server):
    ingest(pipeline, *[m for i in range(3) for m in (oru(f"S{i}", "P", "Small effusion."),
                                                   oru(f"S{i}", "F", "Large effusion."))])
    assert deliver(engine, pipeline.config) == {"delivered": 3}
    fhir_server.pause()
    try:
        ingest(pipeline, *[m for i in range(3, 6) for m in (oru(f"S{i}", "P", "No effusion."),
                                                          oru(f"S{i}", "F", "Effusion."))])
        assert deliver(engine, pipeline.config) == {"retry": 3}  # timeouts: nothing lost, waiting
    finally:
        fhir_server.resume()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(s[2] != "delivered" for s in states(engine)):
        deliver(engine, pipeline.config)
        time.sleep(0.1)
    assert all(s[2] == "delivered" for s in states(engine))
    for i in range(6):
        assert len(fhir_server.search("Observation", f"{SYSTEM}/observation|S{i}")) == 1
        assert len(fhir_server.search("DiagnosticReport", f"{SYSTEM}/diagnosticreport|S{i}")) == 1


def test_invalid_bundle_is_never_sent(engine, pipeline, fhir_server, monkeypatch):
    import outbound.mapping as mapping

    real = mapping.build_bundle

    def broken(*args, **kwargs):
        bundle = real(*args, **kwargs)
        bundle["entry"][0]["resource"]["status"] = "bogus"
        return bundle

    monkeypatch.setattr(outbound, "build_bundle", broken)
    ingest(pipeline, oru("D5", "P", "x"), oru("D5", "F", "y"))
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.state == "dead" and "status 'bogus'" in row.last_error
    assert deliver(engine, pipeline.config) == {}
    assert fhir_server.search("Observation", f"{SYSTEM}/observation|D5") == []
    with engine.connect() as conn:  # the score itself is kept
        assert json.dumps(conn.execute(select(outbox.c.bundle)).scalar())
