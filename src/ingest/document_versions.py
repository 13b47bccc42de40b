"""Versions of a document that only the store can tell apart (DESIGN.md §6, MDM).

An ORU says "corrected" in OBR-25 itself; an MDM often does not: a document authenticated
again (a T08 edit, a T04 with AU/LA) after a final of its accession is a correction, and an
addendum (T06) carries only the added text. Both are settled here, inside the transaction
that stores the reports (the accessions are locked), before pairing sees them:

- a final document whose text differs from every earlier final of the accession becomes
  corrected (C), so it is scored again and the FHIR resources are updated in place;
- an addendum becomes the latest final's text followed by the addendum, so the corrected
  final is what a reader of the signed report now sees. A resend of the same addendum
  composes the same text, which pairing then recognises as a duplicate.

A document whose text matches an earlier final keeps that report's status, so a resend is a
duplicate and not a correction. Where retention has purged the earlier final's text, an
addendum stands alone (there is nothing left to append it to).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ingest.message import ReportEvent
from ingest.tables import reports

FINALS = ("F", "C")
ADDENDUM_HEADING = "ADDENDUM:"


@dataclass(slots=True)
class _Finals:
    """The finals of one accession so far: the latest text, and each text's status."""

    latest: str | None = None
    status_of: dict[str, str] = field(default_factory=dict)

    def add(self, text: str | None, digest: str | None, status: str) -> None:
        self.latest = text
        if digest is not None:
            self.status_of.setdefault(digest, status)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_addendum(final: str, addendum: str) -> str:
    """The text of a final with its addendum after it, as a reader of the signed report
    sees it; a final that already ends with this addendum (a resend) is left as it is."""
    tail = f"\n\n{ADDENDUM_HEADING}\n{addendum.strip()}"
    return final if final.endswith(tail) else final.rstrip() + tail


def settle_documents(conn: Connection, events: Sequence[ReportEvent]) -> list[ReportEvent]:
    """`events` (in arrival order) with MDM versions settled; ORU events are unchanged but
    count as earlier finals for the documents after them."""
    accessions = sorted({e.accession for e in events if e.document})
    if not accessions:
        return list(events)
    finals: dict[str, _Finals] = {}
    for accession, text, digest, status in conn.execute(
        select(reports.c.accession, reports.c.text, reports.c.text_sha256, reports.c.status)
        .where(reports.c.accession.in_(accessions), reports.c.status.in_(FINALS))
        .order_by(reports.c.id)
    ).all():
        finals.setdefault(accession, _Finals()).add(text, digest, status)
    out: list[ReportEvent] = []
    for event in events:
        known = finals.get(event.accession)
        if event.document and known is not None:
            event = _against_finals(event, known)
        if event.status in FINALS:
            finals.setdefault(event.accession, _Finals()).add(
                event.text, _digest(event.text), event.status)
        out.append(event)
    return out


def _against_finals(event: ReportEvent, known: _Finals) -> ReportEvent:
    if event.document == "addendum" and known.latest is not None:
        event = replace(event, text=with_addendum(known.latest, event.text))
    if event.status != "F":
        return event
    seen = known.status_of.get(_digest(event.text))
    return replace(event, status=seen or "C")
