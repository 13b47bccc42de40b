"""The ingest tables (SQLAlchemy Core). `radagree` owns the engine and the migrations.

Nothing here is ever deleted except by the retention job. A message row exists for every frame
that reached the listener with a readable start (accepted, duplicate-with-other-content or
rejected), so an ACK always points at a stored row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Constraint and index names every package's tables use (migrations name them explicitly).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Message states: received -> parsed | failed; refused messages are stored as rejected.
RECEIVED, PARSED, FAILED, REJECTED = "received", "parsed", "failed", "rejected"

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    # sender + "|" + MSH-10; NULL when there is no control id. With `sha256` it finds a
    # resend (same key, same bytes); the same key with other bytes is a new message.
    Column("dedupe_key", String(512), nullable=True),
    Column("sender", String(256), nullable=False, default=""),
    Column("control_id", String(199), nullable=False, default=""),
    Column("message_type", String(32), nullable=False, default=""),
    Column("peer", String(128), nullable=False, default=""),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("ack_code", String(2), nullable=False),
    Column("state", String(16), nullable=False),
    # A refusal as it was answered (table 0357 code, ERR location, "text: detail"), so a
    # resend of the same bytes hears exactly the same answer.
    Column("error_code", String(8), nullable=True),
    Column("error_segment", String(8), nullable=True),
    Column("error_field", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("dedupe_key", "sha256"),
    Index(None, "state", "id"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("obr_index", Integer, nullable=False),
    Column("accession", String(199), nullable=False),
    Column("status", String(1), nullable=False),
    Column("text", Text, nullable=True),  # NULL once the retention job has purged it
    # SHA-256 of the text (kept when the text is purged): with accession and status it says
    # whether this report was seen before, so a resend under a new MSH-10 scores nothing new.
    Column("text_sha256", String(64), nullable=True),
    Column("patient_id", String(199), nullable=False, default=""),
    Column("procedure", String(512), nullable=False, default=""),
    Column("attending", String(512), nullable=False, default=""),
    Column("resident", String(512), nullable=False, default=""),
    Column("observed_at", String(32), nullable=False, default=""),
    Column("status_changed_at", String(32), nullable=False, default=""),
    Column("has_embedded_document", Boolean, nullable=False, default=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    # unpaired | paired | superseded | late | expired | cancelled | partial | duplicate
    Column("pairing", String(16), nullable=False),
    UniqueConstraint("message_id", "obr_index"),
    Index(None, "accession", "status"),
    Index(None, "pairing", "status", "received_at"),
)

# Pair states. `waiting` = a final whose preliminary has not arrived (within the window).
WAITING, READY, SCORING, SCORED, FAILED_PAIR = "waiting", "ready", "scoring", "scored", "failed"
CANCELLED, NO_PRELIM = "cancelled", "final_without_prelim"

pairs = Table(
    "pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("accession", String(199), nullable=False),
    # 1 for the first final, +1 for each correction: the FHIR identifier is accession-version.
    Column("version", Integer, nullable=False),
    Column("prelim_report_id", Integer, ForeignKey("reports.id"), nullable=True),
    Column("final_report_id", Integer, ForeignKey("reports.id"), nullable=False),
    Column("final_status", String(1), nullable=False),
    Column("state", String(24), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    # Who wrote the preliminary (the trainee) and who signed the final (the attending): the
    # configured XCN fields of those two reports (id, name, assigning authority).
    Column("trainee_id", String(199), nullable=True),
    Column("trainee_name", String(256), nullable=True),
    Column("trainee_authority", String(199), nullable=True),
    Column("attending_id", String(199), nullable=True),
    Column("attending_name", String(256), nullable=True),
    Column("attending_authority", String(199), nullable=True),
    # The result's headline, in columns so the review app lists and aggregates 100k pairs
    # without parsing JSON (filled when the score is stored).
    Column("esas", Float, nullable=True),
    Column("grade", Integer, nullable=True),
    Column("discrepancy", String(8), nullable=True),
    Column("modality", String(16), nullable=True),
    Column("region", String(16), nullable=True),
    # The study's own time (`studytime.study_time`: OBR-7, else OBR-22, else arrival), set
    # when the pair is created; `created_at` stays the arrival. The review app dates by it.
    Column("study_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("accession", "version"),
    Index(None, "state", "id"),
    Index(None, "trainee_id", "id"),
    Index(None, "attending_id", "id"),
    Index(None, "study_at"),
)
