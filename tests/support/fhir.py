"""Helpers for outbound tests: a scored pair as the worker would hand it over, an outbox row
as delivery claims it, and the real Medplum FHIR test server (tests/fhir_server) started on a
free port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ingest import ClaimedPair, ReportInfo
from outbound import OutboxItem
from support import node

SERVER_DIR = Path(__file__).resolve().parents[1] / "fhir_server"


def report(report_id: int, status: str, text: str) -> ReportInfo:
    return ReportInfo(report_id, status, text, "MRN0001", "71046^XR CHEST 2 VIEWS^CPT",
                      "A456&Attending&Alan", "R123&Resident&Rita", "20261126090000",
                      "20261126101500")


def pair(prelim: str, final: str, accession: str = "ACC1", version: int = 1) -> ClaimedPair:
    return ClaimedPair(version, accession, version, "F" if version == 1 else "C", 1,
                       report(2 * version, "P", prelim), report(2 * version + 1, "F", final))


def outbox_item(n: int = 1) -> OutboxItem:
    """A claimed outbox row carrying an empty transaction bundle."""
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    return OutboxItem(n, n, f"ACC{n}", 1, "score", "fhir", bundle, 1, datetime.now(UTC))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_node_modules() -> None:
    """npm ci once (the lock file pins Medplum 4.5.2; Node 20 is on the machine)."""
    node.ensure_node_modules(SERVER_DIR, "@medplum/fhir-router")


class FhirTestServer:
    """The Medplum router in a node process; `stop`/`start` keep the port, `pause` freezes it
    (SIGSTOP: connections are accepted, nothing is answered) with its memory intact."""

    def __init__(self) -> None:
        ensure_node_modules()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["node", "server.mjs", str(self.port)], cwd=SERVER_DIR,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base_url + "metadata", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("FHIR test server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, 19)  # SIGSTOP

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, 18)  # SIGCONT

    def reset(self) -> None:
        httpx.post(self.base_url + "$reset", timeout=5).raise_for_status()

    def search(self, resource_type: str, identifier: str) -> list[dict]:
        response = httpx.get(self.base_url + resource_type, params={"identifier": identifier},
                             timeout=5)
        response.raise_for_status()
        return [e["resource"] for e in response.json().get("entry", [])]
