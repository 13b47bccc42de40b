"""The retention purge: report text and raw messages older than the horizon are removed;
everything else (who sent what when, accessions, pairs, scores) stays.

Text still needed is kept whatever its age: a report of a pair not yet scored, and a
preliminary still waiting for its final.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.engine import Connection

from ingest.tables import FAILED as MESSAGE_FAILED
from ingest.tables import (
    PARSED,
    READY,
    REJECTED,
    SCORING,
    WAITING,
    messages,
    pairs,
    reports,
)

_OPEN_PAIR_STATES = (WAITING, READY, SCORING)


def purge_text(conn: Connection, cutoff: datetime) -> dict[str, int]:
    """Blank report text and raw bytes received before `cutoff`; returns counts."""
    needed = exists().where(
        pairs.c.state.in_(_OPEN_PAIR_STATES),
        or_(pairs.c.prelim_report_id == reports.c.id, pairs.c.final_report_id == reports.c.id),
    )
    purged_reports = conn.execute(
        update(reports)
        .where(and_(reports.c.received_at < cutoff, reports.c.text.is_not(None),
                    reports.c.pairing != "unpaired", ~needed))
        .values(text=None)
    ).rowcount or 0
    open_report = exists().where(reports.c.message_id == messages.c.id,
                                 reports.c.text.is_not(None))
    purged_messages = conn.execute(
        update(messages)
        .where(and_(messages.c.received_at < cutoff,
                    messages.c.state.in_((PARSED, MESSAGE_FAILED, REJECTED)),
                    messages.c.size > 0, messages.c.raw != b"", ~open_report))
        .values(raw=b"")
    ).rowcount or 0
    return {"reports": purged_reports, "messages": purged_messages}
