"""Faults a real FHIR server will not produce on demand (500, 429 + Retry-After, a 401 that
needs a fresh OAuth2 token, an entry failing inside a 200 transaction), injected by a fake that
speaks plain HTTP/1.1 over a real socket; and the folder sink under kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from outbound import FhirConfig, FhirSink, FolderSink, OutboxItem
from support.fhir import outbox_item

pytestmark = pytest.mark.timeout(60)
OUTCOME = {"resourceType": "OperationOutcome",
           "issue": [{"severity": "error", "code": "invalid",
                      "details": {"text": "Observation.code: required"}}]}


class FaultServer:
    """Answers from a script: each POST to / pops the next (status, headers, body)."""

    def __init__(self, script: list[tuple[int, dict, object]]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        self.tokens_issued = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path == "/token":
                    owner.tokens_issued += 1
                    return self._send(200, {}, {"access_token": f"tok{owner.tokens_issued}",
                                                "expires_in": 3600})
                owner.requests.append({"auth": self.headers.get("Authorization"),
                                       "body": json.loads(body)})
                status, headers, answer = owner.script.pop(0)
                self._send(status, headers, answer)

            def _send(self, status, headers, answer):
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def send(config: FhirConfig, *items: OutboxItem):
    async def run():
        sink = FhirSink(config)
        try:
            return [await sink.send(i) for i in items]
        finally:
            await sink.close()

    return asyncio.run(run())


def test_transient_and_permanent_answers():
    server = FaultServer([
        (500, {}, OUTCOME),
        (429, {"Retry-After": "7"}, OUTCOME),
        (503, {}, b"<html>gateway</html>"),
        (422, {}, OUTCOME),
        (412, {}, OUTCOME),
        (200, {}, {"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "201 Created"}},
            {"response": {"status": "400", "outcome": OUTCOME}}]}),
        (200, {}, {"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "201"}}, {"response": {"status": "200 OK"}}]}),
    ])
    try:
        results = send(FhirConfig(base_url=server.url), *[outbox_item(n) for n in range(7)])
    finally:
        server.close()
    assert [(r.result, r.status) for r in results] == [
        ("retry", 500), ("retry", 429), ("retry", 503), ("dead", 422), ("dead", 412),
        ("dead", 400), ("delivered", 200)]
    assert results[1].retry_after == 7
    assert "Observation.code: required" in results[3].error
    assert results[3].outcome == OUTCOME


def test_network_error_is_transient():
    (result,) = send(FhirConfig(base_url="http://127.0.0.1:9/", timeout_s=1), outbox_item())
    assert result.result == "retry" and result.error == "ConnectError"


def test_bearer_token_and_oauth_client_credentials(tmp_path):
    server = FaultServer([(200, {}, {}), (401, {}, OUTCOME), (200, {}, {}), (200, {}, {})])
    try:
        token_file = tmp_path / "token"
        token_file.write_text("static-secret\n")
        (static,) = send(FhirConfig(base_url=server.url, token_file=token_file), outbox_item())
        assert server.requests[0]["auth"] == "Bearer static-secret"
        oauth = FhirConfig(base_url=server.url, oauth_token_url=server.url + "token",
                           client_id="radagree", client_secret="s3cret")
        results = send(oauth, outbox_item(1), outbox_item(2))
    finally:
        server.close()
    assert static.result == "delivered" and [r.result for r in results] == ["delivered"] * 2
    # first call got 401 with tok1 -> refreshed once -> tok2, cached for the next bundle
    assert [r["auth"] for r in server.requests[1:]] == ["Bearer tok1", "Bearer tok2",
                                                         "Bearer tok2"]
    assert server.tokens_issued == 2


WRITER = """
import sys, itertools
from pathlib import Path
from outbound.sinks import write_atomically
folder = Path(sys.argv[1])
blob = ("x" * 200_000).encode()
for n in itertools.count():
    write_atomically(folder / f"{n:08d}.json", b'{"n": %d, "pad": "' % n + blob + b'"}')
"""


@pytest.mark.slow  # a subprocess, killed -9 three times
def test_folder_sink_never_leaves_a_half_written_file(tmp_path):
    folder = tmp_path / "out"
    for attempt in range(3):
        before = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)])
        deadline = time.monotonic() + 60  # imports can be slow on a loaded machine
        while len(list(folder.glob("*.json")) if folder.is_dir() else []) <= before + 2:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        time.sleep(0.05 + attempt * 0.037)  # land somewhere inside a write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        files = sorted(folder.glob("*.json"))
        assert files, "the writer wrote something before it was killed"
        for path in files:
            json.loads(path.read_bytes())  # every visible file is complete
    FolderSink(folder)  # a restart clears the temp files a kill left behind
    assert list(folder.glob(".tmp-*")) == []


def test_mutual_tls_client_certificate_and_custom_ca(tmp_path):
    import ssl

    import trustme

    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    client_cert = ca.issue_cert("radagree.example")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "client.pem"))
    server = FaultServer([(200, {}, {}), (200, {}, {})])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    url = server.url.replace("http://", "https://")
    try:
        with_cert = FhirConfig(base_url=url, ca_bundle=tmp_path / "ca.pem",
                               client_cert=tmp_path / "client.pem")
        (ok,) = send(with_cert, outbox_item())
        (refused,) = send(FhirConfig(base_url=url, ca_bundle=tmp_path / "ca.pem"), outbox_item())
        (untrusted,) = send(FhirConfig(base_url=url, client_cert=tmp_path / "client.pem"),
                            outbox_item())
    finally:
        server.close()
    assert ok.result == "delivered"
    assert refused.result == "retry" and untrusted.result == "retry"
    assert len(server.requests) == 1
