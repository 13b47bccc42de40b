"""What an MDM document's event and TXA-17 say about the report it carries (DESIGN.md §6).

One place for the rules, read both by the MSH peek (so a status the table does not know is
refused before the ACK, like an ORU's) and by the parse after storage: a cancel event
cancels; an addendum or replacement corrects the final; otherwise TXA-17 (HL7 table 0271)
is looked up in the configured table. Whether an authenticated document follows an earlier
final of its accession can only be known from the store (`ingest.document_versions`).
"""

from __future__ import annotations

from typing import Literal

from ingest.config import DocumentMap

MDM = "MDM"
# Why a document has no status when its TXA-17 is blank (a missing field, not a bad value).
EMPTY_STATUS = "is empty"
DocumentKind = Literal["document", "addendum", "replacement", "cancel"]


def kind_of(trigger: str, documents: DocumentMap) -> DocumentKind:
    """The part an MDM event plays in the report's versions."""
    if trigger in documents.cancel_events:
        return "cancel"
    if trigger in documents.addendum_events:
        return "addendum"
    if trigger in documents.replacement_events:
        return "replacement"
    return "document"


def document_status(trigger: str, completion: str, documents: DocumentMap
                    ) -> tuple[str, str]:
    """(report status, why there is none): X for a cancel, C for an addendum or a
    replacement, else TXA-17 through the table. The table is consulted for every event but
    a cancel, so a document of unknown standing is never scored, whatever its event."""
    kind = kind_of(trigger, documents)
    if kind == "cancel":
        return "X", ""
    completion = completion.strip().upper()
    if not completion:
        return "", EMPTY_STATUS
    status = documents.statuses.get(completion)
    if status is None:
        known = ", ".join(sorted(documents.statuses))
        return "", f"is {completion!r}; the configured table knows {known}"
    return ("C" if kind in ("addendum", "replacement") else status), ""
