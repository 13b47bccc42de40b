"""Outbox operations: enqueue with the score, claim what is due, record each outcome.

Claims work like the scoring queue (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer
on SQLite) with a lease: a claimed row's `next_attempt_at` is pushed `lease` ahead, so a
replica that dies mid-delivery leaves a row that becomes due again by itself.
Per accession, bundles go out in order: a newer bundle supersedes an older one still pending,
and nothing is claimed while an older bundle of its accession is in flight — an old retry can
never overwrite a correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from ingest import cancelled_pair_ids
from outbound.mapping import cancellation_of
from outbound.tables import DEAD, DELIVERED, PENDING, SENDING, SUPERSEDED, outbox
from outbound.validate import problems


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    pair_id: int
    accession: str
    version: int
    kind: str
    sink: str
    bundle: dict[str, Any]
    attempts: int
    created_at: datetime


def enqueue(
    conn: Connection, *, pair_id: int, accession: str, version: int, kind: str, sink: str,
    bundle: dict[str, Any], issues: list[str] | None = None, now: datetime | None = None,
) -> str:
    """Queue a bundle in the caller's transaction. An invalid bundle is never sent: it is
    stored as dead with every validation problem, and the state says so.

    `issues` lets the caller validate before its transaction (validation takes milliseconds,
    the transaction holds SQLite's write lock); None validates here.
    """
    now = now or datetime.now(UTC)
    if issues is None:
        issues = problems(bundle)
    state = DEAD if issues else PENDING
    if not issues:
        conn.execute(
            update(outbox)
            .where(and_(outbox.c.accession == accession, outbox.c.state == PENDING))
            .values(state=SUPERSEDED, updated_at=now)
        )
    conn.execute(
        outbox.insert().values(
            pair_id=pair_id, accession=accession, version=version, kind=kind, sink=sink,
            bundle=bundle, state=state, attempts=0, next_attempt_at=now,
            last_error=("invalid bundle, not sent: " + "; ".join(issues)) if issues else None,
            created_at=now, updated_at=now,
        )
    )
    return state


def enqueue_cancellations(conn: Connection, now: datetime | None = None) -> int:
    """For each cancelled accession whose score was queued or sent: the same resources as
    entered-in-error, once (the pairing marks pairs cancelled; this turns that into FHIR)."""
    cancel = aliased(outbox)
    rows = conn.execute(
        select(outbox.c.pair_id, outbox.c.accession, outbox.c.version, outbox.c.sink,
               outbox.c.bundle)
        .where(
            outbox.c.pair_id.in_(cancelled_pair_ids()),
            outbox.c.kind == "score",
            outbox.c.state.in_((PENDING, SENDING, DELIVERED)),
            outbox.c.bundle.is_not(None),
            ~exists().where(cancel.c.accession == outbox.c.accession,
                            cancel.c.kind == "cancel"),
        )
        .order_by(outbox.c.accession, outbox.c.version.desc())
    ).all()
    done: set[str] = set()
    for row in rows:
        if row.accession in done:
            continue  # resources are per accession: cancel the latest version's once
        done.add(row.accession)
        enqueue(conn, pair_id=row.pair_id, accession=row.accession, version=row.version,
                kind="cancel", sink=row.sink,
                bundle=cancellation_of(row.bundle, row.accession, row.version, now), now=now)
    return len(done)


def claim_due(engine: Engine, worker: str, limit: int, lease: timedelta) -> list[OutboxItem]:
    """Claim up to `limit` due bundles. The claim's transaction takes only ids (on SQLite it
    holds the one write lock the listener's commits wait for); the 20 KB bodies are read
    after it, outside any lock."""
    now = datetime.now(UTC)
    older = aliased(outbox)
    in_flight_before = exists().where(
        older.c.accession == outbox.c.accession,
        older.c.id < outbox.c.id,
        older.c.state.in_((PENDING, SENDING)),
    )
    with engine.begin() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.pair_id, outbox.c.accession, outbox.c.version,
                   outbox.c.kind, outbox.c.sink, outbox.c.attempts, outbox.c.created_at)
            .where(
                outbox.c.state.in_((PENDING, SENDING)),
                outbox.c.next_attempt_at <= now,
                ~in_flight_before,
            )
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([r.id for r in rows]))
            .values(state=SENDING, claimed_by=worker, next_attempt_at=now + lease,
                    attempts=outbox.c.attempts + 1, updated_at=now)
        )
    with engine.connect() as conn:
        bodies = dict(conn.execute(select(outbox.c.id, outbox.c.bundle)
                                   .where(outbox.c.id.in_([r.id for r in rows]))).all())
    return [
        OutboxItem(r.id, r.pair_id, r.accession, r.version, r.kind, r.sink, bodies[r.id],
                   r.attempts + 1, r.created_at)
        for r in rows
    ]


def record(
    conn: Connection, item_id: int, worker: str, *, state: str, status: int | None = None,
    error: str | None = None, outcome: dict[str, Any] | None = None,
    retry_in: float | None = None,
) -> bool:
    """The result of one attempt, in the caller's transaction (one per delivery batch: one
    commit per bundle held SQLite's write lock 10,000 times in a 10,000-pair run, against the
    listener's commits); False when the claim was lost (another replica took over)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"state": state, "last_status": status, "last_error": error,
                              "outcome": outcome, "claimed_by": None, "updated_at": now}
    if state == DELIVERED:
        values["delivered_at"] = now
    if retry_in is not None:
        values["next_attempt_at"] = now + timedelta(seconds=retry_in)
    return conn.execute(
        update(outbox)
        .where(and_(outbox.c.id == item_id, outbox.c.state == SENDING,
                    outbox.c.claimed_by == worker))
        .values(**values)
    ).rowcount == 1


# No answer at all (timeout, refused connection) or a gateway saying the server is away:
# the target was down, not this bundle wrong.
UNREACHABLE = (502, 503, 504)


def wake_after_outage(conn: Connection, sink: str) -> int:
    """The target just accepted a bundle: those backing off because it was unreachable are
    due now. Per-bundle backoff alone spread them over up to `backoff_max_s` after the
    server came back (bench/fault_runs.py: 158 s for a 400-bundle backlog that Medplum takes
    in 46). A 429 keeps its Retry-After; a 500 may be this bundle's own fault and waits."""
    now = datetime.now(UTC)
    return conn.execute(
        update(outbox)
        .where(outbox.c.state == PENDING, outbox.c.next_attempt_at > now,
               outbox.c.sink == sink, outbox.c.attempts > 0,
               or_(outbox.c.last_status.is_(None), outbox.c.last_status.in_(UNREACHABLE)))
        .values(next_attempt_at=now)
    ).rowcount or 0


def release_claims(engine: Engine) -> int:
    """Every delivery in flight goes back to pending, due now. Only for a store that serves
    one daemon (SQLite): whatever is `sending` at start-up was the previous life's, killed
    mid-request; waiting out its lease (`lease_s`, 2 minutes) only delayed it."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        return conn.execute(
            update(outbox).where(outbox.c.state == SENDING)
            .values(state=PENDING, claimed_by=None, next_attempt_at=now, updated_at=now)
        ).rowcount or 0


def requeue(engine: Engine, item_ids: list[int] | None = None) -> int:
    """Put dead letters back in the queue (after the cause was fixed); all when ids is None."""
    now = datetime.now(UTC)
    cond = outbox.c.state == DEAD
    if item_ids is not None:
        cond = and_(cond, outbox.c.id.in_(item_ids))
    with engine.begin() as conn:
        return conn.execute(
            update(outbox).where(cond).values(state=PENDING, next_attempt_at=now,
                                              attempts=0, updated_at=now)
        ).rowcount or 0


def depth(engine: Engine) -> tuple[dict[str, int], float]:
    """Rows by state, and the age in seconds of the oldest undelivered row."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        by_state = dict(conn.execute(
            select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
        oldest = conn.execute(select(func.min(outbox.c.created_at)).where(
            outbox.c.state.in_((PENDING, SENDING)))).scalar()
    if oldest is None:
        return by_state, 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return by_state, max(0.0, (now - oldest).total_seconds())


def purge_bundles(conn: Connection, cutoff: datetime) -> int:
    """Retention: a settled bundle's body (its HTML view quotes both reports) is removed;
    the row, its state and the server's answer stay."""
    return conn.execute(
        update(outbox)
        .where(and_(outbox.c.created_at < cutoff, outbox.c.bundle.is_not(None),
                    outbox.c.state.in_((DELIVERED, DEAD, SUPERSEDED))))
        .values(bundle=None)
    ).rowcount or 0
