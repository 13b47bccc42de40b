"""What people change: verdicts (the labels), appeals and their answers, comments, conference
marks. Each checks the role (`access.check`) and the pair's visibility itself and writes its
audit row in the same transaction, so no change is ever unaudited and no route can skip a
check.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from review import audit
from review.access import Denied, check, visible
from review.people import Principal
from review.queries import DISCREPANCIES
from review.sources import SCORED, pairs
from review.tables import (
    ANSWERED,
    CHANGE,
    CONFIRM,
    OPEN,
    appeals,
    comments,
    conference,
    verdicts,
)

MAX_TEXT = 4000


# The person may not do this to this pair (answered 403): the one refusal of `review.access`.
Forbidden = Denied


class Invalid(ValueError):
    """The form is wrong (answered 400 with the message)."""


def _pair(conn: Connection, principal: Principal, pair_id: int) -> object:
    row = conn.execute(select(pairs.c.id, pairs.c.grade, pairs.c.discrepancy, pairs.c.esas,
                              pairs.c.modality)
                       .where(pairs.c.id == pair_id, pairs.c.state == SCORED,
                              visible(principal))).first()
    if row is None:
        raise Forbidden(f"pair {pair_id} is not yours")
    return row


def _text(value: str, what: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{what} is required")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what} is longer than {MAX_TEXT} characters")
    return value


def record_verdict(conn: Connection, principal: Principal, pair_id: int, *, grade: int,
                   discrepancy: str, reason: str, teaching_note: str, max_grade: int = 5,
                   client: str = "") -> str:
    """The attending confirms or changes the grade and discrepancy class: a new label."""
    check(principal, "grade")
    pair = _pair(conn, principal, pair_id)
    if not 1 <= grade <= max_grade:
        raise Invalid(f"grade must lie in 1..{max_grade}")
    if discrepancy not in DISCREPANCIES:
        raise Invalid("discrepancy must be none, minor or major")
    action = CONFIRM if (grade == pair.grade and discrepancy == pair.discrepancy) else CHANGE  # type: ignore[attr-defined]
    reason = _text(reason, "a reason", required=action == CHANGE)
    conn.execute(insert(verdicts).values(
        pair_id=pair_id, user_id=principal.id, action=action,
        auto_grade=pair.grade, auto_discrepancy=pair.discrepancy,  # type: ignore[attr-defined]
        grade=grade, discrepancy=discrepancy, esas=pair.esas or 0.0,  # type: ignore[attr-defined]
        modality=pair.modality or "unknown", reason=reason,  # type: ignore[attr-defined]
        teaching_note=_text(teaching_note, "the teaching note", required=False),
        created_at=datetime.now(UTC)))
    audit.record(conn, principal, "verdict", pair_id=pair_id,
                 detail=f"{action} grade {pair.grade}->{grade} "  # type: ignore[attr-defined]
                        f"{pair.discrepancy}->{discrepancy}", client=client)  # type: ignore[attr-defined]
    return action


def open_appeal(conn: Connection, principal: Principal, pair_id: int, comment: str,
                client: str = "") -> int:
    """The trainee's "I disagree": one open appeal per pair, sent to the attending."""
    check(principal, "appeal")
    _pair(conn, principal, pair_id)
    comment = _text(comment, "a comment", required=True)
    if conn.execute(select(appeals.c.id).where(appeals.c.pair_id == pair_id,
                                               appeals.c.state == OPEN)).first():
        raise Invalid("an appeal on this pair is already open")
    appeal_id = conn.execute(insert(appeals).values(
        pair_id=pair_id, user_id=principal.id, comment=comment, state=OPEN,
        opened_at=datetime.now(UTC))).inserted_primary_key[0]
    audit.record(conn, principal, "appeal", pair_id=pair_id, detail=f"appeal {appeal_id}",
                 client=client)
    return int(appeal_id)


def pair_of_appeal(conn: Connection, appeal_id: int) -> int | None:
    row = conn.execute(select(appeals.c.pair_id).where(appeals.c.id == appeal_id)).first()
    return None if row is None else int(row.pair_id)


def answer_appeal(conn: Connection, principal: Principal, appeal_id: int, answer: str,
                  client: str = "") -> int:
    """The attending answers; the pair id is returned for the redirect."""
    check(principal, "answer")
    row = conn.execute(select(appeals.c.pair_id, appeals.c.state)
                       .where(appeals.c.id == appeal_id)).first()
    if row is None:
        raise Forbidden(f"appeal {appeal_id} is not yours")
    _pair(conn, principal, row.pair_id)
    if row.state != OPEN:
        raise Invalid("this appeal is already answered")
    conn.execute(update(appeals).where(appeals.c.id == appeal_id, appeals.c.state == OPEN)
                 .values(state=ANSWERED, answer=_text(answer, "an answer", required=True),
                         answered_by=principal.id, answered_at=datetime.now(UTC)))
    audit.record(conn, principal, "answer", pair_id=row.pair_id, detail=f"appeal {appeal_id}",
                 client=client)
    return int(row.pair_id)


def add_comment(conn: Connection, principal: Principal, pair_id: int, body: str,
                client: str = "") -> None:
    _pair(conn, principal, pair_id)
    conn.execute(insert(comments).values(pair_id=pair_id, user_id=principal.id,
                                         body=_text(body, "a comment", required=True),
                                         created_at=datetime.now(UTC)))
    audit.record(conn, principal, "comment", pair_id=pair_id, client=client)


def mark_conference(conn: Connection, principal: Principal, pair_id: int, note: str,
                    active: bool, client: str = "") -> None:
    """Mark (or unmark) a case for the teaching conference."""
    check(principal, "mark_conference")
    _pair(conn, principal, pair_id)
    note = _text(note, "the note", required=False)
    now = datetime.now(UTC)
    if conn.execute(select(conference.c.id).where(conference.c.pair_id == pair_id)).first():
        conn.execute(update(conference).where(conference.c.pair_id == pair_id).values(
            note=note, active=active, user_id=principal.id, marked_at=now))
    else:
        conn.execute(insert(conference).values(pair_id=pair_id, user_id=principal.id,
                                               note=note, active=active, marked_at=now))
    audit.record(conn, principal, "conference", pair_id=pair_id,
                 detail="marked" if active else "unmarked", client=client)
