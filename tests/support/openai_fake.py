"""A fake OpenAI-compatible chat server for faults vLLM will not produce on demand (500, 429,
a malformed answer, a stall) and for reading exactly what we put on the wire. It speaks the
real HTTP/JSON protocol over a real socket; answers come from a script of callables."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], Any]


def completion(content: str, prompt_tokens: int = 10, completion_tokens: int = 3) -> Answer:
    return 200, {}, {
        "id": "cmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def echo_valid(body: dict[str, Any]) -> Answer:
    """A well-formed constrained answer for whatever was asked."""
    structured = (body.get("extra_body") or {}).get("structured_outputs") or body.get(
        "structured_outputs")
    if structured and "choice" in structured:
        return completion(structured["choice"][0])
    fmt = body.get("response_format")
    if fmt and fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]["schema"]
        n = schema["properties"]["entities"]["minItems"]
        return completion(json.dumps({"entities": [{"label": "same", "reason": "none"}] * n}))
    return completion("The preliminary agrees with the final report.")


class FakeOpenAI:
    def __init__(self, script: Callable[[dict[str, Any], int], Answer]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script = script
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send(200, {}, {"object": "list", "data": [{"id": "fake"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                status, headers, answer = owner.script(body, len(owner.requests))
                if status == -1:  # stall: never answer in time
                    time.sleep(float(answer))
                    return
                self._send(status, headers, answer)

            def _send(self, status: int, headers: dict[str, str], answer: Any) -> None:
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
