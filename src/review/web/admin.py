"""The administrator's page: every account with its role, and the two things done to one:
change its role, sign it out everywhere. Both end the account's sessions and are audited.

The same operations are `radagree user list / role / signout` for a shell (`web_cli`).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from review import audit, people, sessions
from review.people import AccountError
from review.tables import ROLES
from review.web import auth, csrf
from review.web.pages import _audit, render


async def accounts_page(request: Request) -> Response:
    principal = auth.require(request, "accounts")
    with request.app.state.engine.connect() as conn:
        rows = people.list_accounts(conn)
    _audit(request, principal, "accounts", detail=f"{len(rows)} accounts")
    return render(request, "admin.html", principal, rows=rows, roles=ROLES,
                  done=request.query_params.get("done", "")[:80])


def _user_id(request: Request) -> int:
    return int(request.path_params["user_id"])


async def change_role(request: Request) -> Response:
    form = await csrf.checked_form(request)
    principal = auth.require(request, "accounts")
    user_id = _user_id(request)
    try:
        old, new = people.set_role(request.app.state.engine, user_id, str(form.get("role")))
    except AccountError as exc:
        raise HTTPException(400, str(exc)) from exc
    sessions.end_all(request.app.state.engine, user_id)
    with request.app.state.engine.begin() as conn:
        audit.record(conn, principal, "role_changed", detail=f"account {user_id} {old}->{new}",
                     client=auth.client_of(request))
    return RedirectResponse(f"/admin?done=role+of+account+{user_id}+changed", status_code=303)


async def sign_out_user(request: Request) -> Response:
    await csrf.checked_form(request)
    principal = auth.require(request, "accounts")
    user_id = _user_id(request)
    ended = sessions.end_all(request.app.state.engine, user_id)
    with request.app.state.engine.begin() as conn:
        audit.record(conn, principal, "logout_everywhere",
                     detail=f"account {user_id} by admin, {ended} sessions",
                     client=auth.client_of(request))
    return RedirectResponse(f"/admin?done=account+{user_id}+signed+out", status_code=303)
