"""Roles are enforced on every page, export and API call, on SQLite and PostgreSQL: a trainee
never reaches another trainee's pair, by link, id guessing or API; every POST needs its CSRF
token; failed sign-ins are rate limited; the audit log records views and refuses rewrites."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from starlette.routing import Route
from starlette.testclient import TestClient

from review.tables import audit
from support.review_app import PASSWORD, RITA, ROB, app_for, post_form, signed_in, token_of


def listed(client: TestClient, path: str = "/api/pairs") -> set[int]:
    return {p["id"] for p in client.get(path).json()["pairs"]}


def test_trainee_sees_only_own_pairs_and_403_on_anothers(app, cohort):
    rita = signed_in(app, "rita")
    assert listed(rita) == set(cohort.rita)
    page = rita.get("/trainee")
    assert page.status_code == 200
    assert all(f"/pairs/{i}" in page.text for i in cohort.rita)
    assert not any(f'href="/pairs/{i}"' in page.text for i in cohort.rob)
    for pair in cohort.rob:
        for path in (f"/pairs/{pair}", f"/pairs/{pair}/view", f"/api/pairs/{pair}"):
            assert rita.get(path).status_code == 403, path
    # guessing ids beyond the store is the same answer: nothing tells them apart
    assert rita.get("/pairs/999999").status_code == 403
    # filters and exports cannot widen the view either
    assert {r["trainee"]["id"] for r in rita.get("/api/pairs?modality=MR").json()["pairs"]} \
        <= {RITA.id}
    assert ROB.id not in rita.get("/pairs.csv").text
    assert rita.get("/cohort").status_code == 403
    assert rita.get("/cohort.csv").status_code == 403
    assert rita.get("/audit.csv").status_code == 403
    assert rita.get(f"/plots/trend-esas.svg?trainee={ROB.id}").status_code == 200  # own only
    assert rita.get("/attending").status_code == 403


def test_attending_sees_pairs_they_signed_director_sees_all(app, cohort):
    assert listed(signed_in(app, "alan")) == set(cohort.rita)
    assert listed(signed_in(app, "anne")) == set(cohort.rob)
    assert listed(signed_in(app, "dora")) == set(cohort.rita) | set(cohort.rob)
    alan = signed_in(app, "alan")
    assert alan.get(f"/pairs/{cohort.rob[0]}").status_code == 403
    answer = post_form(alan, f"/pairs/{cohort.rob[0]}/verdict", f"/pairs/{cohort.rita[0]}",
                       grade="1", discrepancy="major", reason="x")
    assert answer.status_code == 403


def test_anonymous_requests_are_sent_to_sign_in(app, cohort):
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.get("/readyz").json() == {"status": "ready"}  # probes need no session
    assert client.get("/trainee", follow_redirects=False).headers["location"] == "/login"
    assert client.get(f"/api/pairs/{cohort.rita[0]}").status_code == 401


def test_every_post_route_refuses_a_form_without_its_token(app, cohort):
    rita = signed_in(app, "rita")
    alan = signed_in(app, "alan")
    posts = [r for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert len(posts) >= 7
    for route in posts:
        path = route.path.replace("{pair_id:int}", str(cohort.rita[0])).replace(
            "{appeal_id:int}", "1").replace("{user_id:int}", "1")
        for client in (rita, alan):
            answer = client.post(path, data={"grade": "1", "discrepancy": "major",
                                             "reason": "r", "comment": "c", "body": "b",
                                             "answer": "a", "username": "rita",
                                             "password": PASSWORD},
                                 follow_redirects=False)
            assert answer.status_code == 403, (path, answer.status_code)
            wrong = client.post(path, data={"csrf_token": "forged", "comment": "c"},
                                follow_redirects=False)
            assert wrong.status_code == 403, path
    # and a cross-site submission is refused even with the right token
    token = token_of(rita.get(f"/pairs/{cohort.rita[0]}").text)
    answer = rita.post(f"/pairs/{cohort.rita[0]}/comments",
                       data={"csrf_token": token, "body": "hi"},
                       headers={"sec-fetch-site": "cross-site"}, follow_redirects=False)
    assert answer.status_code == 403


def test_pages_carry_a_strict_csp_and_the_session_cookie_is_locked_down(engine, cohort,
                                                                         tmp_path):
    app = app_for(engine, tmp_path, secure_cookies=True)
    client = TestClient(app, base_url="https://127.0.0.1")
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script at all
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "max-age=" in page.headers["strict-transport-security"]
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-radagree=")
    assert "secure" in cookie.lower() and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()


def test_views_are_audited_and_the_log_refuses_rewrites(app, engine, cohort):
    rita = signed_in(app, "rita")
    rita.get(f"/pairs/{cohort.rita[0]}")
    rita.get(f"/pairs/{cohort.rob[0]}")
    with engine.connect() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.pair_id, audit.c.username)
                            .where(audit.c.pair_id.is_not(None))).all()
    assert ("view", cohort.rita[0], "rita") in rows
    assert ("denied", cohort.rob[0], "rita") in rows
    for statement in (update(audit).values(action="edited"), delete(audit)):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("TRUNCATE review_audit"))
    adam = signed_in(app, "adam")
    export = adam.get("/audit.csv")
    assert export.status_code == 200
    assert export.text.splitlines()[0] == "id,at,user_id,username,action,pair_id,detail,client"
    assert f",view,{cohort.rita[0]}," in export.text
    assert signed_in(app, "dora").get("/audit.csv").status_code == 403


def test_signing_out_ends_the_session(app, cohort):
    rita = signed_in(app, "rita")
    assert post_form(rita, "/logout", "/trainee").status_code == 303
    assert rita.get("/api/pairs").status_code == 401
