"""review app (issue #18): server-side sessions; the SQLite audit log refuses REPLACE;
pairs carry the study's own time (study_at), existing pairs backfilled from their final report

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
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_pairs_study_at"), ["study_at"])
    _backfill_study_at()


def _backfill_study_at(chunk: int = 2000) -> None:
    """Every existing pair: its final report's OBR-7, else OBR-22, else its arrival."""
    from ingest.studytime import study_time

    bind = op.get_bind()
    pairs = sa.table("pairs", sa.column("id", sa.Integer),
                     sa.column("final_report_id", sa.Integer),
                     sa.column("created_at", sa.DateTime(timezone=True)),
                     sa.column("study_at", sa.DateTime(timezone=True)))
    reports = sa.table("reports", sa.column("id", sa.Integer),
                       sa.column("observed_at", sa.String),
                       sa.column("status_changed_at", sa.String))
    rows = bind.execute(
        sa.select(pairs.c.id, reports.c.observed_at, reports.c.status_changed_at,
                  pairs.c.created_at)
        .select_from(pairs.outerjoin(reports, reports.c.id == pairs.c.final_report_id))).all()
    update = (sa.update(pairs).where(pairs.c.id == sa.bindparam("pid"))
              .values(study_at=sa.bindparam("at")))
    values = [{"pid": pid, "at": study_time(observed or "", changed or "", created)}
              for pid, observed, changed, created in rows]
    for start in range(0, len(values), chunk):
        bind.execute(update, values[start:start + chunk])


def downgrade() -> None:
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairs_study_at"))
        batch_op.drop_column("study_at")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_replace")
    op.drop_index(op.f("ix_review_sessions_user_id_ended_at"), table_name="review_sessions")
    op.drop_table("review_sessions")
