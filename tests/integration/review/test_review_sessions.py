"""Sign-out ends the session on the server (SQLite and PostgreSQL): a cookie copied before
sign-out is refused after it; "sign out everywhere" ends every session of the account, for
oneself or by an administrator; a role change ends them too; every step is audited."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient

from review import people
from review.tables import audit, comments
from support.review_app import post_form, signed_in, token_of


def copy_of(app, client: TestClient) -> TestClient:
    """Another client holding the same cookie (what an attacker who copied it would send)."""
    other = TestClient(app, base_url="http://127.0.0.1")
    for name, value in client.cookies.items():
        other.cookies.set(name, value)
    return other


def account_id(engine, username: str) -> int:
    with engine.connect() as conn:
        found = people.by_name(conn, username)
    assert found is not None
    return found.id


def actions_of(engine, action: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(audit.c.username, audit.c.detail).where(audit.c.action == action))]


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, engine, cohort):
    rita = signed_in(app, "rita")
    pair = cohort.rita[0]
    page = rita.get(f"/pairs/{pair}").text
    stolen = copy_of(app, rita)
    assert stolen.get(f"/api/pairs/{pair}").status_code == 200  # the copy works before
    assert post_form(rita, "/logout", "/trainee").status_code == 303
    assert stolen.get(f"/api/pairs/{pair}").status_code == 401
    assert stolen.get("/trainee", follow_redirects=False).headers["location"] == "/login"
    answer = stolen.post(f"/pairs/{pair}/comments",
                         data={"csrf_token": token_of(page), "body": "posted after logout"},
                         follow_redirects=False)
    assert answer.status_code in (401, 303) and answer.headers.get("location") != f"/pairs/{pair}"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(comments)).scalar_one() == 0
    assert ("rita", "") in actions_of(engine, "logout")
    # signing in again gives a new, working session
    assert signed_in(app, "rita").get(f"/api/pairs/{pair}").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_account(app, engine, cohort):
    laptop, phone = signed_in(app, "rita"), signed_in(app, "rita")
    rob = signed_in(app, "rob")
    assert post_form(phone, "/logout/everywhere", "/trainee").status_code == 303
    assert laptop.get("/api/pairs").status_code == 401
    assert phone.get("/api/pairs").status_code == 401
    assert rob.get("/api/pairs").status_code == 200  # another account is untouched
    assert ("rita", "2 sessions") in actions_of(engine, "logout_everywhere")


def test_an_administrator_signs_a_user_out_and_changes_a_role(app, engine, cohort):
    rita, rob = signed_in(app, "rita"), signed_in(app, "rob")
    adam = signed_in(app, "adam")
    page = adam.get("/admin")
    assert page.status_code == 200 and "rita" in page.text and "Sign out everywhere" in page.text
    rita_id, rob_id = account_id(engine, "rita"), account_id(engine, "rob")
    assert post_form(adam, f"/admin/users/{rita_id}/signout", "/admin").status_code == 303
    assert rita.get("/api/pairs").status_code == 401
    assert ("adam", f"account {rita_id} by admin, 1 sessions") in \
        actions_of(engine, "logout_everywhere")
    answer = post_form(adam, f"/admin/users/{rob_id}/role", "/admin", role="attending")
    assert answer.status_code == 303
    assert rob.get("/trainee", follow_redirects=False).headers["location"] == "/login"
    assert ("adam", f"account {rob_id} trainee->attending") in actions_of(engine, "role_changed")
    again = signed_in(app, "rob")
    assert again.get("/", follow_redirects=False).headers["location"] == "/attending"
    assert post_form(adam, f"/admin/users/{rob_id}/role", "/admin",
                     role="overlord").status_code == 400


def test_the_admin_page_is_refused_to_others_and_the_refusal_audited(app, engine, cohort):
    dora = signed_in(app, "dora")
    assert dora.get("/admin").status_code == 403
    assert ("dora", "GET /admin") in actions_of(engine, "denied")
    answer = post_form(dora, f"/admin/users/{account_id(engine, 'rita')}/signout", "/cohort")
    assert answer.status_code == 403
    assert signed_in(app, "rita").get("/api/pairs").status_code == 200
