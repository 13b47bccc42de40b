"""The pairing state machine of DESIGN.md §7, one accession at a time.

Called inside the transaction that stores the reports of a message, after the accession is
locked (an advisory lock on PostgreSQL; SQLite has a single writer), so two replicas handling
the P and the F of one accession at the same moment cannot both miss each other.

Report `pairing` values: unpaired (a P waiting for its F), paired, superseded (an older P
of an accession that was paired with a later one), late (a P after the pair was formed),
cancelled, partial (A: stored, never paired), expired (a P whose F never came), duplicate (the
same accession, status and text as an earlier report: a resend under a new MSH-10 or MSH-7,
which must not score again or make a second FHIR version).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.engine import Connection

from ingest.studytime import study_time
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


@dataclass(frozen=True, slots=True)
class PairingReport:
    """The facts of a just-stored report that pairing needs (no second read of the row)."""

    id: int
    accession: str
    status: str
    status_changed_at: str = ""
    observed_at: str = ""
    text_sha256: str | None = None


def _order_key(row: Any) -> tuple[str, int]:
    """Reports are ordered by the time the sender says the status changed (OBR-22, else
    OBR-7), not by arrival: a P queued on another channel may arrive after its F."""
    return (row.status_changed_at or row.observed_at or "", row.id)


# Statements are built once with bound parameters: pairing runs for every report, and
# building Core statements per call cost more than executing them (bench/ingest_load.py).
_LATEST = (
    select(pairs.c.id, pairs.c.state, pairs.c.version, pairs.c.prelim_report_id)
    .where(pairs.c.accession == bindparam("accession"))
    .order_by(pairs.c.version.desc())
    .limit(1)
)
_SET_PAIRING = (
    update(reports).where(reports.c.id == bindparam("rid")).values(pairing=bindparam("value"))
)
_COMPLETE_WAITING = (
    update(pairs)
    .where(pairs.c.id == bindparam("pid"))
    .values(prelim_report_id=bindparam("prelim"), state=READY, updated_at=bindparam("now"))
)
_REPLACE_WAITING_FINAL = (
    update(pairs)
    .where(pairs.c.id == bindparam("pid"))
    .values(final_report_id=bindparam("final"), final_status=bindparam("fstatus"),
            updated_at=bindparam("now"))
)
_UNPAIRED_PRELIMS = select(
    reports.c.id, reports.c.status_changed_at, reports.c.observed_at
).where(
    reports.c.accession == bindparam("accession"),
    reports.c.status == "P",
    reports.c.pairing == "unpaired",
)
_INSERT_PAIR = pairs.insert()
_SEEN_BEFORE = (
    select(reports.c.id)
    .where(reports.c.accession == bindparam("accession"), reports.c.status == bindparam("status"),
           reports.c.text_sha256 == bindparam("digest"), reports.c.id < bindparam("rid"))
    .limit(1)
)


def _set_pairing(conn: Connection, report_id: int, value: str) -> None:
    conn.execute(_SET_PAIRING, {"rid": report_id, "value": value})


def on_report(conn: Connection, report: PairingReport, now: datetime | None = None) -> str:
    """Apply one stored report to its accession's pairs; return the event for the metrics."""
    now = now or datetime.now(UTC)
    if _seen_before(conn, report):
        _set_pairing(conn, report.id, "duplicate")
        return "duplicate"
    if report.status == "P":
        return _on_prelim(conn, report, now)
    if report.status in ("F", "C"):
        return _on_final(conn, report, now)
    if report.status == "X":
        return _on_cancel(conn, report, now)
    _set_pairing(conn, report.id, "partial")
    return "partial"


def _seen_before(conn: Connection, report: PairingReport) -> bool:
    """An earlier report with this accession, status and text (earlier: a lower id, so of
    two copies in one batch the first is processed and the second is the duplicate)."""
    if report.text_sha256 is None:
        return False
    return conn.execute(_SEEN_BEFORE, {"accession": report.accession, "status": report.status,
                                       "digest": report.text_sha256, "rid": report.id}
                        ).first() is not None


def _latest_pair(conn: Connection, accession: str) -> Any:
    return conn.execute(_LATEST, {"accession": accession}).first()


def _on_prelim(conn: Connection, report: PairingReport, now: datetime) -> str:
    latest = _latest_pair(conn, report.accession)
    if latest is not None and latest.state == WAITING:
        # The final came first and is still within the window: this P completes the pair.
        conn.execute(_COMPLETE_WAITING, {"pid": latest.id, "prelim": report.id, "now": now})
        _set_pairing(conn, report.id, "paired")
        return "paired"
    if latest is not None:
        _set_pairing(conn, report.id, "late")
        return "late_prelim"
    _set_pairing(conn, report.id, "unpaired")
    return "prelim_waiting"


def _on_final(conn: Connection, report: PairingReport, now: datetime) -> str:
    latest = _latest_pair(conn, report.accession)
    if latest is None:
        prelim = _choose_prelim(conn, report)
        _insert_pair(conn, report, prelim, 1, now)
        return "paired" if prelim is not None else "final_waiting"
    if latest.state == WAITING:
        # Still no preliminary: the newer final replaces the older one in the waiting pair.
        conn.execute(_REPLACE_WAITING_FINAL, {"pid": latest.id, "final": report.id,
                                              "fstatus": report.status, "now": now})
        _set_pairing(conn, report.id, "paired")
        return "final_waiting"
    # A correction (or a re-sent final): score again against the same preliminary; the FHIR
    # resources of this accession are then updated in place.
    _insert_pair(conn, report, latest.prelim_report_id, latest.version + 1, now)
    return "corrected" if latest.prelim_report_id is not None else "final_waiting"


def _choose_prelim(conn: Connection, final: PairingReport) -> int | None:
    """The latest P before the final (by the sender's clock); older ones are superseded."""
    candidates = conn.execute(_UNPAIRED_PRELIMS, {"accession": final.accession}).all()
    if not candidates:
        return None
    final_time = final.status_changed_at or final.observed_at or ""
    before = [r for r in candidates if not final_time or _order_key(r)[0] <= final_time]
    chosen = max(before or candidates, key=_order_key)
    for r in candidates:
        _set_pairing(conn, r.id, "paired" if r.id == chosen.id else "superseded")
    return int(chosen.id)


def _insert_pair(
    conn: Connection, final: PairingReport, prelim_id: int | None, version: int, now: datetime
) -> None:
    conn.execute(
        _INSERT_PAIR,
        {
            "accession": final.accession,
            "version": version,
            "prelim_report_id": prelim_id,
            "final_report_id": final.id,
            "final_status": final.status,
            "state": READY if prelim_id is not None else WAITING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "study_at": study_time(final.observed_at, final.status_changed_at, now),
        },
    )
    _set_pairing(conn, final.id, "paired")


def _on_cancel(conn: Connection, report: PairingReport, now: datetime) -> str:
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
