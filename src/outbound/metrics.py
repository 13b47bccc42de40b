"""Prometheus metrics of the outbound stage (DESIGN.md §5). Labels: sink, outcome, state."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.engine import Engine

DELIVERIES = Counter(
    "radagree_deliveries", "Delivery attempts by sink and outcome (delivered/retry/dead).",
    ["sink", "outcome"],
)
DELIVERY_LATENCY = Histogram(
    "radagree_delivery_seconds", "Time of one delivery attempt.", ["sink"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DEAD_LETTERS = Counter(
    "radagree_dead_letters", "Bundles moved to the dead letter, by reason (invalid/rejected).",
    ["reason"],
)
OUTBOX = Gauge("radagree_outbox", "Outbox rows by state.", ["state"])
OUTBOX_OLDEST = Gauge(
    "radagree_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered bundle."
)

_STATES = ("pending", "sending", "delivered", "dead", "superseded")


def refresh_gauges(engine: Engine) -> None:
    from outbound.outbox import depth

    by_state, oldest = depth(engine)
    for state in _STATES:
        OUTBOX.labels(state).set(by_state.get(state, 0))
    OUTBOX_OLDEST.set(oldest)
