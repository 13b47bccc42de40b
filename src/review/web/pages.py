"""The HTML pages: one per role's main view, the pair's side-by-side page, and the forms.

Each handler starts with `auth.require` and reads through `review.queries` (which applies the
access condition) or writes through `review.actions` (which checks role and pair itself). A
pair that is not the person's is a 403, whether it exists or not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from review import actions, audit, queries
from review.agreement import live_agreement
from review.people import Principal
from review.queries import DISCREPANCIES, MODALITIES, REGIONS, Filters
from review.web import auth, csrf
from review.web.security import FRAME_CSP

# How long an answered appeal stays badged on the trainee's page.
ANSWERED_BADGE = timedelta(days=14)


def render(request: Request, template: str, principal: Principal | None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    config = request.app.state.config
    return request.app.state.templates.TemplateResponse(
        request, template, {
            "me": principal, "csrf_token": csrf.token(request), "config": config,
            "modalities": MODALITIES, "regions": REGIONS, "discrepancies": DISCREPANCIES,
            "grades": range(1, config.max_grade + 1), **context,
        }, status_code=status_code)


def _audit(request: Request, principal: Principal, action: str, *,
           pair_id: int | None = None, detail: str = "") -> None:
    with request.app.state.engine.begin() as conn:
        audit.record(conn, principal, action, pair_id=pair_id, detail=detail,
                     client=auth.client_of(request))


def _before(request: Request) -> int | None:
    value = request.query_params.get("before", "")
    return int(value) if value.isdigit() else None


async def home(request: Request) -> Response:
    principal = auth.current(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(auth.HOME[principal.role], status_code=303)


async def login_page(request: Request) -> Response:
    if request.method == "POST":
        principal, error = await auth.password_login(request)
        if principal is not None:
            return RedirectResponse(auth.HOME[principal.role], status_code=303)
        return render(request, "login.html", None, status_code=401, error=error)
    return render(request, "login.html", None, error="")


def _list_page(request: Request, principal: Principal, template: str,
               **extra: Any) -> Response:
    filters = Filters.parse(request.query_params)
    size = request.app.state.config.web.page_size
    with request.app.state.engine.connect() as conn:
        rows = queries.list_pairs(conn, principal, filters, limit=size,
                                  before=_before(request))
        extra = {k: (v(conn) if callable(v) else v) for k, v in extra.items()}
    _audit(request, principal, "list", detail=f"{template} {len(rows)} pairs")
    more = len(rows) == size
    return render(request, template, principal, rows=rows, filters=filters,
                  params=filters.as_params(), next_before=rows[-1].id if more else None,
                  **extra)


async def trainee(request: Request) -> Response:
    principal = auth.require(request, "own_cases")
    since = datetime.now(UTC) - ANSWERED_BADGE
    return _list_page(request, principal, "trainee.html",
                      answered=lambda conn: queries.answered_appeals(conn, principal, since))


async def attending(request: Request) -> Response:
    principal = auth.require(request, "signed_cases")
    return _list_page(request, principal, "attending.html",
                      appeals=lambda conn: queries.open_appeals(conn, principal),
                      ungraded=lambda conn: queries.count_pairs(conn, principal,
                                                                Filters(graded=False)))


async def cohort(request: Request) -> Response:
    principal = auth.require(request, "cohort")
    filters = Filters.parse(request.query_params)
    with request.app.state.engine.connect() as conn:
        rows = queries.cohort(conn, principal, filters)
        live = live_agreement(conn, request.app.state.config.web.agreement_window)
    _audit(request, principal, "cohort", detail=f"{len(rows)} trainees")
    return render(request, "cohort.html", principal, rows=rows, filters=filters,
                  params=filters.as_params(), live=live)


async def conference_page(request: Request) -> Response:
    principal = auth.require(request)
    with request.app.state.engine.connect() as conn:
        rows = queries.conference_list(conn, principal)
    _audit(request, principal, "conference_list", detail=f"{len(rows)} cases")
    return render(request, "conference.html", principal, rows=rows)


def _pair_id(request: Request) -> int:
    return int(request.path_params["pair_id"])


def _detail(request: Request, principal: Principal) -> queries.PairDetail:
    pair_id = _pair_id(request)
    with request.app.state.engine.connect() as conn:
        detail = queries.pair_detail(conn, principal, pair_id)
    if detail is None:
        auth.refused(request, principal, PermissionError("this pair is not one of yours"),
                     pair_id=pair_id)
    return detail


async def pair_page(request: Request) -> Response:
    principal = auth.require(request)
    detail = _detail(request, principal)
    _audit(request, principal, "view", pair_id=detail.row.id)
    return _pair_response(request, principal, detail)


async def pair_view(request: Request) -> Response:
    """The side-by-side visualisation, in its own sandboxed document."""
    from scoring import ScoreResult, render_html

    principal = auth.require(request)
    detail = _detail(request, principal)
    _audit(request, principal, "view", pair_id=detail.row.id, detail="frame")
    if detail.result is None or detail.prelim_text is None or detail.final_text is None:
        body = "<p>The report texts of this pair were removed by the retention policy.</p>"
    else:
        body = render_html(ScoreResult.model_validate(detail.result), detail.prelim_text,
                           detail.final_text)
    return HTMLResponse(body, headers={"content-security-policy": FRAME_CSP,
                                       "x-frame-options": "SAMEORIGIN"})


async def _act(request: Request, what: Any) -> Response:
    """Check the form's token and the session, run a change (`what(conn, principal, form)`
    returns the pair id), map refusals to 403 and bad forms to 400; back to the pair."""
    form = await csrf.checked_form(request)
    principal = auth.require(request)
    try:
        with request.app.state.engine.begin() as conn:
            pair_id = what(conn, principal, form)
    except actions.Forbidden as exc:
        auth.refused(request, principal, exc, pair_id=request.path_params.get("pair_id"))
    except actions.Invalid as exc:
        return _refused_form(request, principal, form, exc)
    return RedirectResponse(f"/pairs/{pair_id}", status_code=303)


def _refused_form(request: Request, principal: Principal, form: Any,
                  exc: Exception) -> Response:
    """A form turned down (a missing reason, an answer too long ...): the pair's page again,
    400, the error beside the form and what the person typed still in it. Audited as a
    refusal (the reason, never the typed text)."""
    which = request.url.path.rsplit("/", 1)[-1]
    pair_id = request.path_params.get("pair_id")
    if pair_id is None and "appeal_id" in request.path_params:
        with request.app.state.engine.connect() as conn:
            pair_id = actions.pair_of_appeal(conn, int(request.path_params["appeal_id"]))
    _audit(request, principal, "refused", pair_id=pair_id, detail=f"{which}: {exc}")
    with request.app.state.engine.connect() as conn:
        detail = queries.pair_detail(conn, principal, pair_id) if pair_id else None
    if detail is None:
        raise HTTPException(400, str(exc))
    typed = {k: str(v) for k, v in form.items() if k != csrf.FIELD}
    return _pair_response(request, principal, detail, status_code=400, failed=which,
                          form_error=str(exc), typed=typed)


def _pair_response(request: Request, principal: Principal, detail: queries.PairDetail,
                   status_code: int = 200, **form: Any) -> Response:
    context = {"failed": "", "form_error": "", "typed": {}, **form}
    return render(request, "pair.html", principal, status_code=status_code, d=detail,
                  p=detail.row, explanation=(detail.result or {}).get("explanation", ""),
                  **context)


def _int(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise HTTPException(400, f"{what} must be a number") from None


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "")


async def verdict(request: Request) -> Response:
    pair_id, client = _pair_id(request), auth.client_of(request)
    max_grade = request.app.state.config.max_grade

    def do(conn: Any, principal: Principal, form: Any) -> int:
        actions.record_verdict(
            conn, principal, pair_id, grade=_int(form.get("grade"), "the grade"),
            discrepancy=_text(form, "discrepancy"), reason=_text(form, "reason"),
            teaching_note=_text(form, "teaching_note"), max_grade=max_grade, client=client)
        return pair_id

    return await _act(request, do)


async def appeal(request: Request) -> Response:
    pair_id, client = _pair_id(request), auth.client_of(request)

    def do(conn: Any, principal: Principal, form: Any) -> int:
        actions.open_appeal(conn, principal, pair_id, _text(form, "comment"), client=client)
        return pair_id

    return await _act(request, do)


async def answer(request: Request) -> Response:
    appeal_id, client = int(request.path_params["appeal_id"]), auth.client_of(request)
    return await _act(request, lambda conn, principal, form: actions.answer_appeal(
        conn, principal, appeal_id, _text(form, "answer"), client=client))


async def comment(request: Request) -> Response:
    pair_id, client = _pair_id(request), auth.client_of(request)

    def do(conn: Any, principal: Principal, form: Any) -> int:
        actions.add_comment(conn, principal, pair_id, _text(form, "body"), client=client)
        return pair_id

    return await _act(request, do)


async def mark(request: Request) -> Response:
    pair_id, client = _pair_id(request), auth.client_of(request)

    def do(conn: Any, principal: Principal, form: Any) -> int:
        actions.mark_conference(conn, principal, pair_id, _text(form, "note"),
                                active=form.get("active") != "0", client=client)
        return pair_id

    return await _act(request, do)
