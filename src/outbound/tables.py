"""The outbox: every bundle to deliver, with its state, until the target accepted it.

A row is written in the same transaction that stores the score, so a score is never without
its delivery and never gets two. Rows are never deleted by delivery: `delivered` and `dead`
(with the server's OperationOutcome) stay for the operator and the retention job.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

import ingest

metadata = MetaData(naming_convention=ingest.NAMING_CONVENTION)

# pending -> sending -> delivered | pending (retry) | dead; superseded when a newer bundle of
# the same accession was queued before this one was sent.
PENDING, SENDING, DELIVERED, DEAD, SUPERSEDED = (
    "pending", "sending", "delivered", "dead", "superseded"
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # The scored pair: ingest's table, reached through ingest's public metadata.
    Column("pair_id", Integer, ForeignKey(ingest.metadata.tables["pairs"].c.id), nullable=False),
    Column("accession", String(199), nullable=False),
    Column("version", Integer, nullable=False),
    # score | cancel
    Column("kind", String(16), nullable=False),
    # fhir | folder
    Column("sink", String(16), nullable=False),
    Column("bundle", JSON, nullable=True),  # NULL once the retention job has purged it
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(128), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("outcome", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("pair_id", "kind"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "accession", "state"),
)
