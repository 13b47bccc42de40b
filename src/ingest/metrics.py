"""Prometheus metrics of the ingest stage (DESIGN.md §5). Labels never carry patient data:
message type, result and ACK code are from fixed small sets."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ingest.tables import RECEIVED, messages, pairs, reports

MESSAGES = Counter(
    "radagree_messages",
    "HL7 messages answered, by message type, result and ACK code.",
    ["type", "result", "ack"],
)
ACK_LATENCY = Histogram(
    "radagree_ack_latency_seconds",
    "From the end of a frame to its ACK written (includes the store commit).",
    # fine around the 25 ms p99 target, so a dashboard can tell 20 ms from 30 ms
    buckets=(0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1,
             0.25, 0.5, 1, 2.5, 5),
)
FRAMES_MISSING_CR = Counter(
    "radagree_mllp_missing_final_cr", "Frames whose 0x1C was not followed by 0x0D (tolerated)."
)
FRAMING_ERRORS = Counter(
    "radagree_mllp_framing_errors", "Connections closed for bytes that are not MLLP frames."
)
CONTROL_ID_REUSED = Counter(
    "radagree_mllp_control_id_reused",
    "New messages whose sender + MSH-10 an earlier, different message already used.",
)
CONNECTIONS = Gauge("radagree_mllp_connections", "Open MLLP connections.")
CONNECTIONS_REFUSED = Counter(
    "radagree_mllp_connections_refused", "Connections refused, by reason.", ["reason"]
)
REPORTS = Counter("radagree_reports", "Reports stored, by OBR-25 status.", ["status"])
PARSE_FAILURES = Counter(
    "radagree_parse_failures", "Stored messages that yielded no report (reason on the row)."
)
PAIR_EVENTS = Counter(
    "radagree_pairing_events",
    "Pairing outcomes: paired, prelim_waiting, final_waiting, corrected, late_prelim, "
    "cancelled, partial, duplicate, final_without_prelim, expired_prelim.",
    ["event"],
)
PAIRS = Gauge("radagree_pairs", "Pairs by state.", ["state"])
QUEUE_DEPTH = Gauge("radagree_queue_depth", "Items waiting, by queue.", ["queue"])
OLDEST_UNPAIRED_PRELIM = Gauge(
    "radagree_oldest_unpaired_prelim_age_seconds",
    "Age of the oldest preliminary still waiting for its final (0 when none).",
)

_PAIR_STATES = ("waiting", "ready", "scoring", "scored", "failed", "cancelled",
                "final_without_prelim")


def refresh_gauges(engine: Engine) -> None:
    """Read the queue depths and pair states from the store (run on a schedule)."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
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
    QUEUE_DEPTH.labels("messages_unparsed").set(unparsed)
    QUEUE_DEPTH.labels("pairs_ready").set(by_state.get("ready", 0))
    for state in _PAIR_STATES:
        PAIRS.labels(state).set(by_state.get(state, 0))
    if oldest is None:
        OLDEST_UNPAIRED_PRELIM.set(0)
    else:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        OLDEST_UNPAIRED_PRELIM.set(max(0.0, (now - oldest).total_seconds()))
