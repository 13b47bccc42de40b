"""The review app's tables (SQLAlchemy Core). `radagree` owns the engine and the migrations.

Verdicts are the labels `radagree calibrate --from-store` fits: a pair's current verdict is its
newest row, and no verdict is ever overwritten, so the history of every grade change stays.
The audit log is append-only: triggers (SQLite and PostgreSQL) refuse UPDATE and DELETE, an
insert that reuses an existing id (SQLite's REPLACE / INSERT OR REPLACE, which would otherwise
delete the old row without firing the DELETE trigger) and, on PostgreSQL, TRUNCATE; so not
even a bug in this package can rewrite who looked at which pair.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
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
from review.sources import pairs

metadata = MetaData(naming_convention=ingest.NAMING_CONVENTION)

# Roles, least to most privileged. A program director sees the cohort; an administrator also
# exports the audit log for the privacy office.
TRAINEE, ATTENDING, DIRECTOR, ADMIN = "trainee", "attending", "director", "admin"
ROLES = (TRAINEE, ATTENDING, DIRECTOR, ADMIN)

users = Table(
    "review_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False),
    Column("display_name", String(256), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("role", String(16), nullable=False),
    # The person's id in the HL7 XCN fields (OBR-32/33): how pairs are found for them.
    Column("practitioner_id", String(199), nullable=True),
    # argon2id hash for local accounts; NULL for accounts that sign in through OIDC only.
    Column("password_hash", String(256), nullable=True),
    Column("oidc_subject", String(256), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    # Bumped to sign every session of the account out (role change, deactivation, logout).
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("username"),
    UniqueConstraint("oidc_subject"),
    Index(None, "practitioner_id"),
)

CONFIRM, CHANGE = "confirm", "change"

verdicts = Table(
    "review_verdicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey(pairs.c.id), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    # confirm | change: both are labels (a confirmed grade agrees with the automatic one).
    Column("action", String(16), nullable=False),
    Column("auto_grade", Integer, nullable=False),
    Column("auto_discrepancy", String(8), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("discrepancy", String(8), nullable=False),
    Column("esas", Float, nullable=False),  # the score the automatic grade was given for
    Column("modality", String(16), nullable=False, default="unknown"),
    Column("reason", Text, nullable=False, default=""),
    Column("teaching_note", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "pair_id", "id"),
)

OPEN, ANSWERED = "open", "answered"

appeals = Table(
    "review_appeals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey(pairs.c.id), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    Column("comment", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("answer", Text, nullable=True),
    Column("answered_by", Integer, ForeignKey(users.c.id), nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Index(None, "pair_id", "id"),
    Index(None, "state", "id"),
)

comments = Table(
    "review_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey(pairs.c.id), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "pair_id", "id"),
)

conference = Table(
    "review_conference",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey(pairs.c.id), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("marked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("pair_id"),
)

audit = Table(
    "review_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),  # no FK: the log outlives any account change
    Column("username", String(128), nullable=False, default=""),
    # view | verdict | appeal | answer | comment | conference | export | login | login_failed |
    # logout | user_added ...
    Column("action", String(32), nullable=False),
    Column("pair_id", Integer, nullable=True),
    Column("detail", String(512), nullable=False, default=""),
    Column("client", String(64), nullable=False, default=""),
    Index(None, "action", "at"),
    Index(None, "pair_id"),
)

# One row per signed-in session: the cookie carries a random key whose SHA-256 is stored here,
# so signing out ends the session on the server (a copied cookie is dead from that moment)
# and an administrator can end every session of an account.
sessions = Table(
    "review_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_sha256", String(64), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("key_sha256"),
    Index(None, "user_id", "ended_at"),
)

# One row per notification sent (or tried): the key makes each one happen once, whichever
# process or replica gets there first.
notifications = Table(
    "review_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(128), nullable=False),
    Column("user_id", Integer, ForeignKey(users.c.id), nullable=False),
    Column("kind", String(16), nullable=False),  # major | digest
    Column("state", String(16), nullable=False),  # sent | failed
    Column("attempts", Integer, nullable=False, default=1),
    Column("error", String(512), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("key"),
)

# REPLACE deletes the conflicting row without firing DELETE triggers (recursive_triggers is
# off), so an insert whose id already exists is refused before the conflict is resolved.
SQLITE_NO_REPLACE = (
    "CREATE TRIGGER review_audit_no_replace BEFORE INSERT ON review_audit "
    "WHEN EXISTS (SELECT 1 FROM review_audit WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END")

# Triggers that make the audit log append-only, per dialect (migration 0004 creates them; 0005
# adds SQLITE_NO_REPLACE).
AUDIT_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit "
        "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
        "CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit "
        "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'review_audit is append-only'; END $$",
        "CREATE TRIGGER review_audit_append_only BEFORE UPDATE OR DELETE ON review_audit "
        "FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()",
        "CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only()",
    ],
}
