"""CSRF protection for every form: a per-session synchronizer token (OWASP's first choice).

The token lives in the signed session and in a hidden field of each form; a POST whose field
does not match is refused before its handler does anything. Every POST handler reads its form
through `checked_form` (there is no other way in), and a test posts to every POST route
without the token. A request the browser marks cross-site (`Sec-Fetch-Site`) is refused too.

Written here because the ASGI CSRF libraries use the double-submit-cookie pattern and read
the token from a header (starlette-csrf) or skip requests without cookies (asgi-csrf); the
synchronizer pattern with plain HTML forms is a dozen lines.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

FIELD = "csrf_token"
_KEY = "csrf"


def token(request: Request) -> str:
    """The session's token (created on first use, so the login form has one too)."""
    value = request.session.get(_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        request.session[_KEY] = value
    return str(value)


def rotate(request: Request) -> None:
    """A new token at sign-in: one fixed before sign-in cannot be reused after it."""
    request.session[_KEY] = secrets.token_urlsafe(32)


async def checked_form(request: Request) -> FormData:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(403, "cross-site form submission refused")
    form = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    sent = form.get(FIELD)
    expected = request.session.get(_KEY)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")
    return form
