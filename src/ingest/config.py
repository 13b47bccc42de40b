"""Ingest settings: the MLLP listener and the HL7 field mapping.

The daemon fills `MllpConfig` from the TOML `[mllp]` section and `FieldMap` from
`[mllp.fields]`; tests and `radagree replay --direct` build them directly. Unknown keys are
an error, so a typo in a deployment never silently falls back to a default.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# A field path as `SEG-n` or `SEG-n.c` (component c, 1-based), e.g. "OBR-18" or "PID-3.1".
FieldPath = str


class FieldMap(BaseModel):
    """Where each report fact lives in an ORU^R01 (DESIGN.md §6 defaults).

    Sites differ: some put the accession in OBR-3 or ORC-3 only, some the resident in OBR-34.
    Each entry is a list tried in order; the first non-empty value wins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    accession: list[FieldPath] = ["OBR-18", "OBR-3", "ORC-3"]
    status: list[FieldPath] = ["OBR-25"]
    patient_id: list[FieldPath] = ["PID-3.1"]
    procedure: list[FieldPath] = ["OBR-4"]
    attending: list[FieldPath] = ["OBR-32"]
    resident: list[FieldPath] = ["OBR-33"]
    observed_at: list[FieldPath] = ["OBR-7"]
    status_changed_at: list[FieldPath] = ["OBR-22"]
    # OBX value types whose OBX-5 is report text; CE counts only for its text component.
    text_value_types: list[str] = ["TX", "FT", "ST", "CE"]
    # OBX value types that embed a document (noted on the report, never scored).
    embedded_value_types: list[str] = ["ED", "RP"]


# HL7 table 0271 (document completion status, TXA-17) -> the report status it stands for.
# Dictated, documented, incomplete, in progress, pre-authenticated: not yet signed, so the
# trainee's preliminary; authenticated, legally authenticated: signed, the final.
DOCUMENT_STATUSES: dict[str, Literal["P", "F"]] = {
    "DI": "P", "DO": "P", "IN": "P", "IP": "P", "PA": "P", "AU": "F", "LA": "F",
}


class DocumentMap(BaseModel):
    """Where report facts live in an MDM document message (`[mllp.documents]`).

    A document's status is its TXA-17 read through `statuses`; an addendum or replacement
    event makes it a correction, a cancel event cancels, and a final that follows another
    final of the accession with other text is a correction too (`ingest.document_versions`).
    The accession is looked for in the ORU places first, so a sender that mixes ORU and MDM
    for one study pairs them, then in the order numbers of the TXA (placer, filler).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # MDM events that carry content (T01/T03/T05/T07/T09 only notify and are refused).
    events: list[str] = ["T02", "T04", "T06", "T08", "T10", "T11"]
    statuses: dict[str, Literal["P", "F"]] = DOCUMENT_STATUSES
    # Addendum (T06: appended to the final it amends) and replacement (T10): corrected.
    addendum_events: list[str] = ["T06"]
    replacement_events: list[str] = ["T10"]
    cancel_events: list[str] = ["T11"]
    accession: list[FieldPath] = ["OBR-18", "OBR-3", "ORC-3", "TXA-14", "TXA-15"]
    status: list[FieldPath] = ["TXA-17"]
    procedure: list[FieldPath] = ["OBR-4", "TXA-2"]
    # Who signed it (authentication person), who wrote it (originator): as OBR-32 / OBR-33.
    attending: list[FieldPath] = ["TXA-22", "OBR-32"]
    resident: list[FieldPath] = ["TXA-9", "OBR-33"]
    # Activity date/time, else origination: the study date of the pair.
    observed_at: list[FieldPath] = ["TXA-4", "TXA-6", "OBR-7"]
    # Edit date/time, else the event's recorded time: the order of a document's versions.
    status_changed_at: list[FieldPath] = ["TXA-8", "EVN-2"]

    def fields(self, base: FieldMap) -> FieldMap:
        """The ORU field map with the document's places: one builder reads both."""
        return base.model_copy(update={
            "accession": self.accession, "status": self.status, "procedure": self.procedure,
            "attending": self.attending, "resident": self.resident,
            "observed_at": self.observed_at, "status_changed_at": self.status_changed_at,
        })


class MllpConfig(BaseModel):
    """The listener: address, limits, TLS and who may connect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(2575, ge=0, le=65535)
    max_connections: int = Field(64, ge=1)
    # Reports can embed base64 PDFs; 16 MiB leaves room for those and bounds memory.
    max_message_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    idle_timeout_s: float = Field(300.0, gt=0)
    # Charset used when MSH-18 is empty or unknown; latin-1 decodes every byte.
    default_charset: str = "latin-1"
    # Accepted MSH-11 processing ids and MSH-12 versions (prefixes: "2.5" accepts "2.5.1").
    processing_ids: list[str] = ["P", "T", "D"]
    versions: list[str] = ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"]
    # Empty = anyone may connect; otherwise only peers inside one of these networks.
    allow_networks: list[IPv4Network | IPv6Network] = []
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # With a CA file, the listener requires a client certificate signed by it (mutual TLS).
    tls_client_ca: Path | None = None
    # "lenient" reads what it needs with python-hl7; "strict" also has hl7apy check the
    # structure and data types of the declared version before answering (~40 msg/s).
    validation: Literal["lenient", "strict"] = "lenient"
    # Messages grouped into one store transaction: one fsync serves them all.
    commit_batch: int = Field(64, ge=1)
    fields: FieldMap = FieldMap()
    documents: DocumentMap = DocumentMap()

    @property
    def is_tls(self) -> bool:
        return self.tls_cert is not None
