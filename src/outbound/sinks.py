"""Where bundles go: a FHIR server (one transaction per bundle) or a folder of JSON files.

A sink answers each attempt with an `Attempt`: delivered, retry (with the delay the server
asked for, if any) or dead (with the server's OperationOutcome). Classification follows
DESIGN.md §8: 5xx, 429 and network errors are transient; any other 4xx will not get better
by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from outbound.config import FhirConfig
from outbound.outbox import OutboxItem


@dataclass(frozen=True, slots=True)
class Attempt:
    result: str  # delivered | retry | dead
    status: int | None = None
    error: str | None = None
    outcome: dict[str, Any] | None = None
    retry_after: float | None = None


class Sink(Protocol):
    async def send(self, item: OutboxItem) -> Attempt: ...

    async def close(self) -> None: ...


class FolderSink:
    """One file per bundle, written atomically (temp file, fsync, rename, fsync the folder).

    The name is fixed per outbox row and starts with its creation time, so the files sort by
    time and a retry after a crash rewrites the same file instead of adding a second one.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # A crash between write and rename leaves a temp file; its bundle is still pending
        # in the outbox and will be written again, so the leftover can go.
        for leftover in folder.glob(".tmp-*") if folder.is_dir() else []:
            leftover.unlink(missing_ok=True)

    @staticmethod
    def file_name(item: OutboxItem) -> str:
        created = item.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", item.accession)[:64]
        stamp = created.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return f"{stamp}-{item.id:010d}-{safe}-v{item.version}-{item.kind}.json"

    async def send(self, item: OutboxItem) -> Attempt:
        try:
            await asyncio.to_thread(self._write, item)
        except OSError as exc:  # disk full, permissions: transient from our side
            return Attempt("retry", error=f"{type(exc).__name__}: {exc.strerror}")
        return Attempt("delivered")

    def _write(self, item: OutboxItem) -> None:
        write_atomically(self.folder / self.file_name(item),
                         json.dumps(item.bundle, indent=1, ensure_ascii=False).encode("utf-8"))

    async def close(self) -> None:
        return None


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a part (crash-safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # PHI: the account that runs radagree only (issue #18)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FhirSink:
    """A FHIR server over httpx: transaction bundles, auth, timeouts, outcome classification."""

    def __init__(
        self, config: FhirConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        tls = ssl.create_default_context(
            cafile=str(config.ca_bundle) if config.ca_bundle else None)
        if config.client_cert is not None:
            tls.load_cert_chain(config.client_cert, config.client_key)
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/", timeout=config.timeout_s,
            verify=tls, transport=transport,
            headers={"Accept": "application/fhir+json",
                     "Content-Type": "application/fhir+json"},
        )
        self._token: str | None = None
        self._token_expires = 0.0

    async def close(self) -> None:
        await self._client.aclose()

    async def _auth_headers(self, refresh: bool = False) -> dict[str, str]:
        if self.config.oauth_token_url:
            if refresh or self._token is None or time.monotonic() > self._token_expires:
                await self._fetch_token()
            return {"Authorization": f"Bearer {self._token}"}
        token = self.config.bearer_token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _fetch_token(self) -> None:
        """OAuth2 client credentials; the token is cached until 30 s before it expires."""
        response = await self._client.post(self.config.oauth_token_url, data={
            "grant_type": "client_credentials", "client_id": self.config.client_id,
            "client_secret": self.config.oauth_secret() or "", "scope": self.config.scope,
        }, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response.raise_for_status()
        body = response.json()
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + float(body.get("expires_in", 300)) - 30

    async def send(self, item: OutboxItem) -> Attempt:
        try:
            response = await self._post(item.bundle)
            if response.status_code == 401 and self.config.oauth_token_url:
                response = await self._post(item.bundle, refresh=True)
        except (httpx.TransportError, httpx.HTTPStatusError, OSError) as exc:
            # OSError: an ssl.SSLError escapes httpx when a TLS 1.3 server refuses the client
            # certificate after the handshake, on the first read. Never the exception text
            # alone: it can carry the URL with query values.
            return Attempt("retry", error=f"{type(exc).__name__}")
        return classify(response)

    async def _post(self, bundle: dict[str, Any], refresh: bool = False) -> httpx.Response:
        headers = await self._auth_headers(refresh)
        return await self._client.post("", json=bundle, headers=headers)


def classify(response: httpx.Response) -> Attempt:
    status = response.status_code
    body = _json(response)
    if status == 429 or status >= 500:
        return Attempt("retry", status, f"HTTP {status}", body,
                       retry_after(response.headers.get("Retry-After")))
    if status >= 400:
        return Attempt("dead", status, f"HTTP {status}: {_outcome_text(body)}", body)
    # A transaction answers 200 with one response per entry; non-atomic servers (Medplum's
    # in-memory router) can fail single entries, so each is checked.
    worst = 200
    for entry in (body or {}).get("entry") or []:
        code = int(str((entry.get("response") or {}).get("status", "200")).split()[0])
        worst = max(worst, code)
    if worst == 429 or worst >= 500:
        return Attempt("retry", worst, f"entry answered {worst}", body)
    if worst >= 400:
        return Attempt("dead", worst, f"entry answered {worst}: {_outcome_text(body)}", body)
    return Attempt("delivered", status)


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _outcome_text(body: dict[str, Any] | None) -> str:
    """The diagnostics of an OperationOutcome (also inside transaction entries)."""
    if not body:
        return "no OperationOutcome"
    texts: list[str] = []
    outcomes = [body] if body.get("resourceType") == "OperationOutcome" else [
        (e.get("response") or {}).get("outcome") or {} for e in body.get("entry") or []]
    for outcome in outcomes:
        for issue in outcome.get("issue") or []:
            if issue.get("severity") in ("error", "fatal"):
                text = (issue.get("details") or {}).get("text") or issue.get("diagnostics")
                texts.append(str(text or issue.get("code")))
    return "; ".join(texts)[:500] or "no error text"


def make_sink(config: FhirConfig) -> Sink:
    return FhirSink(config) if config.sink == "fhir" else FolderSink(config.folder)
