"""The pairing state machine of DESIGN.md §7, one accession at a time.

Called inside the transaction that stores the reports of a message, after the accession is
locked (an advisory lock on PostgreSQL; SQLite has a single writer), so two replicas handling
the P and the F of one accession at the same moment cannot both miss each other.

Report `pairing` values: unpaired (a P waiting for its F), paired, superseded (an older P
of an accession that was paired with a later one), late (a P after the pair was formed),
cancelled, partial (A: stored, never paired), expired (a P whose F never came).
"""

from __future__ import annotations

import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.engine import Connection

from ingest.tables import (
    CANCELLED,
    NO_PRELIM,
    READY,
    WAITING,
    pairs,
    reports,
)


def lock_accessions(conn: Connection, accessions: list[str]) -> None:
    """Serialise pairing per accession across replicas (sorted: no lock-order deadlocks)."""
    if conn.dialect.name != "postgresql":
        return
    for accession in sorted(set(accessions)):
        key = zlib.crc32(accession.encode("utf-8"))
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _order_key(row: object) -> tuple[str, int]:
    """Reports are ordered by the time the sender says the status changed (OBR-22, else
    OBR-7), not by arrival: a P queued on another channel may arrive after its F."""
    return (row.status_changed_at or row.observed_at or "", row.id)  # type: ignore[attr-defined]


def on_report(conn: Connection, report_id: int, now: datetime | None = None) -> str:
    """Apply one stored report to its accession's pairs; return the event for the metrics."""
    now = now or datetime.now(UTC)
    report = conn.execute(select(reports).where(reports.c.id == report_id)).one()
    status = report.status
    if status == "P":
        return _on_prelim(conn, report, now)
    if status in ("F", "C"):
        return _on_final(conn, report, now)
    if status == "X":
        return _on_cancel(conn, report, now)
    conn.execute(update(reports).where(reports.c.id == report.id).values(pairing="partial"))
    return "partial"


def _latest_pair(conn: Connection, accession: str) -> object | None:
    return conn.execute(
        select(pairs).where(pairs.c.accession == accession).order_by(pairs.c.version.desc())
    ).first()


def _on_prelim(conn: Connection, report: object, now: datetime) -> str:
    latest = _latest_pair(conn, report.accession)
    if latest is not None and latest.state == WAITING:
        # The final came first and is still within the window: this P completes the pair.
        conn.execute(
            update(pairs)
            .where(pairs.c.id == latest.id)
            .values(prelim_report_id=report.id, state=READY, updated_at=now)
        )
        conn.execute(update(reports).where(reports.c.id == report.id).values(pairing="paired"))
        return "paired"
    if latest is not None:
        conn.execute(update(reports).where(reports.c.id == report.id).values(pairing="late"))
        return "late_prelim"
    conn.execute(update(reports).where(reports.c.id == report.id).values(pairing="unpaired"))
    return "prelim_waiting"


def _on_final(conn: Connection, report: object, now: datetime) -> str:
    latest = _latest_pair(conn, report.accession)
    if latest is None:
        prelim = _choose_prelim(conn, report)
        _insert_pair(conn, report, prelim, 1, now)
        return "paired" if prelim is not None else "final_waiting"
    if latest.state == WAITING:
        # Still no preliminary: the newer final replaces the older one in the waiting pair.
        conn.execute(
            update(pairs)
            .where(pairs.c.id == latest.id)
            .values(final_report_id=report.id, final_status=report.status, updated_at=now)
        )
        return "final_waiting"
    # A correction (or a re-sent final): score again against the same preliminary; the FHIR
    # resources of this accession are then updated in place.
    _insert_pair(conn, report, latest.prelim_report_id, latest.version + 1, now)
    return "corrected" if latest.prelim_report_id is not None else "final_waiting"


def _choose_prelim(conn: Connection, final: object) -> int | None:
    """The latest P before the final (by the sender's clock); older ones are superseded."""
    candidates = conn.execute(
        select(reports).where(
            and_(
                reports.c.accession == final.accession,
                reports.c.status == "P",
                reports.c.pairing == "unpaired",
            )
        )
    ).all()
    if not candidates:
        return None
    final_time = final.status_changed_at or final.observed_at or ""
    before = [r for r in candidates if not final_time or _order_key(r)[0] <= final_time]
    chosen = max(before or candidates, key=_order_key)
    for r in candidates:
        conn.execute(
            update(reports)
            .where(reports.c.id == r.id)
            .values(pairing="paired" if r.id == chosen.id else "superseded")
        )
    return int(chosen.id)


def _insert_pair(
    conn: Connection, final: object, prelim_id: int | None, version: int, now: datetime
) -> None:
    conn.execute(
        pairs.insert().values(
            accession=final.accession,
            version=version,
            prelim_report_id=prelim_id,
            final_report_id=final.id,
            final_status=final.status,
            state=READY if prelim_id is not None else WAITING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    conn.execute(update(reports).where(reports.c.id == final.id).values(pairing="paired"))


def _on_cancel(conn: Connection, report: object, now: datetime) -> str:
    """X: every pair of the accession is cancelled; those already scored (and sent) are
    picked up by outbound to become entered-in-error."""
    conn.execute(
        update(pairs)
        .where(and_(pairs.c.accession == report.accession, pairs.c.state != CANCELLED))
        .values(state=CANCELLED, updated_at=now)
    )
    conn.execute(
        update(reports)
        .where(
            and_(
                reports.c.accession == report.accession,
                reports.c.pairing.in_(("unpaired", "cancelled")),
            )
        )
        .values(pairing="cancelled")
    )
    conn.execute(update(reports).where(reports.c.id == report.id).values(pairing="cancelled"))
    return "cancelled"


def expire(
    conn: Connection, pairing_window: timedelta, prelim_window: timedelta,
    now: datetime | None = None,
) -> Counter[str]:
    """The scheduled sweep: finals that waited too long for a P, and Ps whose F never came.

    Both are counted and kept (state changes only), never silently lost.
    """
    now = now or datetime.now(UTC)
    done: Counter[str] = Counter()
    result = conn.execute(
        update(pairs)
        .where(and_(pairs.c.state == WAITING, pairs.c.created_at < now - pairing_window))
        .values(state=NO_PRELIM, updated_at=now)
    )
    done[NO_PRELIM] = result.rowcount or 0
    result = conn.execute(
        update(reports)
        .where(
            and_(
                reports.c.pairing == "unpaired",
                reports.c.status == "P",
                reports.c.received_at < now - prelim_window,
            )
        )
        .values(pairing="expired")
    )
    done["expired_prelim"] = result.rowcount or 0
    return done


def counts(conn: Connection) -> dict[str, int]:
    """Pairs by state, for the gauges."""
    rows = conn.execute(select(pairs.c.state, func.count()).group_by(pairs.c.state)).all()
    return {state: int(n) for state, n in rows}

