"""Prometheus metrics of the outbound stage (DESIGN.md §5), the client_python way: the registry
is passed in, counters are recorded from outbound's own `DeliveryPass`, and the outbox gauges
are read from the store at scrape time. Labels: sink, outcome, state, reason."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from outbound.delivery import DeliveryPass
from outbound.outbox import depth

STATES = ("pending", "sending", "delivered", "dead", "superseded")


class OutboundMetrics:
    """Delivery counters on `registry` (None: not exported)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.deliveries = Counter(
            "radagree_deliveries", "Delivery attempts by sink and outcome (delivered/retry/dead).",
            ["sink", "outcome"], registry=registry)
        self.delivery_latency = Histogram(
            "radagree_delivery_seconds", "Time of one delivery attempt.", ["sink"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry)
        self.dead_letters = Counter(
            "radagree_dead_letters",
            "Bundles moved to the dead letter, by reason (invalid/rejected).", ["reason"],
            registry=registry)

    def observe(self, passed: DeliveryPass) -> None:
        """One delivery pass (run in the delivery process; the daemon owns the registry)."""
        for sink, result, seconds in passed.attempts:
            self.deliveries.labels(sink, result).inc()
            self.delivery_latency.labels(sink).observe(seconds)
            if result == "dead":
                self.dead_letters.labels("rejected").inc()

    def invalid(self, count: int) -> None:
        """Bundles that failed validation and were stored dead, never sent."""
        if count:
            self.dead_letters.labels("invalid").inc(count)


class OutboxCollector(Collector):
    """Outbox rows by state and the age of the oldest undelivered bundle, at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        try:
            by_state, oldest = depth(self._engine)
        except SQLAlchemyError:
            return iter(())  # store down: /readyz says so; the other metrics still scrape
        rows, age = self._families()
        for state in STATES:
            rows.add_metric([state], by_state.get(state, 0))
        age.add_metric([], oldest)
        return iter((rows, age))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("radagree_outbox", "Outbox rows by state.", labels=["state"]),
                GaugeMetricFamily("radagree_outbox_oldest_pending_age_seconds",
                                  "Age of the oldest undelivered bundle."))
