"""The sign-in limit slows an attacker without locking the victim out (SQLite and
PostgreSQL), and proxy headers are believed only from configured proxies.

No test waits on a clock: the failures the limit counts are audit rows, and the older ones
are written with the time they would have had."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from starlette.testclient import TestClient

from review.tables import audit
from support.review_app import PASSWORD, app_for, token_of


def from_address(app, address: str, **headers: str) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", client=(address, 40000),
                      headers=headers)


def try_password(client: TestClient, username: str, password: str) -> int:
    token = token_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token},
                       follow_redirects=False).status_code


def old_failures(engine, username: str, client: str, n: int, ago: timedelta) -> None:
    with engine.begin() as conn:
        conn.execute(insert(audit), [{"at": datetime.now(UTC) - ago, "username": username,
                                      "action": "login_failed", "detail": "",
                                      "client": client} for _ in range(n)])


def test_failures_from_one_address_slow_it_and_leave_the_owner_alone(engine, cohort,
                                                                      tmp_path):
    app = app_for(engine, tmp_path, login_backoff_s=600)
    attacker = from_address(app, "198.51.100.7")
    for _ in range(5):
        assert try_password(attacker, "rob", "wrong password!!") == 401
    assert try_password(attacker, "rob", PASSWORD) == 429  # even the right one waits
    answer = attacker.post("/login", data={"username": "rob", "password": PASSWORD,
                                           "csrf_token": token_of(attacker.get("/login").text)})
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
    # Rob at his own machine is not locked out, nor is anybody else from the attacker's
    assert try_password(from_address(app, "10.1.2.3"), "rob", PASSWORD) == 303
    assert try_password(attacker, "rita", PASSWORD) == 303
    with engine.connect() as conn:
        counts = dict(conn.execute(select(audit.c.action, func.count())
                                   .where(audit.c.username == "rob")
                                   .group_by(audit.c.action)).all())
    assert counts["login_failed"] == 5 and counts["login_throttled"] == 2


def test_the_wait_doubles_and_ends(app, engine, cohort):
    # six failures a minute ago: the 6th started a 2 s wait, long over: one more try is free
    old_failures(engine, "rob", "198.51.100.8", 6, timedelta(minutes=1))
    client = from_address(app, "198.51.100.8")
    assert try_password(client, "rob", "wrong password!!") == 401
    # fifteen failures: 1 s x 2^10 is capped at the window (900 s); a minute is not enough
    old_failures(engine, "rita", "198.51.100.9", 15, timedelta(minutes=1))
    assert try_password(from_address(app, "198.51.100.9"), "rita", PASSWORD) == 429
    # and failures older than the window do not count at all
    old_failures(engine, "anne", "198.51.100.10", 30, timedelta(minutes=16))
    assert try_password(from_address(app, "198.51.100.10"), "anne", PASSWORD) == 303


def test_a_name_attacked_from_many_addresses_gets_one_guess_per_address(engine, cohort,
                                                                        tmp_path):
    app = app_for(engine, tmp_path, login_backoff_s=600)  # waits far beyond the test's run
    for n in range(50):
        old_failures(engine, "alan", f"203.0.113.{n}", 1, timedelta(seconds=5))
    assert try_password(from_address(app, "203.0.113.1"), "alan", "guess number 51") == 429
    fresh = from_address(app, "203.0.113.200")
    assert try_password(fresh, "alan", "guess number 52") == 401  # its one free try
    assert try_password(fresh, "alan", "guess number 53") == 429
    assert try_password(from_address(app, "10.9.9.9"), "alan", PASSWORD) == 303  # the victim


def test_forwarded_for_is_believed_only_from_configured_proxies(engine, cohort, tmp_path):
    def recorded(app, address: str) -> str:
        client = from_address(app, address, **{"x-forwarded-for": "192.0.2.66"})
        assert try_password(client, "nobody", "wrong password!!") == 401
        with engine.connect() as conn:
            return conn.execute(select(audit.c.client).order_by(audit.c.id.desc())
                                .limit(1)).scalar_one()

    default = app_for(engine, tmp_path)
    assert recorded(default, "127.0.0.1") == "127.0.0.1"  # nobody's headers by default
    proxied = app_for(engine, tmp_path, forwarded_allow_ips="10.0.0.1")
    assert recorded(proxied, "10.0.0.1") == "192.0.2.66"
    assert recorded(proxied, "10.0.0.2") == "10.0.0.2"
