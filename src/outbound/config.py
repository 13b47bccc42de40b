"""Outbound settings (`[fhir]`): where bundles go, how we authenticate, how we retry.

Secrets are `SecretStr` (masked wherever the configuration is printed) and can come from a
file instead of the TOML or the environment, as Kubernetes mounts them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class FhirConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Empty: bundles are written to `folder` (the embedded default).
    base_url: str = ""
    folder: Path = Path("fhir-out")
    # Identifier systems. The accession system names the RIS's accession namespace.
    identifier_system: str = "https://radagree.org/fhir/sid/report-agreement"
    accession_system: str = "urn:radagree:accession"
    patient_system: str = "urn:radagree:patient-id"
    # IANA zone of HL7 times that carry no offset (FHIR dateTimes with a time need one).
    source_timezone: str = "UTC"
    # Also send the two source reports as DocumentReference (off: it copies report text into
    # one more system).
    send_documents: bool = False
    # The trainee and the attending are named by Practitioner identifier: the system of the
    # XCN's assigning authority from this map, else `practitioner_system`.
    practitioner_system: str = "urn:radagree:practitioner-id"
    practitioner_systems: dict[str, str] = {}
    # Prelim/final feedback is quality-improvement work product (often legally privileged):
    # every resource carries a confidentiality code and a purpose of use in meta.security, so
    # a RIS can keep it out of the patient's chart. On by default.
    security_labels: bool = True
    confidentiality: Literal["U", "L", "M", "N", "R", "V"] = "R"
    purpose_of_use: str = "HQUALIMP"
    # Auth: a static bearer token, OAuth2 client credentials, and/or a client certificate.
    token: SecretStr | None = None
    token_file: Path | None = None
    oauth_token_url: str = ""
    client_id: str = ""
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scope: str = ""
    client_cert: Path | None = None
    client_key: Path | None = None
    ca_bundle: Path | None = None
    timeout_s: float = Field(10.0, gt=0)
    # Retries: exponential backoff with full jitter, capped; Retry-After is honoured.
    backoff_base_s: float = Field(1.0, gt=0)
    # Capped at a minute: a FHIR server back from an outage has every bundle within about a
    # minute (issue #7's target); an outage costs one attempt per bundle per minute at most.
    backoff_max_s: float = Field(60.0, gt=0)
    delivery_batch: int = Field(16, ge=1)
    # A claimed delivery not finished within this is retried (by any replica).
    lease_s: float = Field(120.0, gt=0)

    @property
    def sink(self) -> str:
        return "fhir" if self.base_url else "folder"

    def bearer_token(self) -> str | None:
        if self.token_file is not None:
            return self.token_file.read_text(encoding="utf-8").strip()
        return self.token.get_secret_value() if self.token is not None else None

    def oauth_secret(self) -> str | None:
        if self.client_secret_file is not None:
            return self.client_secret_file.read_text(encoding="utf-8").strip()
        return self.client_secret.get_secret_value() if self.client_secret else None
