"""sender quirks (issue #14): refusals keep their ERR location; a reused MSH-10 is a new
message; reports carry the hash of their text

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_segment", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("error_field", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_messages_dedupe_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_dedupe_key_sha256"), ["dedupe_key", "sha256"]
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_sha256", sa.String(length=64), nullable=True))
    _hash_stored_texts()


def _hash_stored_texts() -> None:
    """Reports stored before this revision get their hash too (in pages: memory stays flat),
    so a resend of one of them is recognised as well. Purged texts stay NULL."""
    conn = op.get_bind()
    reports = sa.table("reports", sa.column("id", sa.Integer), sa.column("text", sa.Text),
                       sa.column("text_sha256", sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(reports.c.id, reports.c.text)
            .where(reports.c.id > last, reports.c.text.is_not(None))
            .order_by(reports.c.id).limit(1000)
        ).all()
        if not rows:
            return
        conn.execute(
            reports.update().where(reports.c.id == sa.bindparam("rid"))
            .values(text_sha256=sa.bindparam("digest")),
            [{"rid": r.id, "digest": hashlib.sha256(r.text.encode("utf-8")).hexdigest()}
             for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("text_sha256")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_messages_dedupe_key_sha256"), type_="unique")
        batch_op.create_unique_constraint("uq_messages_dedupe_key", ["dedupe_key"])
        batch_op.drop_column("error_field")
        batch_op.drop_column("error_segment")
