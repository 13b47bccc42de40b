"""The program director's way into one trainee: their page (from the cohort table) and the
printable report for the semiannual review (a date range; the browser's print, or "Save as
PDF", gives the paper copy: `static/print.css` lays it out for A4/Letter).

Both are the `cohort` permit's; both are audited with the trainee named.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from review import queries, trainee_summary
from review.people import Principal
from review.queries import Filters
from review.web import auth
from review.web.pages import _audit, render

CASES_SHOWN = 20
TREND_MONTHS = 12


def _trainee(request: Request) -> str:
    return str(request.path_params["trainee_id"])[:199]


def _since(months: int) -> datetime:
    now = datetime.now(UTC)
    return (now - timedelta(days=31 * (months - 1))).replace(day=1, hour=0, minute=0,
                                                              second=0, microsecond=0)


def _figures(request: Request, filters: Filters,
             cases: int) -> tuple[Principal, dict[str, Any]]:
    """Everything both pages show of one trainee under `filters` (a 404 for a trainee no
    scored pair names)."""
    principal = auth.require(request, "cohort")
    trainee_id = _trainee(request)
    own = replace(filters, trainee=trainee_id)
    # Cached, and read before this request's connection opens: on SQLite every transaction
    # takes the write lock up front (radagree.store), so a second one inside would wait.
    everyone = request.app.state.cohort_modalities(principal, filters)
    with request.app.state.engine.connect() as conn:
        name = trainee_summary.trainee_name(conn, principal, trainee_id)
        if name is None:
            raise HTTPException(404, "no scored pairs name this trainee")
        modalities, total = trainee_summary.by_modality(conn, principal, trainee_id, filters,
                                                        everyone)
        agreement = trainee_summary.agreement(conn, principal, trainee_id, filters)
        # The months of the range when one is given (the report), else the last twelve.
        since = datetime.combine(filters.date_from, datetime.min.time(), tzinfo=UTC) \
            if filters.date_from else _since(TREND_MONTHS)
        last = filters.date_to.strftime("%Y-%m") if filters.date_to else "9999-12"
        mine = [m for m in queries.monthly(conn, principal, since, trainee_id=trainee_id)
                if m[0] <= last]
        majors = queries.list_pairs(conn, principal, replace(own, discrepancy="major"),
                                    limit=cases)
        labelled = queries.list_pairs(conn, principal, replace(own, graded=True), limit=cases)
        conference = queries.conference_list(conn, principal, own)
        recent = queries.list_pairs(conn, principal, own, limit=cases)
    cohort_months = {m: (n, e, r) for m, n, e, r in
                     request.app.state.cohort_trend(principal, since)}
    months = [(m, n, e, r, *cohort_months.get(m, (0, None, None))) for m, n, e, r in mine]
    return principal, {"trainee_id": trainee_id, "trainee_name": name,
                       "modalities": modalities, "total": total, "agreement": agreement,
                       "months": months, "majors": majors, "labelled": labelled,
                       "conference": conference, "recent": recent}


async def trainee_page(request: Request) -> Response:
    filters = Filters.parse(request.query_params)
    principal, f = _figures(request, filters, CASES_SHOWN)
    _audit(request, principal, "trainee", detail=f"trainee {f['trainee_id']}")
    return render(request, "trainee_detail.html", principal, filters=filters,
                  params=filters.as_params(), **f)


async def trainee_report(request: Request) -> Response:
    """The semiannual report: the last six months unless `from`/`to` say otherwise."""
    filters = Filters.parse(request.query_params)
    if filters.date_from is None and filters.date_to is None:
        today = datetime.now(UTC).date()
        filters = replace(filters, date_from=today - timedelta(days=182), date_to=today)
    principal, f = _figures(request, filters, 500)
    _audit(request, principal, "report",
           detail=f"trainee {f['trainee_id']} {filters.date_from}..{filters.date_to}")
    return render(request, "trainee_report.html", principal, filters=filters,
                  params=filters.as_params(),
                  printed=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), **f)
