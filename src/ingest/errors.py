"""One HL7 error vocabulary: the table 0357 codes ingest answers with, the refusal that carries
one, and one base exception for whatever goes wrong on the way in.

Codes are defined here and nowhere else, so a stored refusal can be read back by its code
(`error_code`) and a resend hears exactly the answer the first copy got.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """An HL7 table 0357 message error condition code."""

    code: str
    text: str


SEGMENT_SEQUENCE = ErrorCode("100", "Segment sequence error")
REQUIRED_FIELD_MISSING = ErrorCode("101", "Required field missing")
DATA_TYPE_ERROR = ErrorCode("102", "Data type error")
TABLE_VALUE_NOT_FOUND = ErrorCode("103", "Table value not found")
UNSUPPORTED_MESSAGE_TYPE = ErrorCode("200", "Unsupported message type")
UNSUPPORTED_EVENT = ErrorCode("201", "Unsupported event code")
UNSUPPORTED_PROCESSING_ID = ErrorCode("202", "Unsupported processing id")
UNSUPPORTED_VERSION = ErrorCode("203", "Unsupported version id")
INTERNAL_ERROR = ErrorCode("207", "Application internal error")

TABLE_0357: dict[str, ErrorCode] = {
    e.code: e
    for e in (SEGMENT_SEQUENCE, REQUIRED_FIELD_MISSING, DATA_TYPE_ERROR, TABLE_VALUE_NOT_FOUND,
              UNSUPPORTED_MESSAGE_TYPE, UNSUPPORTED_EVENT, UNSUPPORTED_PROCESSING_ID,
              UNSUPPORTED_VERSION, INTERNAL_ERROR)
}


def error_code(code: str | None) -> ErrorCode:
    """The code a stored refusal names (207 for one this vocabulary does not know)."""
    return TABLE_0357.get(code or "", INTERNAL_ERROR)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message can never be accepted (AR), with the place the sender should look."""

    error: ErrorCode
    detail: str
    segment: str = "MSH"
    field: int | None = None

    def __str__(self) -> str:
        return f"{self.error.text}: {self.detail}"


class IngestError(Exception):
    """Base of every error raised on the way in (framing, store, parsing)."""


class FramingError(IngestError):
    """Bytes that are not an MLLP frame; no ACK is possible, the connection is closed."""


class FrameTooLarge(FramingError):
    """A frame grew past the configured limit. `head` keeps its first bytes (the MSH) so the
    message can still be rejected with an AR and stored as rejected."""

    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"frame larger than {limit} bytes")
        self.limit = limit
        self.head = head


class StoreFailed(IngestError):
    """A commit failed: nothing of its group is stored, each sender gets AE and may resend."""


class StoreUnavailable(StoreFailed):
    """The store could not be reached or written (server down, database locked, disk full):
    an outage, which a resend after it ends cures."""


class StoreDefect(StoreFailed):
    """The commit failed for another reason: a bug in our code or a constraint the data broke.
    Kept apart from an outage so that a defect is never mistaken for one (and never looks
    like a database to restart); the store logs its real type."""


class ParseError(IngestError):
    """A stored message that cannot be turned into reports; the reason is kept on its row."""
