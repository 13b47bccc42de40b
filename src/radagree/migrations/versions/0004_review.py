"""review app: pair attribution and headline columns, review tables, append-only audit

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PAIR_COLUMNS = [
    ("trainee_id", sa.String(length=199)),
    ("trainee_name", sa.String(length=256)),
    ("trainee_authority", sa.String(length=199)),
    ("attending_id", sa.String(length=199)),
    ("attending_name", sa.String(length=256)),
    ("attending_authority", sa.String(length=199)),
    ("esas", sa.Float()),
    ("grade", sa.Integer()),
    ("discrepancy", sa.String(length=8)),
    ("modality", sa.String(length=16)),
    ("region", sa.String(length=16)),
]


def upgrade() -> None:
    from review.tables import AUDIT_TRIGGERS

    with op.batch_alter_table("pairs", schema=None) as batch_op:
        for name, type_ in _PAIR_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index(batch_op.f("ix_pairs_trainee_id_id"), ["trainee_id", "id"])
        batch_op.create_index(batch_op.f("ix_pairs_attending_id_id"), ["attending_id", "id"])
    _backfill()

    op.create_table(
        "review_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("practitioner_id", sa.String(length=199), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("oidc_subject", sa.String(length=256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_users")),
        sa.UniqueConstraint("username", name=op.f("uq_review_users_username")),
        sa.UniqueConstraint("oidc_subject", name=op.f("uq_review_users_oidc_subject")),
    )
    op.create_index(op.f("ix_review_users_practitioner_id"), "review_users",
                    ["practitioner_id"])
    op.create_table(
        "review_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("auto_grade", sa.Integer(), nullable=False),
        sa.Column("auto_discrepancy", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("discrepancy", sa.String(length=8), nullable=False),
        sa.Column("esas", sa.Float(), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("teaching_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"],
                                name=op.f("fk_review_verdicts_pair_id_pairs")),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_verdicts_user_id_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_verdicts")),
    )
    op.create_index(op.f("ix_review_verdicts_pair_id_id"), "review_verdicts", ["pair_id", "id"])
    op.create_table(
        "review_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"],
                                name=op.f("fk_review_appeals_pair_id_pairs")),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_appeals_user_id_review_users")),
        sa.ForeignKeyConstraint(["answered_by"], ["review_users.id"],
                                name=op.f("fk_review_appeals_answered_by_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_appeals")),
    )
    op.create_index(op.f("ix_review_appeals_pair_id_id"), "review_appeals", ["pair_id", "id"])
    op.create_index(op.f("ix_review_appeals_state_id"), "review_appeals", ["state", "id"])
    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"],
                                name=op.f("fk_review_comments_pair_id_pairs")),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_comments_user_id_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comments")),
    )
    op.create_index(op.f("ix_review_comments_pair_id_id"), "review_comments", ["pair_id", "id"])
    op.create_table(
        "review_conference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"],
                                name=op.f("fk_review_conference_pair_id_pairs")),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_conference_user_id_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_conference")),
        sa.UniqueConstraint("pair_id", name=op.f("uq_review_conference_pair_id")),
    )
    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=512), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_audit")),
    )
    op.create_index(op.f("ix_review_audit_action_at"), "review_audit", ["action", "at"])
    op.create_index(op.f("ix_review_audit_pair_id"), "review_audit", ["pair_id"])
    op.create_table(
        "review_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_notifications_user_id_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_review_notifications_key")),
    )
    for statement in AUDIT_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def _backfill() -> None:
    """Pairs scored before this revision get their headline columns from the result JSON and
    their people from the stored reports (the preliminary's resident field, the final's
    attending field)."""
    from ingest import attribution
    from ingest.queue import headline

    bind = op.get_bind()
    pairs = sa.table("pairs", sa.column("id", sa.Integer), sa.column("result", sa.JSON),
                     sa.column("prelim_report_id", sa.Integer),
                     sa.column("final_report_id", sa.Integer),
                     *(sa.column(name, type_) for name, type_ in _PAIR_COLUMNS))
    reports = sa.table("reports", sa.column("id", sa.Integer), sa.column("resident", sa.String),
                       sa.column("attending", sa.String))
    prelim, final = reports.alias("prelim"), reports.alias("final")
    rows = bind.execute(
        sa.select(pairs.c.id, pairs.c.result, prelim.c.resident, final.c.attending)
        .select_from(pairs.outerjoin(prelim, prelim.c.id == pairs.c.prelim_report_id)
                     .outerjoin(final, final.c.id == pairs.c.final_report_id))).all()
    for pair_id, result, resident, attending in rows:
        data: Any = json.loads(result) if isinstance(result, str) else result
        values = attribution(resident or "", attending or "")
        if isinstance(data, dict):
            values.update(headline(data))
        bind.execute(sa.update(pairs).where(pairs.c.id == pair_id).values(**values))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_append_only ON review_audit")
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_truncate ON review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_append_only()")
    for table in ("review_notifications", "review_audit", "review_conference",
                  "review_comments", "review_appeals", "review_verdicts", "review_users"):
        op.drop_table(table)
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairs_attending_id_id"))
        batch_op.drop_index(batch_op.f("ix_pairs_trainee_id_id"))
        for name, _ in reversed(_PAIR_COLUMNS):
            batch_op.drop_column(name)
