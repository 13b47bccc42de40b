"""radagree outbound: FHIR R4 Observation + DiagnosticReport (+ Provenance) for each scored
pair, validated, queued in the outbox with the score, delivered idempotently with retries.
Imports `ingest` and `scoring` for their types only."""

from outbound.codes import CODE_SYSTEM, code_system
from outbound.config import FhirConfig
from outbound.delivery import DeliveryPass, backoff, deliver_due
from outbound.mapping import build_bundle, cancellation_of, conclusion, provenance_id
from outbound.metrics import OutboundMetrics, OutboxCollector
from outbound.outbox import (
    OutboxItem,
    claim_due,
    enqueue,
    enqueue_cancellations,
    purge_bundles,
    record,
    release_claims,
    requeue,
)
from outbound.sinks import Attempt, FhirSink, FolderSink, Sink, make_sink
from outbound.tables import metadata
from outbound.validate import InvalidBundle, check, problems

__all__ = [
    "CODE_SYSTEM",
    "Attempt",
    "DeliveryPass",
    "FhirConfig",
    "FhirSink",
    "FolderSink",
    "InvalidBundle",
    "OutboundMetrics",
    "OutboxCollector",
    "OutboxItem",
    "Sink",
    "backoff",
    "build_bundle",
    "cancellation_of",
    "check",
    "claim_due",
    "code_system",
    "conclusion",
    "deliver_due",
    "enqueue",
    "enqueue_cancellations",
    "make_sink",
    "metadata",
    "problems",
    "provenance_id",
    "purge_bundles",
    "record",
    "release_claims",
    "requeue",
]
