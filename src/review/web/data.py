"""Everything that is not an HTML page: CSV exports, the JSON API, SVG plots, /metrics.

The same access rules as the pages (the queries apply them); exports are audited and all
written by `review.csvout` (the formula guard).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from review import audit, csvout, plots, queries
from review.queries import Filters
from review.web import auth
from review.web.pages import _audit, _before, _detail
from review.web.security import IMAGE_CSP

TREND_MONTHS = 12


def _download(chunks: Iterator[str], name: str) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{name}"'})


async def cohort_csv(request: Request) -> Response:
    principal = auth.require(request, "cohort")
    with request.app.state.engine.connect() as conn:
        rows = queries.cohort(conn, principal, Filters.parse(request.query_params))
    _audit(request, principal, "export", detail=f"cohort.csv {len(rows)} trainees")
    header = ("trainee_id", "trainee_name", "pairs", "mean_esas", "major_rate", "labelled",
              "label_exact", "label_within_one")
    return _download(csvout.stream(header, ((r.trainee_id, r.trainee_name, r.pairs,
                                    f"{r.mean_esas:.4f}", f"{r.major_rate:.4f}", r.labelled,
                                    "" if r.label_exact is None else f"{r.label_exact:.4f}",
                                    "" if r.label_within_one is None
                                    else f"{r.label_within_one:.4f}") for r in rows)),
                     "cohort.csv")


async def pairs_csv(request: Request) -> Response:
    principal = auth.require(request)
    filters = Filters.parse(request.query_params)
    with request.app.state.engine.connect() as conn:
        rows = queries.list_pairs(conn, principal, filters, limit=100_000)
    _audit(request, principal, "export", detail=f"pairs.csv {len(rows)} pairs")
    header = ("pair_id", "accession", "version", "study_at", "received_at", "procedure",
              "modality",
              "region", "trainee_id", "trainee_name", "attending_id", "attending_name", "esas",
              "grade", "discrepancy", "attending_grade", "attending_discrepancy")
    return _download(csvout.stream(header, (
        (r.id, r.accession, r.version, r.study_at.isoformat(), r.created_at.isoformat(),
         r.procedure, r.modality,
         r.region, r.trainee_id, r.trainee_name, r.attending_id, r.attending_name,
         "" if r.esas is None else f"{r.esas:.4f}", r.grade, r.discrepancy,
         r.verdict_grade or "", r.verdict_discrepancy or "") for r in rows)), "pairs.csv")


async def audit_csv(request: Request) -> Response:
    principal = auth.require(request, "audit")

    def day(name: str) -> datetime | None:
        value = request.query_params.get(name)
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
        except ValueError:
            # A refused export is not an export: recorded as what it was.
            _audit(request, principal, "export_refused", detail=f"audit.csv: bad {name}")
            raise HTTPException(400, f"{name} must be a date (YYYY-MM-DD)") from None

    since, until = day("from"), day("to")
    _audit(request, principal, "export", detail="audit.csv")
    return _download(audit.export_csv(request.app.state.engine, since, until), "audit.csv")


def _json_row(r: queries.PairRow) -> dict[str, Any]:
    return {"id": r.id, "accession": r.accession, "version": r.version,
            "study_at": r.study_at.isoformat(), "created_at": r.created_at.isoformat(),
            "procedure": r.procedure,
            "modality": r.modality, "region": r.region, "esas": r.esas, "grade": r.grade,
            "discrepancy": r.discrepancy,
            "trainee": {"id": r.trainee_id, "name": r.trainee_name},
            "attending": {"id": r.attending_id, "name": r.attending_name},
            "attending_grade": r.verdict_grade,
            "attending_discrepancy": r.verdict_discrepancy,
            "open_appeal": r.open_appeal, "conference": r.conference}


async def api_pairs(request: Request) -> Response:
    principal = auth.require(request)
    size = request.app.state.config.web.page_size
    with request.app.state.engine.connect() as conn:
        rows = queries.list_pairs(conn, principal, Filters.parse(request.query_params),
                                  limit=size, before=_before(request))
    _audit(request, principal, "list", detail=f"api {len(rows)} pairs")
    return JSONResponse({"pairs": [_json_row(r) for r in rows],
                         "next_before": rows[-1].id if len(rows) == size else None})


async def api_pair(request: Request) -> Response:
    principal = auth.require(request)
    detail = _detail(request, principal)
    _audit(request, principal, "view", pair_id=detail.row.id, detail="api")
    return JSONResponse({
        **_json_row(detail.row), "result": detail.result,
        "preliminary": detail.prelim_text, "final": detail.final_text,
        "verdicts": [{k: _plain(v) for k, v in item.items()} for item in detail.verdicts],
        "appeals": [{k: _plain(v) for k, v in item.items()} for item in detail.appeals],
        "comments": [{k: _plain(v) for k, v in item.items()} for item in detail.comments],
    })


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _svg(data: bytes) -> Response:
    return Response(data, media_type="image/svg+xml",
                    headers={"content-security-policy": IMAGE_CSP,
                             "x-frame-options": "SAMEORIGIN"})


def _months(since: datetime, now: datetime) -> list[str]:
    out, year, month = [], since.year, since.month
    while (year, month) <= (now.year, now.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


async def trend_svg(request: Request) -> Response:
    """A trainee's monthly mean ESAS or major rate beside the (anonymous) cohort's."""
    principal = auth.require(request)
    metric = request.path_params["metric"]
    if metric not in ("esas", "major"):
        raise HTTPException(404, "no such plot")
    # A trainee's own line; anyone else names the trainee (the query keeps it to the pairs
    # they may see: an attending's line of a trainee is the pairs they signed).
    trainee_id = principal.practitioner_id if principal.is_trainee else \
        request.query_params.get("trainee")
    now = datetime.now(UTC)
    since = (now - timedelta(days=31 * (TREND_MONTHS - 1))).replace(day=1, hour=0, minute=0)
    cohort_series = request.app.state.cohort_trend(principal, since)
    series: dict[str, list[float | None]] = {}
    months = _months(since, now)
    if trainee_id:
        with request.app.state.engine.connect() as conn:
            own = queries.monthly(conn, principal, since, trainee_id=trainee_id)
        mine = {m: (e if metric == "esas" else r) for m, _, e, r in own}
        series["you" if principal.is_trainee else "trainee"] = [mine.get(m) for m in months]
    _audit(request, principal, "plot", detail=f"trend-{metric} trainee {trainee_id or '-'}"[:512])
    theirs = {m: (e if metric == "esas" else r) for m, _, e, r in cohort_series}
    series["cohort"] = [theirs.get(m) for m in months]
    title = "Mean agreement score (ESAS) per month" if metric == "esas" else \
        "Major-discrepancy rate per month"
    return _svg(plots.trend(title, months, series, percent=metric == "major"))


async def grades_svg(request: Request) -> Response:
    principal = auth.require(request)
    with request.app.state.engine.connect() as conn:
        counts = queries.grade_counts(conn, principal, Filters.parse(request.query_params))
    _audit(request, principal, "plot", detail="grades")
    return _svg(plots.distribution("Automatic grades", counts,
                                   request.app.state.config.max_grade))


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry),
                    media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    """Ready when the store answers (the app is useless without it)."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "not ready", "store": type(exc).__name__},
                            status_code=503)
    return JSONResponse({"status": "ready"})
