"""Prometheus metrics of the ingest stage (DESIGN.md §5), the client_python way: the registry
is passed in (tests use a fresh one), counters are recorded from ingest's own outcome objects,
and the queue gauges are read from the store when Prometheus scrapes, not on a timer.

Labels never carry patient data: message type, result and ACK code are from fixed small sets.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ingest.processor import BatchOutcome
from ingest.tables import RECEIVED, messages, pairs, reports

PAIR_STATES = ("waiting", "ready", "scoring", "scored", "failed", "cancelled",
               "final_without_prelim")


class IngestMetrics:
    """The listener's and the processor's counters, on `registry` (None: not exported)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.messages = Counter(
            "radagree_messages", "HL7 messages answered, by message type, result and ACK code.",
            ["type", "result", "ack"], registry=registry)
        self.ack_latency = Histogram(
            "radagree_ack_latency_seconds",
            "From the end of a frame to its ACK written (includes the store commit).",
            # fine around the 25 ms p99 target, so a dashboard can tell 20 ms from 30 ms
            buckets=(0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
                     0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry)
        self.frames_missing_cr = Counter(
            "radagree_mllp_missing_final_cr",
            "Frames whose 0x1C was not followed by 0x0D (tolerated).", registry=registry)
        self.framing_errors = Counter(
            "radagree_mllp_framing_errors",
            "Connections closed for bytes that are not MLLP frames.", registry=registry)
        self.control_id_reused = Counter(
            "radagree_mllp_control_id_reused",
            "New messages whose sender + MSH-10 an earlier, different message already used.",
            registry=registry)
        self.connections = Gauge("radagree_mllp_connections", "Open MLLP connections.",
                                 registry=registry)
        self.connections_refused = Counter(
            "radagree_mllp_connections_refused", "Connections refused, by reason.", ["reason"],
            registry=registry)
        self.reports = Counter("radagree_reports", "Reports stored, by OBR-25 status.",
                               ["status"], registry=registry)
        self.parse_failures = Counter(
            "radagree_parse_failures",
            "Stored messages that yielded no report (reason on the row).", registry=registry)
        self.pairing_events = Counter(
            "radagree_pairing_events",
            "Pairing outcomes: paired, prelim_waiting, final_waiting, corrected, late_prelim, "
            "cancelled, partial, duplicate, final_without_prelim, expired_prelim.",
            ["event"], registry=registry)

    def record_batch(self, outcome: BatchOutcome) -> None:
        """What one processing pass stored and paired."""
        for status, n in outcome.reports.items():
            self.reports.labels(status).inc(n)
        self.record_pairing(outcome.pairing)
        if outcome.reused_control_ids:
            self.control_id_reused.inc(len(outcome.reused_control_ids))
        if outcome.failed:
            self.parse_failures.inc(outcome.failed)

    def record_pairing(self, events: Tally[str]) -> None:
        """Pairing events, from a processing pass or the expiry sweep."""
        for event, n in events.items():
            if n:
                self.pairing_events.labels(event).inc(n)


class QueueCollector(Collector):
    """Queue depths, pairs by state and the oldest waiting preliminary, read from the store
    at scrape time (one small query each; the store's indexes serve them)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        try:
            unparsed, by_state, oldest = self._read()
        except SQLAlchemyError:
            return iter(())  # store down: /readyz says so; the other metrics still scrape
        depth, states, age = self._families()
        depth.add_metric(["messages_unparsed"], unparsed)
        depth.add_metric(["pairs_ready"], by_state.get("ready", 0))
        for state in PAIR_STATES:
            states.add_metric([state], by_state.get(state, 0))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        return iter((depth, states, age))

    def _read(self) -> tuple[int, dict[str, int], datetime | None]:
        with self._engine.connect() as conn:
            unparsed = conn.execute(
                select(func.count()).select_from(messages).where(messages.c.state == RECEIVED)
            ).scalar_one()
            by_state = dict(
                conn.execute(select(pairs.c.state, func.count()).group_by(pairs.c.state)).all()
            )
            oldest = conn.execute(
                select(func.min(reports.c.received_at)).where(
                    reports.c.pairing == "unpaired", reports.c.status == "P"
                )
            ).scalar()
        return unparsed, by_state, oldest

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("radagree_queue_depth", "Items waiting, by queue.",
                              labels=["queue"]),
            GaugeMetricFamily("radagree_pairs", "Pairs by state.", labels=["state"]),
            GaugeMetricFamily("radagree_oldest_unpaired_prelim_age_seconds",
                              "Age of the oldest preliminary still waiting for its final "
                              "(0 when none)."),
        )
