"""`create_app`: the review app as one Starlette application over the store.

Middleware, outermost first: security headers, the signed session cookie (Secure, HttpOnly,
SameSite=Lax: Lax, not Strict, so the session survives the identity provider's redirect back;
every form also carries its CSRF token). The notifier runs in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from review import access, queries, trainee_summary
from review.agreement import AgreementCollector
from review.config import NotifyConfig, OidcConfig, SmtpConfig, WebConfig
from review.notify import Notifier
from review.people import Principal
from review.web import admin, auth, data, director, pages
from review.web.security import SecurityHeaders

log = structlog.get_logger("review.web")
HERE = Path(__file__).resolve().parent.parent
COHORT_TREND_TTL_S = 300.0


@dataclass(frozen=True)
class AppConfig:
    web: WebConfig = field(default_factory=WebConfig)
    oidc: OidcConfig = field(default_factory=OidcConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    max_grade: int = 5


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return Jinja2Templates(env=env)


Series = list[tuple[str, int, float, float]]


def _cohort_trend(engine: Engine) -> Callable[[Principal, datetime], Series]:
    """The cohort's monthly series, cached a few minutes: it is anonymous and moves slowly,
    and recomputing it over every stored pair for each trainee's plot would not. The role
    check runs on every call, cached or not."""
    cache: dict[datetime, tuple[float, Series]] = {}

    def get(principal: Principal, since: datetime) -> Series:
        access.check(principal, "pairs")
        hit = cache.get(since)
        if hit is not None and time.monotonic() - hit[0] < COHORT_TREND_TTL_S:
            return hit[1]
        with engine.connect() as conn:
            value = queries.monthly(conn, principal, since, trainee_id=None)
        cache.clear()
        cache[since] = (time.monotonic(), value)
        return value

    return get


def _cohort_modalities(engine: Engine) -> Callable[[Principal, queries.Filters],
                                                 dict[str, trainee_summary.Rates]]:
    """The cohort's rates per modality under a set of filters, cached a few minutes like the
    cohort's trend (anonymous, slow-moving, one pass over every pair of the range): what
    each trainee's page and report draws beside the trainee. The role check runs on every
    call, cached or not."""
    cache: dict[queries.Filters, tuple[float, dict[str, trainee_summary.Rates]]] = {}

    def get(principal: Principal, filters: queries.Filters) -> dict[str, trainee_summary.Rates]:
        access.check(principal, "cohort")
        key = replace(filters, trainee=None)
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < COHORT_TREND_TTL_S:
            return hit[1]
        with engine.connect() as conn:
            value = trainee_summary.cohort_by_modality(conn, principal, key)
        if len(cache) > 64:
            cache.clear()
        cache[key] = (time.monotonic(), value)
        return value

    return get


async def _errors(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)
    if exc.status_code == 401 and request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    page = pages.render(request, "error.html", auth.current(request) if exc.status_code != 401
                        else None, status_code=exc.status_code, status=exc.status_code,
                        message=exc.detail)
    page.headers.update(exc.headers or {})
    return page


ROUTES = [
    Route("/", pages.home),
    Route("/login", pages.login_page, methods=["GET", "POST"]),
    Route("/login/oidc", auth.oidc_start),
    Route("/auth/callback", auth.oidc_callback),
    Route("/logout", auth.logout, methods=["POST"]),
    Route("/logout/everywhere", auth.logout_everywhere, methods=["POST"]),
    Route("/trainee", pages.trainee),
    Route("/attending", pages.attending),
    Route("/cohort", pages.cohort),
    Route("/cohort/trainees/{trainee_id:str}", director.trainee_page),
    Route("/cohort/trainees/{trainee_id:str}/report", director.trainee_report),
    Route("/conference", pages.conference_page),
    Route("/pairs/{pair_id:int}", pages.pair_page),
    Route("/pairs/{pair_id:int}/view", pages.pair_view),
    Route("/pairs/{pair_id:int}/verdict", pages.verdict, methods=["POST"]),
    Route("/pairs/{pair_id:int}/appeal", pages.appeal, methods=["POST"]),
    Route("/pairs/{pair_id:int}/comments", pages.comment, methods=["POST"]),
    Route("/pairs/{pair_id:int}/conference", pages.mark, methods=["POST"]),
    Route("/appeals/{appeal_id:int}/answer", pages.answer, methods=["POST"]),
    Route("/admin", admin.accounts_page),
    Route("/admin/users/{user_id:int}/role", admin.change_role, methods=["POST"]),
    Route("/admin/users/{user_id:int}/signout", admin.sign_out_user, methods=["POST"]),
    Route("/cohort.csv", data.cohort_csv),
    Route("/pairs.csv", data.pairs_csv),
    Route("/audit.csv", data.audit_csv),
    Route("/api/pairs", data.api_pairs),
    Route("/api/pairs/{pair_id:int}", data.api_pair),
    Route("/plots/trend-{metric}.svg", data.trend_svg),
    Route("/plots/grades.svg", data.grades_svg),
    Route("/metrics", data.metrics),
    Route("/healthz", data.healthz),
    Route("/readyz", data.readyz),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(config: AppConfig, engine: Engine,
               registry: CollectorRegistry | None = None) -> Starlette:
    """The app over `engine` (already migrated). `registry`: where the live-agreement gauges
    go (a fresh one per app by default, so tests and replicas never collide)."""
    web = config.web
    registry = registry if registry is not None else CollectorRegistry()
    AgreementCollector(engine, web.agreement_window, registry=registry)
    notifier = Notifier(engine, config.smtp, config.notify, web.public_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if config.smtp.enabled:
            task = asyncio.create_task(_notify_loop(notifier, config.notify.interval_s))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Proxy headers only from the configured proxies (none by default): the one place the
    # client address and scheme are decided, so tests see what uvicorn serves.
    proxies = [Middleware(ProxyHeadersMiddleware, trusted_hosts=web.forwarded_allow_ips)] \
        if web.forwarded_allow_ips.strip() else []
    middleware = [
        *proxies,
        Middleware(SecurityHeaders, hsts=web.secure_cookies),
        Middleware(SessionMiddleware, secret_key=web.signing_key(),
                   session_cookie="__Host-radagree" if web.secure_cookies else "radagree",
                   max_age=web.session_max_age_s, same_site="lax",
                   https_only=web.secure_cookies),
    ]
    app = Starlette(routes=ROUTES, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPException: _errors})
    app.state.config = config
    app.state.engine = engine
    app.state.registry = registry
    app.state.templates = _templates()
    app.state.oidc = auth.oauth_client(config.oidc) if config.oidc.enabled else None
    app.state.cohort_trend = _cohort_trend(engine)
    app.state.cohort_modalities = _cohort_modalities(engine)
    app.state.notifier = notifier
    return app


async def _notify_loop(notifier: Notifier, interval_s: float) -> None:
    while True:
        try:
            sent: Any = await asyncio.to_thread(notifier.run_once)
            if any(sent.values()):
                log.info("notifications", **sent)
        except Exception as exc:  # the store or the mail server down: try again next time
            log.warning("notify_pass_failed", error=type(exc).__name__)
        await asyncio.sleep(interval_s)
