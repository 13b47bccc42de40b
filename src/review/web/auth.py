"""Sign-in: local accounts (argon2) and the hospital's OpenID Connect provider (authorization
code flow with PKCE, through authlib), sign-out, and who is asking.

The session cookie (Starlette's, signed with itsdangerous) holds the account id, the
account's session epoch, the key of its server-side session (`review.sessions`) and the CSRF
token, nothing else. Every request reloads the account and its session row: signing out, a
deactivated account or a bumped epoch (sign-out everywhere, a role change at the provider)
ends the session at once, also for any copy of the cookie. Failed sign-ins are audit rows;
`review.throttle` counts them per (name, address) with backoff for the rate limit, shared
by every replica of the app.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import structlog
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from review import access, audit, people, sessions, throttle
from review.config import OidcConfig
from review.people import AccountError, Principal
from review.tables import ADMIN, ATTENDING, DIRECTOR, TRAINEE
from review.web import csrf

log = structlog.get_logger("review.auth")
_PRIVILEGE = (ADMIN, DIRECTOR, ATTENDING, TRAINEE)
HOME = {TRAINEE: "/trainee", ATTENDING: "/attending", DIRECTOR: "/cohort", ADMIN: "/cohort"}


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def current(request: Request) -> Principal | None:
    """The signed-in account, or None (no session, expired, deactivated, signed out)."""
    uid, epoch = request.session.get("uid"), request.session.get("epoch")
    if not isinstance(uid, int):
        return None
    max_age = request.app.state.config.web.session_max_age_s
    with request.app.state.engine.connect() as conn:
        principal = people.load(conn, uid)
        live = principal is not None and principal.epoch == epoch and sessions.alive(
            conn, request.session.get("sid"), uid, max_age)
    if not live:
        request.session.pop("uid", None)
        request.session.pop("sid", None)
        return None
    return principal


def require(request: Request, permit: str = "pairs") -> Principal:
    """The signed-in account holding `permit` (`access.check`, the one role check); 401
    without a session, 403 (audited as a denial) without the permit."""
    principal = current(request)
    if principal is None:
        raise HTTPException(401, "sign in first")
    try:
        access.check(principal, permit)
    except access.Denied as exc:
        refused(request, principal, exc)
    return principal


def refused(request: Request, principal: Principal, exc: Exception,
            pair_id: int | None = None) -> NoReturn:
    """Audit a refusal (`denied`, with the path) and answer it 403."""
    with request.app.state.engine.begin() as conn:
        audit.record(conn, principal, "denied", pair_id=pair_id,
                     detail=f"{request.method} {request.url.path}", client=client_of(request))
    raise HTTPException(403, str(exc)) from exc


def start_session(request: Request, principal: Principal) -> None:
    request.session.clear()  # nothing from before sign-in survives it (session fixation)
    key = sessions.open_session(request.app.state.engine, principal.id)
    request.session.update({"uid": principal.id, "epoch": principal.epoch, "sid": key})
    csrf.rotate(request)


def throttled(request: Request, username: str) -> float:
    """Seconds this (name, address) must still wait before another try (`review.throttle`)."""
    cfg = request.app.state.config.web
    budget = throttle.Budget(cfg.login_max_failures, cfg.login_window_s, cfg.login_backoff_s,
                             cfg.login_name_ceiling)
    with request.app.state.engine.connect() as conn:
        return throttle.retry_after(conn, budget, username, client_of(request))


async def password_login(request: Request) -> tuple[Principal | None, str]:
    """(account, "") on success, (None, why) otherwise; every outcome is audited."""
    form = await csrf.checked_form(request)
    username = str(form.get("username") or "").strip()[:128]
    password = str(form.get("password") or "")
    engine = request.app.state.engine
    wait = throttled(request, username)
    if wait > 0:
        with engine.begin() as conn:
            audit.record(conn, None, "login_throttled", username=username,
                         client=client_of(request))
        raise HTTPException(429, f"too many failed sign-ins from here: try again in "
                                 f"{math.ceil(wait)} s",
                            headers={"retry-after": str(math.ceil(wait))})
    principal = people.verify_password(engine, username, password) if username else None
    with engine.begin() as conn:
        if principal is None:
            audit.record(conn, None, "login_failed", username=username,
                         client=client_of(request))
            return None, "wrong user name or password"
        audit.record(conn, principal, "login", detail="password", client=client_of(request))
    people.touch_login(engine, principal.id)
    start_session(request, principal)
    log.info("signed_in", user=principal.id, method="password")
    return principal, ""


def oauth_client(config: OidcConfig) -> Any:
    oauth = OAuth()
    kwargs: dict[str, Any] = {"scope": config.scopes, "code_challenge_method": "S256"}
    if config.ca_bundle is not None:
        kwargs["verify"] = str(config.ca_bundle)
    oauth.register(
        "hospital", client_id=config.client_id, client_secret=config.secret(),
        server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs=kwargs,
    )
    return oauth.hospital


async def oidc_start(request: Request) -> Response:
    client = request.app.state.oidc
    if client is None:
        raise HTTPException(404, "OIDC sign-in is not configured")
    redirect_uri = request.app.state.config.web.public_url.rstrip("/") + "/auth/callback"
    return await client.authorize_redirect(request, redirect_uri)


def role_from(claims: dict[str, Any], config: OidcConfig) -> str | None:
    values = claims.get(config.roles_claim) or []
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    roles = {config.role_map[v] for v in values if isinstance(v, str) and v in config.role_map}
    return next((r for r in _PRIVILEGE if r in roles), None)


async def oidc_callback(request: Request) -> Response:
    client = request.app.state.oidc
    config: OidcConfig = request.app.state.config.oidc
    engine = request.app.state.engine
    if client is None:
        raise HTTPException(404, "OIDC sign-in is not configured")
    try:
        token = await client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if config.roles_claim not in claims or config.practitioner_claim not in claims:
            claims.update(dict(await client.userinfo(token=token)))
    except OAuthError as exc:
        log.warning("oidc_failed", error=exc.error)
        with engine.begin() as conn:
            audit.record(conn, None, "login_failed", detail=f"oidc: {exc.error}"[:512],
                         client=client_of(request))
        raise HTTPException(401, "the identity provider did not sign you in") from exc
    role = role_from(claims, config)
    subject = str(claims.get("sub") or "")
    username = str(claims.get("preferred_username") or claims.get("email") or subject)[:128]
    if role is None or not subject:
        with engine.begin() as conn:
            audit.record(conn, None, "login_denied", username=username, detail="oidc: no role",
                         client=client_of(request))
        raise HTTPException(403, "your account has no radagree role at the identity provider")
    practitioner = claims.get(config.practitioner_claim)
    try:
        principal = people.upsert_oidc(
            engine, subject, username, role, display_name=str(claims.get("name") or username),
            email=str(claims.get("email") or ""),
            practitioner_id=str(practitioner) if practitioner else None)
    except AccountError as exc:
        raise HTTPException(403, str(exc)) from exc
    with engine.begin() as conn:
        audit.record(conn, principal, "login", detail="oidc", client=client_of(request))
    start_session(request, principal)
    log.info("signed_in", user=principal.id, method="oidc")
    return RedirectResponse(HOME[principal.role], status_code=303)


async def logout(request: Request) -> Response:
    """Sign out: this session ends on the server (any copy of its cookie is refused after)."""
    await csrf.checked_form(request)
    principal = current(request)
    engine = request.app.state.engine
    sessions.end(engine, request.session.get("sid"))
    if principal is not None:
        with engine.begin() as conn:
            audit.record(conn, principal, "logout", client=client_of(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def logout_everywhere(request: Request) -> Response:
    """Sign out every session of one's own account (another browser, a lost laptop)."""
    await csrf.checked_form(request)
    principal = require(request)
    engine = request.app.state.engine
    ended = sessions.end_all(engine, principal.id)
    with engine.begin() as conn:
        audit.record(conn, principal, "logout_everywhere", detail=f"{ended} sessions",
                     client=client_of(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
