"""A real OpenID Connect provider for the sign-in tests: panva's `oidc-provider` (npm, pinned
by tests/oidc_provider/package-lock.json) in a node process on a free port."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from support import node
from support.fhir import free_port

SERVER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "radagree-review", "oidc-test-client-secret-0123456789"


class OidcTestProvider:
    def __init__(self, redirect_uri: str, accounts: dict[str, dict]) -> None:
        node.ensure_node_modules(SERVER_DIR, "oidc-provider")
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = redirect_uri
        self.accounts = accounts
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "server.mjs", str(self.port), CLIENT_ID, CLIENT_SECRET, self.redirect_uri,
             json.dumps(self.accounts)], cwd=SERVER_DIR, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.issuer + "/.well-known/openid-configuration",
                          timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                    raise RuntimeError(f"OIDC provider exited: {out}") from None
                time.sleep(0.1)
        raise RuntimeError("OIDC provider did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
