"""Each package's metrics on a registry of the test's own: counters from the packages' outcome
objects, gauges from collectors that read the store when scraped (and stay out of the way
when it is down)."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from ingest import BatchOutcome, IngestMetrics, QueueCollector
from outbound import DeliveryPass, OutboundMetrics, OutboxCollector
from radagree.store import make_engine
from radagree.telemetry import ScoringMetrics
from radagree.workers import ScoreOutcome


def test_ingest_records_its_batch_outcome():
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    metrics.record_batch(BatchOutcome(messages=3, failed=1, reports=Counter({"P": 1, "F": 1}),
                                      pairing=Counter({"paired": 1, "duplicate": 1}),
                                      reused_control_ids=[(3, 1)]))
    get = registry.get_sample_value
    assert get("radagree_mllp_control_id_reused_total") == 1
    assert get("radagree_reports_total", {"status": "F"}) == 1
    assert get("radagree_pairing_events_total", {"event": "duplicate"}) == 1
    assert get("radagree_parse_failures_total") == 1


def test_outbound_records_its_delivery_pass():
    registry = CollectorRegistry()
    metrics = OutboundMetrics(registry)
    metrics.observe(DeliveryPass(Counter(delivered=1, dead=1),
                                 [("fhir", "delivered", 0.1), ("fhir", "dead", 0.2)]))
    metrics.invalid(2)
    get = registry.get_sample_value
    assert get("radagree_deliveries_total", {"sink": "fhir", "outcome": "delivered"}) == 1
    assert get("radagree_dead_letters_total", {"reason": "rejected"}) == 1
    assert get("radagree_dead_letters_total", {"reason": "invalid"}) == 2
    assert get("radagree_delivery_seconds_count", {"sink": "fhir"}) == 2


def test_scoring_records_its_outcome():
    registry = CollectorRegistry()
    ScoringMetrics(registry).record(ScoreOutcome(scored=1, grades=[4], discrepancies=["minor"],
                                                 esas=[0.8], timings=[{"ner": 2.0}],
                                                 exams=[("CT", "head")]))
    get = registry.get_sample_value
    labels = {"grade": "4", "discrepancy": "minor", "modality": "CT", "region": "head"}
    assert get("radagree_scores_total", labels) == 1
    assert get("radagree_esas_count", {"modality": "CT", "region": "head"}) == 1
    assert get("radagree_scoring_stage_seconds_count", {"stage": "ner"}) == 1


def test_two_registries_never_share_a_series():
    first, second = CollectorRegistry(), CollectorRegistry()
    IngestMetrics(first).messages.labels("ORU^R01", "accepted", "AA").inc()
    IngestMetrics(second)
    labels = {"type": "ORU^R01", "result": "accepted", "ack": "AA"}
    assert first.get_sample_value("radagree_messages_total", labels) == 1
    assert second.get_sample_value("radagree_messages_total", labels) is None


def test_a_scrape_while_the_store_is_down_still_answers():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    registry = CollectorRegistry()
    IngestMetrics(registry).reports.labels("F").inc()
    registry.register(QueueCollector(engine))
    registry.register(OutboxCollector(engine))
    names = {family.name for family in registry.collect()}
    assert "radagree_reports" in names and "radagree_queue_depth" not in names
    engine.dispose()
