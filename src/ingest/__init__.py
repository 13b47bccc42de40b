"""radagree ingest: HL7 v2 ORU^R01 and MDM documents over MLLP, stored before they are
acknowledged, paired by accession number. Imports no other radagree package."""

from ingest.config import FieldMap, MllpConfig
from ingest.errors import (
    ErrorCode,
    FrameTooLarge,
    FramingError,
    IngestError,
    ParseError,
    Rejection,
    StoreDefect,
    StoreFailed,
    StoreUnavailable,
)
from ingest.header import Header, peek
from ingest.message import ReportEvent, parse_reports
from ingest.metrics import IngestMetrics, QueueCollector
from ingest.pairing import expire
from ingest.people import Person, attribution, parse_person
from ingest.processor import BatchOutcome, process_pending
from ingest.queue import (
    ClaimedPair,
    ReportInfo,
    Settlement,
    cancelled_pair_ids,
    claim_pairs,
    complete,
    release,
    release_stale,
    renew,
    settle,
)
from ingest.retention import purge_text
from ingest.server import MllpServer
from ingest.store import Incoming, MessageStore, Stored, store_messages
from ingest.tables import NAMING_CONVENTION, SCORED, metadata

__all__ = [
    "NAMING_CONVENTION",
    "SCORED",
    "BatchOutcome",
    "ClaimedPair",
    "ErrorCode",
    "FieldMap",
    "FrameTooLarge",
    "FramingError",
    "Header",
    "Incoming",
    "IngestError",
    "IngestMetrics",
    "MessageStore",
    "MllpConfig",
    "MllpServer",
    "ParseError",
    "Person",
    "QueueCollector",
    "Rejection",
    "ReportEvent",
    "ReportInfo",
    "Settlement",
    "StoreDefect",
    "StoreFailed",
    "StoreUnavailable",
    "Stored",
    "attribution",
    "cancelled_pair_ids",
    "claim_pairs",
    "complete",
    "expire",
    "metadata",
    "parse_person",
    "parse_reports",
    "peek",
    "process_pending",
    "purge_text",
    "release",
    "release_stale",
    "renew",
    "settle",
    "store_messages",
]
