"""The scoring queue is the `pairs` table: workers claim ready pairs, then settle them.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so any number of workers and
replicas take disjoint batches without waiting on each other. On SQLite the claiming
transaction holds the single write lock (BEGIN IMMEDIATE), which makes one claimer at a time.
Settling is conditional on still holding the claim, so a pair cancelled or re-released while
it was being scored is never overwritten by a stale worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from ingest.tables import CANCELLED, FAILED_PAIR, READY, SCORED, SCORING, pairs, reports


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A report as the scorer and outbound see it (no HL7)."""

    id: int
    status: str
    text: str
    patient_id: str
    procedure: str
    attending: str
    resident: str
    observed_at: str
    status_changed_at: str


@dataclass(frozen=True, slots=True)
class ClaimedPair:
    id: int
    accession: str
    version: int
    final_status: str
    attempts: int
    prelim: ReportInfo
    final: ReportInfo


def _info(row: Any, prefix: str) -> ReportInfo:
    def g(name: str) -> Any:
        return getattr(row, f"{prefix}_{name}")

    return ReportInfo(
        id=g("id"), status=g("status"), text=g("text") or "", patient_id=g("patient_id"),
        procedure=g("procedure"), attending=g("attending"), resident=g("resident"),
        observed_at=g("observed_at"), status_changed_at=g("status_changed_at"),
    )


_REPORT_COLUMNS = ("id", "status", "text", "patient_id", "procedure", "attending", "resident",
                   "observed_at", "status_changed_at")


def claim_pairs(engine: Engine, worker: str, limit: int = 16) -> list[ClaimedPair]:
    """Take up to `limit` ready pairs, oldest first, for `worker`."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ids = conn.execute(
            select(pairs.c.id)
            .where(pairs.c.state == READY)
            .order_by(pairs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        if not ids:
            return []
        conn.execute(
            update(pairs)
            .where(pairs.c.id.in_(ids))
            .values(state=SCORING, claimed_by=worker, claimed_at=now,
                    attempts=pairs.c.attempts + 1, updated_at=now)
        )
        p, f = aliased(reports, name="p"), aliased(reports, name="f")
        columns = [pairs.c.id, pairs.c.accession, pairs.c.version, pairs.c.final_status,
                   pairs.c.attempts]
        columns += [getattr(p.c, c).label(f"p_{c}") for c in _REPORT_COLUMNS]
        columns += [getattr(f.c, c).label(f"f_{c}") for c in _REPORT_COLUMNS]
        rows = conn.execute(
            select(*columns)
            .join(p, p.c.id == pairs.c.prelim_report_id)
            .join(f, f.c.id == pairs.c.final_report_id)
            .where(pairs.c.id.in_(ids))
            .order_by(pairs.c.id)
        ).all()
    return [
        ClaimedPair(
            id=r.id, accession=r.accession, version=r.version, final_status=r.final_status,
            attempts=r.attempts, prelim=_info(r, "p"), final=_info(r, "f"),
        )
        for r in rows
    ]


def complete(engine: Engine, pair_id: int, worker: str, result: dict[str, Any]) -> bool:
    """Store one score in a transaction of its own; False when the claim was lost."""
    with engine.begin() as conn:
        return settle(conn, worker, [Settlement(pair_id, result, None, 1)], max_attempts=1)[0]


def _update_held(engine: Engine, pair_ids: list[int], worker: str, **values: Any) -> int:
    """Update the claims in `pair_ids` that `worker` still holds; how many it held."""
    if not pair_ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(
            update(pairs)
            .where(and_(pairs.c.id.in_(pair_ids), pairs.c.state == SCORING,
                        pairs.c.claimed_by == worker))
            .values(**values)
        ).rowcount or 0


def renew(engine: Engine, pair_ids: list[int], worker: str) -> int:
    """Push the claims still held forward to now (`claimed_at`): a batch that takes longer
    than the lease (an LLM answering slowly) is not mistaken for a dead worker's and claimed
    again by another replica. Returns how many claims were still held."""
    return _update_held(engine, pair_ids, worker, claimed_at=datetime.now(UTC))


def release(engine: Engine, pair_ids: list[int], worker: str) -> int:
    """Hand claimed pairs back untouched (graceful shutdown, LLM waiting)."""
    return _update_held(engine, pair_ids, worker, state=READY, claimed_by=None,
                        claimed_at=None, attempts=pairs.c.attempts - 1)


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of scoring one claimed pair: a result, or an error to retry on."""

    pair_id: int
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    # Who wrote the preliminary and signed the final (`people.attribution`), stored with
    # the score.
    people: dict[str, Any] | None = None


def settle(
    conn: Connection, worker: str, outcomes: list[Settlement], max_attempts: int
) -> list[bool]:
    """Settle a scored batch in the caller's transaction (the outbox rows go in the same one).

    Each update is conditional on the claim still being ours; the list says which held.
    """
    now = datetime.now(UTC)
    held: list[bool] = []
    for item in outcomes:
        if item.result is not None:
            values: dict[str, Any] = {"state": SCORED, "result": item.result, "error": None,
                                      **headline(item.result), **(item.people or {})}
        else:
            retry = item.attempts < max_attempts
            values = {"state": READY if retry else FAILED_PAIR, "error": item.error}
        n = conn.execute(
            update(pairs)
            .where(and_(pairs.c.id == item.pair_id, pairs.c.state == SCORING,
                        pairs.c.claimed_by == worker))
            .values(claimed_by=None, updated_at=now, **values)
        ).rowcount
        held.append(n == 1)
    return held


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The score's headline as `pairs` columns (the review app filters and aggregates on them).

    Reads scoring's JSON contract by key only (ingest imports no scoring); a result from before
    the exam was recorded says `unknown`.
    """
    exam = result.get("exam") or {}
    return {
        "esas": result.get("esas"),
        "grade": result.get("grade"),
        "discrepancy": result.get("discrepancy"),
        "modality": str(exam.get("modality") or "unknown")[:16],
        "region": str(exam.get("region") or "unknown")[:16],
    }


def cancelled_pair_ids() -> Select[tuple[int]]:
    """The ids of pairs an X cancelled, as a subquery for whoever turns them into FHIR
    (outbound marks what it sent for them entered-in-error)."""
    return select(pairs.c.id).where(pairs.c.state == CANCELLED)


def release_stale(engine: Engine, lease: timedelta, worker: str | None = None) -> int:
    """Pairs claimed longer ago than `lease` (a worker that died) go back to ready.

    With `worker`, all claims of that worker name are released at once: a restarted process
    reclaims what its previous life held.
    """
    now = datetime.now(UTC)
    cond = pairs.c.claimed_at < now - lease
    if worker is not None:
        cond = cond | (pairs.c.claimed_by == worker)
    with engine.begin() as conn:
        return conn.execute(
            update(pairs)
            .where(and_(pairs.c.state == SCORING, cond))
            .values(state=READY, claimed_by=None, claimed_at=None, updated_at=now)
        ).rowcount or 0
