"""Review app settings: `[web]`, `[oidc]`, `[smtp]`, `[notify]`.

Secrets are `SecretStr` (masked when the configuration is printed) and can come from files,
as Kubernetes mounts them. Everything that sends e-mail or signs in through a hospital's
identity provider is off until configured: the embedded default needs neither.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    if path is not None:
        return path.read_text(encoding="utf-8").strip()
    return value.get_secret_value() if value is not None else None


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)
    # The address people reach the app at (links in e-mails, the OIDC redirect URI).
    public_url: str = "http://127.0.0.1:8081"
    # Signs the session cookie. Unset: a random key kept in `secret_key_file` (default
    # ./radagree-web.key, created 0600 at first start), so sessions survive a restart.
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    session_max_age_s: int = Field(8 * 3600, ge=60)
    # Secure cookies need HTTPS; browsers also accept them from http://127.0.0.1/localhost.
    secure_cookies: bool = True
    # Wrong passwords per (account name, client address) within the window before each further
    # try from there waits twice as long as the last (login_backoff_s, 2x, 4x ... up to the
    # window; 429 meanwhile). Past login_name_ceiling failures of one name from anywhere,
    # each address gets one free wrong try for it. Nobody is locked out from elsewhere.
    login_max_failures: int = Field(5, ge=1)
    login_window_s: int = Field(900, ge=1)
    login_backoff_s: float = Field(1.0, gt=0)
    login_name_ceiling: int = Field(50, ge=1)
    # Live agreement (dashboard and gauges): the newest N labels.
    agreement_window: int = Field(200, ge=1)
    page_size: int = Field(50, ge=5, le=500)
    # Trust X-Forwarded-Proto/-For only from these proxy addresses (comma-separated IPs or
    # networks: the Ingress controller). Empty (default): trusted from nobody, so no client
    # can choose the address the audit log and the sign-in limit see.
    forwarded_allow_ips: str = ""
    # Local accounts (`radagree user add`); off leaves OIDC as the only way in.
    local_accounts: bool = True

    def signing_key(self) -> str:
        """The configured key; else the key in `secret_key_file` (default
        `./radagree-web.key`), created there (0600, random) the first time."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.secret_key_file or Path("radagree-web.key")
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()


class OidcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Empty: no OIDC sign-in. Otherwise the provider's issuer (its discovery document is
    # `<issuer>/.well-known/openid-configuration`).
    issuer: str = ""
    client_id: str = ""
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scopes: str = "openid profile email"
    # The ID-token/userinfo claim that lists the person's groups or roles, and how its values
    # map to app roles (the first role found, most privileged first, wins).
    roles_claim: str = "roles"
    role_map: dict[str, str] = {"radagree-trainee": "trainee",
                                "radagree-attending": "attending",
                                "radagree-director": "director",
                                "radagree-admin": "admin"}
    # The claim carrying the person's id as the RIS writes it in OBR-32/33.
    practitioner_claim: str = "preferred_username"
    ca_bundle: Path | None = None
    button_label: str = "Sign in with the hospital account"

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    def secret(self) -> str | None:
        return _secret(self.client_secret, self.client_secret_file)


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Empty: no e-mail at all.
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    # starttls (587), tls (implicit, 465) or none (a local relay only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: SecretStr | None = None
    password_file: Path | None = None
    sender: str = "radagree@localhost"
    ca_bundle: Path | None = None
    timeout_s: float = Field(10.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def secret(self) -> str | None:
        return _secret(self.password, self.password_file)


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    major_discrepancy: bool = True
    # The trainee whose appeal was answered (a link to the pair, never the answer's text).
    appeal_answered: bool = True
    weekly_digest: bool = True
    # When the digest goes out: ISO weekday (1 = Monday) and hour, in UTC.
    digest_weekday: int = Field(1, ge=1, le=7)
    digest_hour: int = Field(7, ge=0, le=23)
    interval_s: float = Field(60.0, gt=0)
    # What an e-mail may say beyond the link: off by default (no identifiers in e-mail).
    include_accession: bool = False
    include_procedure: bool = False
