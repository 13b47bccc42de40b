"""review app (issue #18): server-side sessions; the SQLite audit log refuses REPLACE

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from review.tables import SQLITE_NO_REPLACE

    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["review_users.id"],
                                name=op.f("fk_review_sessions_user_id_review_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sessions")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_review_sessions_key_sha256")),
    )
    op.create_index(op.f("ix_review_sessions_user_id_ended_at"), "review_sessions",
                    ["user_id", "ended_at"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_NO_REPLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_replace")
    op.drop_index(op.f("ix_review_sessions_user_id_ended_at"), table_name="review_sessions")
    op.drop_table("review_sessions")
