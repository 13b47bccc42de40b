"""Response headers every page gets: a strict Content-Security-Policy and the rest.

The pages use no script at all and only our own stylesheet and images, so the policy allows
exactly that. A route that serves a document of another kind (the visualisation in its
sandboxed frame, an SVG plot) sets its own policy, which this middleware then leaves alone.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'")
# The visualisation (scoring.render_html): inline CSS, nothing else, in a sandboxed frame.
FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
# An SVG plot opened on its own: its inline styles, no script.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"

_ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering) adding the headers to every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", PAGE_CSP)
                headers.setdefault("x-frame-options", "DENY")
                # Pages carry report text and names: never kept by a browser or a proxy.
                headers.setdefault("cache-control", "no-store")
                if self.hsts and scope.get("scheme") == "https":
                    headers.setdefault("strict-transport-security",
                                       "max-age=31536000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, with_headers)
