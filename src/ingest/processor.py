"""From stored messages to reports and pairs, exactly once.

Each message is parsed outside any transaction (parsing is the slow part, and SQLite has one
writer), then claimed with a conditional UPDATE (`state = 'received'` -> `'parsed'`) in the
same transaction that inserts its reports and runs the pairing. A message is therefore turned
into reports once, whichever process or crash came first: a crash before the commit leaves it
`received`, and whoever claims it first wins.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from ingest.config import MllpConfig
from ingest.document_versions import settle_documents
from ingest.message import ParseError, ReportEvent, parse_reports
from ingest.pairing import PairingReport, lock_accessions, on_report
from ingest.tables import FAILED, PARSED, RECEIVED, messages, reports

log = structlog.get_logger("ingest.processor")


@dataclass
class BatchOutcome:
    """What one pass did, for metrics and tests."""

    messages: int = 0
    failed: int = 0
    reports: Counter[str] = field(default_factory=Counter)
    pairing: Counter[str] = field(default_factory=Counter)
    # (message, earlier message) where a sender re-used a control id for other content.
    reused_control_ids: list[tuple[int, int]] = field(default_factory=list)


def process_pending(engine: Engine, config: MllpConfig, limit: int = 200) -> BatchOutcome:
    """Parse up to `limit` received messages (oldest first) and pair their reports."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.id, messages.c.raw, messages.c.received_at)
            .where(messages.c.state == RECEIVED)
            .order_by(messages.c.id)
            .limit(limit)
        ).all()
    outcome = BatchOutcome()
    if not rows:
        return outcome
    parsed: list[tuple[int, datetime, list[ReportEvent] | ParseError]] = []
    for row in rows:
        try:
            events: list[ReportEvent] | ParseError = parse_reports(row.raw, config)
        except ParseError as exc:
            events = exc
        parsed.append((row.id, row.received_at, events))
    now = datetime.now(UTC)
    ok_ids = [mid for mid, _, events in parsed if isinstance(events, list)]
    with engine.begin() as conn:
        lock_accessions(
            conn, [e.accession for _, _, ev in parsed if isinstance(ev, list) for e in ev]
        )
        # Claim: only rows still `received` are ours; another processor may have won some.
        claimed = set(
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ok_ids), messages.c.state == RECEIVED)
                .values(state=PARSED, processed_at=now)
                .returning(messages.c.id)
            ).scalars()
        ) if ok_ids else set()
        failed = {
            message_id for message_id, _, events in parsed
            if isinstance(events, ParseError) and conn.execute(
                _FAIL, {"mid": message_id, "now": now, "reason": str(events)}).rowcount
        }
        outcome.messages += len(failed)
        outcome.failed += len(failed)
        outcome.reused_control_ids = _reused_control_ids(conn, claimed | failed)
        taken = [(message_id, received_at, event) for message_id, received_at, events in parsed
                 if message_id in claimed and isinstance(events, list) for event in events]
        outcome.messages += len({message_id for message_id, _, _ in taken})
        settled = settle_documents(conn, [event for _, _, event in taken])
        rows = [_report_row(message_id, received_at, event)
                for (message_id, received_at, _), event in zip(taken, settled, strict=True)]
        if not rows:
            return outcome
        ids = conn.execute(
            reports.insert().returning(reports.c.id, sort_by_parameter_order=True), rows
        ).scalars().all()
        for report_id, row in zip(ids, rows, strict=True):
            outcome.reports[row["status"]] += 1
            report = PairingReport(int(report_id), row["accession"], row["status"],
                                   row["status_changed_at"], row["observed_at"],
                                   row["text_sha256"])
            outcome.pairing[on_report(conn, report, now)] += 1
    return outcome


def _reused_control_ids(conn: Connection, ids: set[int]) -> list[tuple[int, int]]:
    """Messages among `ids` whose sender + MSH-10 an earlier message with other content used
    (a resend with the same bytes is never stored twice), with the first such message. The
    listener accepted them as new messages; this is where they are counted and logged, off
    the ACK path."""
    if not ids:
        return []
    earlier = aliased(messages)
    found = [(int(mid), int(first)) for mid, first in conn.execute(
        select(messages.c.id, func.min(earlier.c.id))
        .join(earlier, and_(earlier.c.dedupe_key == messages.c.dedupe_key,
                            earlier.c.id < messages.c.id))
        .where(messages.c.id.in_(ids))
        .group_by(messages.c.id)
    ).all()]
    for message_id, first in found:
        log.warning("control_id_reused", message=message_id, earlier=first)
    return found


_FAIL = (
    update(messages)
    .where(messages.c.id == bindparam("mid"), messages.c.state == RECEIVED)
    .values(state=FAILED, processed_at=bindparam("now"), error=bindparam("reason"))
)


def _report_row(message_id: int, received_at: datetime, event: ReportEvent) -> dict:
    return {
        "message_id": message_id,
        "obr_index": event.obr_index,
        "accession": event.accession,
        "status": event.status,
        "text": event.text,
        "text_sha256": hashlib.sha256(event.text.encode("utf-8")).hexdigest(),
        "patient_id": event.patient_id[:199],
        "procedure": event.procedure[:512],
        "attending": event.attending[:512],
        "resident": event.resident[:512],
        "observed_at": event.observed_at[:32],
        "status_changed_at": event.status_changed_at[:32],
        "has_embedded_document": event.has_embedded_document,
        "received_at": received_at,
        "pairing": "new",
    }
