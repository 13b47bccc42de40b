"""E-mail against a real SMTP server (aiosmtpd) with STARTTLS and AUTH: a major discrepancy
notifies its trainee at once and once only; the weekly digest goes to each trainee; no report
text or patient identifier is in any e-mail; nothing is sent until SMTP is configured."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from ingest.tables import pairs, reports
from review import actions, people
from review.config import NotifyConfig, SmtpConfig
from review.notify import Notifier
from review.tables import notifications
from support.fhir import free_port
from support.review_app import FINAL, PRELIM, RITA, add_accounts, seed_cohort


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append({"to": envelope.rcpt_tos, "data": envelope.content.decode(),
                              "tls": session.ssl is not None,
                              "user": getattr(session, "login_data", None)})
        return "250 OK"


def _auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"radagree" and \
        data.password == b"mail-secret"
    return AuthResult(success=ok)


@pytest.fixture
def smtp(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            tls_context=server_ctx, require_starttls=True,
                            authenticator=_auth, auth_require_tls=True)
    controller.start()
    config = SmtpConfig(host="127.0.0.1", port=controller.port, security="starttls",
                        username="radagree", password="mail-secret", ca_bundle=ca_file,
                        sender="radagree@hospital.test")
    yield inbox, config
    controller.stop()


@pytest.fixture
def seeded(engine, scorer):
    cohort = seed_cohort(engine, scorer)
    add_accounts(engine, emails=True)
    return cohort


def identifiers(engine) -> list[str]:
    with engine.connect() as conn:
        return [v for r in conn.execute(select(pairs.c.accession, reports.c.patient_id)
                                        .join(reports, reports.c.id == pairs.c.final_report_id))
                for v in r]


def test_major_discrepancy_mails_the_trainee_at_once_and_once(engine, seeded, smtp):
    inbox, config = smtp
    notifier = Notifier(engine, config, NotifyConfig(weekly_digest=False),
                        "https://review.hospital.test")
    sent = notifier.run_once()
    with engine.connect() as conn:
        majors = conn.execute(select(pairs.c.id, pairs.c.trainee_id).where(
            pairs.c.discrepancy == "major",
            pairs.c.updated_at >= datetime.now(UTC) - timedelta(days=7))).all()
    assert majors and sent["major"] == len(majors)
    assert len(inbox.messages) == len(majors)
    rita_majors = [p for p, t in majors if t == RITA.id]
    to_rita = [m for m in inbox.messages if m["to"] == ["rita@hospital.test"]]
    assert len(to_rita) == len(rita_majors)
    for message in inbox.messages:
        assert message["tls"]  # STARTTLS happened before AUTH and DATA
        body = message["data"]
        assert "https://review.hospital.test/pairs/" in body
        for value in identifiers(engine):
            assert value not in body
        for line in (PRELIM + "\n" + FINAL).splitlines():
            assert line not in body
    assert notifier.run_once()["major"] == 0  # once only, even when asked again
    assert len(inbox.messages) == len(majors)


def test_accession_only_when_the_site_enables_it(engine, seeded, smtp):
    inbox, config = smtp
    Notifier(engine, config, NotifyConfig(weekly_digest=False, include_accession=True),
             "https://review.hospital.test").run_once()
    assert any("Accession: SEED" in m["data"] for m in inbox.messages)


def test_weekly_digest_once_per_week_per_trainee(engine, seeded, smtp):
    inbox, config = smtp
    notifier = Notifier(engine, config, NotifyConfig(major_discrepancy=False, digest_weekday=1,
                                                     digest_hour=7), "https://r.test")
    monday_early = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert notifier.run_once(monday_early)["digest"] == 0  # not yet this week's moment
    tuesday = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert notifier.run_once(tuesday)["digest"] == 2  # Rita and Rob
    assert notifier.run_once(tuesday + timedelta(hours=5))["digest"] == 0
    assert sorted(m["to"][0] for m in inbox.messages) == ["rita@hospital.test",
                                                          "rob@hospital.test"]
    assert all("Pairs scored:" in m["data"] and "https://r.test/trainee" in m["data"]
               for m in inbox.messages)


def test_wrong_password_is_a_failure_kept_for_retry(engine, seeded, smtp):
    inbox, config = smtp
    # (smtplib falls back from PLAIN to LOGIN, which aiosmtpd leaves hanging: short timeout)
    bad = SmtpConfig(**{**config.model_dump(), "password": "wrong", "timeout_s": 1})
    sent = Notifier(engine, bad, NotifyConfig(weekly_digest=False), "https://r.test").run_once()
    assert sent["major"] == 0 and sent["failed"] > 0 and not inbox.messages
    with engine.connect() as conn:
        states = set(conn.execute(select(notifications.c.state)).scalars())
    assert states == {"failed"}
    retried = Notifier(engine, config, NotifyConfig(weekly_digest=False), "https://r.test")
    assert retried.run_once()["major"] == sent["failed"]


def test_nothing_is_sent_until_smtp_is_configured(engine, seeded):
    assert Notifier(engine, SmtpConfig(), NotifyConfig(), "https://r.test").run_once() == \
        {"major": 0, "answer": 0, "digest": 0, "failed": 0}


def test_an_answered_appeal_mails_its_trainee_once(engine, seeded, smtp):
    inbox, config = smtp
    with engine.connect() as conn:
        rita = people.load(conn, people.by_name(conn, "rita").id)
        alan = people.load(conn, people.by_name(conn, "alan").id)
    with engine.begin() as conn:
        appeal = actions.open_appeal(conn, rita, seeded.rita[0], "The effusion was small.")
    notifier = Notifier(engine, config, NotifyConfig(major_discrepancy=False,
                                                     weekly_digest=False), "https://r.test")
    assert notifier.run_once()["answer"] == 0  # open, not answered yet
    with engine.begin() as conn:
        actions.answer_appeal(conn, alan, appeal, "Measured 4 cm: it is large. SECRET-ANSWER")
    assert notifier.run_once()["answer"] == 1
    assert notifier.run_once()["answer"] == 0
    (message,) = inbox.messages
    assert message["to"] == ["rita@hospital.test"]
    assert f"https://r.test/pairs/{seeded.rita[0]}" in message["data"]
    assert "SECRET-ANSWER" not in message["data"]
    assert Notifier(engine, config, NotifyConfig(appeal_answered=False, major_discrepancy=False,
                                                 weekly_digest=False),
                    "https://r.test").run_once()["answer"] == 0
