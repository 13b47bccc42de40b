"""The HTTP side of the daemon: `/metrics` (Prometheus), `/healthz` (alive), `/readyz`.

A WSGI app on the standard library's server in a thread: three GET routes do not justify an
ASGI stack, and prometheus_client's own `make_wsgi_app` serves the metrics. Readiness asks
the daemon; liveness only proves the process answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

# name -> (ok, detail); a failing check makes /readyz answer 503 and name it.
ReadinessCheck = Callable[[], dict[str, tuple[bool, str]]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # access logs: Prometheus scrapes every 15 s
        pass


def make_app(readiness: ReadinessCheck, registry: CollectorRegistry = REGISTRY
             ) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "alive"})
        if path == "/readyz":
            checks = readiness()
            ok = all(passed for passed, _ in checks.values())
            body = {"status": "ready" if ok else "not ready",
                    "checks": {k: {"ok": v[0], "detail": v[1]} for k, v in checks.items()}}
            return _json(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        if path in ("/metrics", "/"):
            return metrics(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return app


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


class HttpServer:
    def __init__(self, host: str, port: int, readiness: ReadinessCheck,
                 registry: CollectorRegistry = REGISTRY) -> None:
        self._server = make_server(host, port, make_app(readiness, registry),
                                   server_class=_ThreadingServer, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="radagree-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
