"""The audit log on SQLite and PostgreSQL: no SQL rewrites it (UPDATE, DELETE, REPLACE, an
upsert, TRUNCATE), and every response that carries report text or an identifier leaves an
audit row, found by walking the app's whole route list; refused requests are recorded as
refusals, not as what they asked for."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from starlette.routing import Route
from starlette.testclient import TestClient

from review.tables import audit
from support.review_app import FINAL, GOOD, PRELIM, RITA, post_form, signed_in, token_of

# Fragments of the seeded report texts, accessions and patient ids (support.review_store).
SECRETS = (PRELIM[:20], FINAL[:20], GOOD[:20], "SEED0", "MRN0")
# Routes that serve no store data at all (static files, probes, the sign-in pages).
NO_DATA = {"/login", "/login/oidc", "/auth/callback", "/metrics", "/healthz", "/readyz", "/"}


def rows(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit)).scalar_one())


def last_action(engine) -> tuple[str, str, str]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(audit.c.action, audit.c.username, audit.c.detail)
                                  .order_by(audit.c.id.desc()).limit(1)).one())


def rewrites(dialect: str) -> list[str]:
    common = ["UPDATE review_audit SET action = 'edited'", "DELETE FROM review_audit"]
    if dialect == "sqlite":
        return [
            *common,
            "REPLACE INTO review_audit (id, at, user_id, username, action, pair_id, detail,"
            " client) SELECT id, at, user_id, username, 'edited', pair_id, '', client"
            " FROM review_audit",
            "INSERT OR REPLACE INTO review_audit (id, at, username, action, detail, client)"
            " SELECT id, at, '', 'edited', '', '' FROM review_audit",
            "INSERT INTO review_audit (id, at, username, action, detail, client)"
            " SELECT id, at, '', 'edited', '', '' FROM review_audit WHERE true"
            " ON CONFLICT (id) DO UPDATE SET action = 'edited'",
        ]
    return [
        *common,
        "INSERT INTO review_audit (id, at, username, action, detail, client)"
        " SELECT id, at, '', 'edited', '', '' FROM review_audit"
        " ON CONFLICT (id) DO UPDATE SET action = 'edited'",
        "TRUNCATE review_audit",
    ]


def test_no_sql_rewrites_the_audit_log(app, engine, cohort):
    signed_in(app, "rita").get(f"/pairs/{cohort.rita[0]}")
    with engine.connect() as conn:
        before = conn.execute(select(audit).order_by(audit.c.id)).all()
    assert any(r.action == "view" for r in before)
    for statement in rewrites(engine.dialect.name):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(select(audit).order_by(audit.c.id)).all() == before
    # appending still works, with a fresh id or none
    with engine.begin() as conn:
        conn.execute(insert(audit).values(at=before[0].at, username="t", action="probe",
                                          detail="", client=""))
    assert rows(engine) == len(before) + 1


def _paths(app, pair_id: int) -> list[str]:
    out = []
    for route in app.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        if route.path in NO_DATA:
            continue
        path = route.path
        for slot, value in (("{pair_id:int}", str(pair_id)), ("{metric}", "esas"),
                            ("{user_id:int}", "1"), ("{appeal_id:int}", "1"),
                            ("{trainee_id:str}", RITA.id)):
            path = path.replace(slot, value)
        assert "{" not in path, f"the route walk does not know how to fill {route.path}"
        out.append(path)
    return out


def test_every_route_that_returns_report_text_or_identifiers_writes_an_audit_row(
        app, engine, cohort):
    clients = {name: signed_in(app, name) for name in ("rita", "alan", "dora", "adam")}
    pair = cohort.rita[0]
    post_form(clients["alan"], f"/pairs/{pair}/conference", f"/pairs/{pair}", note="teach")
    carrying = set()
    for path in _paths(app, pair):
        for name, client in clients.items():
            before = rows(engine)
            answer = client.get(path)
            body = answer.text
            if answer.status_code == 200 and any(s in body for s in SECRETS):
                carrying.add(path)
                assert rows(engine) > before, f"{path} as {name}: data without an audit row"
                action, username, _ = last_action(engine)
                assert username == name and action not in ("login", "login_failed"), path
            if answer.status_code == 403:
                assert rows(engine) > before and last_action(engine)[0] == "denied", \
                    f"{path} as {name}: a refusal not recorded"
    # the walk reached the pages, the frame, the JSON and the CSV exports
    assert {f"/pairs/{pair}", f"/pairs/{pair}/view", f"/api/pairs/{pair}", "/api/pairs",
            "/pairs.csv", "/conference", "/trainee", "/attending", f"/cohort/trainees/{RITA.id}",
            f"/cohort/trainees/{RITA.id}/report"} <= carrying


def test_refused_requests_are_recorded_as_refusals(app, engine, cohort):
    adam = signed_in(app, "adam")
    assert adam.get("/audit.csv?from=yesterday").status_code == 400
    assert last_action(engine) == ("export_refused", "adam", "audit.csv: bad from")
    alan = signed_in(app, "alan")
    pair = cohort.rita[0]
    answer = post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade="5",
                       discrepancy="none", reason="")
    assert answer.status_code == 400
    action, username, detail = last_action(engine)
    assert (action, username) == ("refused", "alan") and "reason" in detail
    rita = signed_in(app, "rita")
    assert rita.get("/cohort").status_code == 403
    assert last_action(engine) == ("denied", "rita", "GET /cohort")


def test_the_audit_export_guards_formulas_typed_at_the_sign_in_form(app, engine, cohort):
    client = TestClient(app, base_url="http://127.0.0.1")
    typed = ['=HYPERLINK("http://evil.test","x")', "+1+2", "@SUM(A1)", "-3"]
    for name in typed:
        token = token_of(client.get("/login").text)
        assert client.post("/login", data={"username": name, "password": "wrong password!!",
                                           "csrf_token": token}).status_code == 401
    export = signed_in(app, "adam").get("/audit.csv")
    assert export.status_code == 200
    cells = [c for row in csv.reader(io.StringIO(export.text)) for c in row]
    for name in typed:
        assert "'" + name in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
