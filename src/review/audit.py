"""The append-only audit log: who viewed or changed which pair, when, from where.

Rows carry ids and a short detail (a grade, a count), never report text or a patient
identifier. The table refuses UPDATE and DELETE (triggers), and the export is a CSV for the
privacy office.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from review import csvout
from review.people import Principal
from review.tables import audit

EXPORT_COLUMNS = ("id", "at", "user_id", "username", "action", "pair_id", "detail", "client")


def record(conn: Connection, principal: Principal | None, action: str, *,
           pair_id: int | None = None, detail: str = "", client: str = "",
           username: str | None = None) -> None:
    conn.execute(insert(audit).values(
        at=datetime.now(UTC), user_id=principal.id if principal else None,
        username=(principal.username if principal else username or "")[:128],
        action=action, pair_id=pair_id, detail=detail[:512], client=client[:64],
    ))


def export_csv(engine: Engine, since: datetime | None = None,
               until: datetime | None = None) -> Iterator[str]:
    """The log as CSV text, oldest first, streamed in chunks (`review.csvout`: user names
    typed at the sign-in form are guarded like every other cell)."""
    query = select(*(audit.c[c] for c in EXPORT_COLUMNS)).order_by(audit.c.id)
    if since is not None:
        query = query.where(audit.c.at >= since)
    if until is not None:
        query = query.where(audit.c.at < until)
    with engine.connect() as conn:
        rows = ((r[0], _iso(r[1]), *r[2:]) for r in conn.execute(query))
        yield from csvout.stream(EXPORT_COLUMNS, rows)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")
