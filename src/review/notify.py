"""E-mail notifications: a major discrepancy at once, an answered appeal at once, a weekly
digest for each trainee.

Off until `[smtp] host` is set. Sent with the standard library's smtplib (STARTTLS or
implicit TLS, certificate checked, optional AUTH). An e-mail carries a link into the app and
counts; never report text or a patient identifier, and the accession or the procedure only
when the site turns them on (`[notify] include_accession`, `include_procedure`).

Each notification has a key (`major:<pair>:<user>`, `answer:<appeal>`,
`digest:<user>:<ISO week>`) whose row is
inserted before sending: whichever replica inserts it first sends it, the others skip it.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import structlog
from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from review.config import NotifyConfig, SmtpConfig
from review.queries import _procedure
from review.sources import SCORED, pairs, reports
from review.tables import ANSWERED, TRAINEE, appeals, notifications, users, verdicts

log = structlog.get_logger("review.notify")
MAX_ATTEMPTS = 5
LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def send_mail(smtp: SmtpConfig, mail: Mail) -> None:
    """One message over SMTP; raises `smtplib.SMTPException` / `OSError` on failure."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    context = ssl.create_default_context(cafile=str(smtp.ca_bundle) if smtp.ca_bundle else None)
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.secret() or "")
        client.send_message(message)


class Notifier:
    """Finds what is due and sends it; `run_once` is what the web process schedules."""

    def __init__(self, engine: Engine, smtp: SmtpConfig, notify: NotifyConfig,
                 public_url: str) -> None:
        self.engine = engine
        self.smtp = smtp
        self.notify = notify
        self.public_url = public_url.rstrip("/")

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        now = now or datetime.now(UTC)
        sent = {"major": 0, "answer": 0, "digest": 0, "failed": 0}
        if not self.smtp.enabled:
            return sent
        due: list[tuple[str, int, str, Mail]] = []
        if self.notify.major_discrepancy:
            due += self._majors(now)
        if self.notify.appeal_answered:
            due += self._answers(now)
        if self.notify.weekly_digest and self._digest_time(now):
            due += self._digests(now)
        for key, user_id, kind, mail in due:
            outcome = self._deliver(key, user_id, kind, mail, now)
            if outcome is not None:
                sent[kind if outcome else "failed"] += 1
        return sent

    # --- what is due ---------------------------------------------------------------------

    def _majors(self, now: datetime) -> list[tuple[str, int, str, Mail]]:
        since = now - LOOKBACK
        relabelled = select(verdicts.c.pair_id).where(verdicts.c.discrepancy == "major",
                                                      verdicts.c.created_at >= since)
        final = reports.alias("final")
        query = (select(pairs.c.id, pairs.c.accession, final.c.procedure, users.c.id.label("uid"),
                        users.c.email)
                 .join(final, final.c.id == pairs.c.final_report_id)
                 .join(users, and_(users.c.practitioner_id == pairs.c.trainee_id,
                                   users.c.role == TRAINEE, users.c.active.is_(True)))
                 .where(pairs.c.state == SCORED, users.c.email != "",
                        or_(and_(pairs.c.discrepancy == "major", pairs.c.updated_at >= since),
                            pairs.c.id.in_(relabelled))))
        with self.engine.connect() as conn:
            return [(f"major:{row.id}:{row.uid}", row.uid, "major", self._mail(
                row, row.id, "radagree: a major discrepancy to review",
                "A preliminary report you wrote has a major discrepancy with the final report.",
                "Open it", "you are a trainee in radagree")) for row in conn.execute(query)]

    def _answers(self, now: datetime) -> list[tuple[str, int, str, Mail]]:
        """The trainee whose appeal an attending answered (the answer itself stays in the
        app: it may quote the report)."""
        final = reports.alias("final")
        query = (select(appeals.c.id, appeals.c.pair_id, pairs.c.accession, final.c.procedure,
                        users.c.id.label("uid"), users.c.email)
                 .join(pairs, pairs.c.id == appeals.c.pair_id)
                 .join(final, final.c.id == pairs.c.final_report_id)
                 .join(users, users.c.id == appeals.c.user_id)
                 .where(appeals.c.state == ANSWERED, appeals.c.answered_at >= now - LOOKBACK,
                        users.c.active.is_(True), users.c.email != ""))
        with self.engine.connect() as conn:
            return [(f"answer:{row.id}", row.uid, "answer", self._mail(
                row, row.pair_id, "radagree: your appeal was answered",
                "The attending answered your appeal (\"I disagree\").", "Read the answer",
                "you appealed a grade in radagree")) for row in conn.execute(query)]

    def _mail(self, row: Any, pair_id: int, subject: str, opening: str, link: str,
              why: str) -> Mail:
        """One notice: what happened, the case's identifiers, the link, why it came (no
        report text: the link opens it, signed in)."""
        lines = [opening, "", *self._identifiers(row.accession, row.procedure),
                 f"{link}: {self.public_url}/pairs/{pair_id}", "",
                 f"You receive this because {why}."]
        return Mail(row.email, subject, "\n".join(lines) + "\n")

    def _identifiers(self, accession: str, procedure: str) -> list[str]:
        lines = []
        if self.notify.include_accession:
            lines.append(f"Accession: {accession}")
        if self.notify.include_procedure:
            lines.append(f"Procedure: {_procedure(procedure)}")
        return [*lines, ""] if lines else []

    def _digest_time(self, now: datetime) -> bool:
        """From this ISO week's digest moment on (its key makes it once a week)."""
        monday = (now - timedelta(days=now.isoweekday() - 1)).date()
        moment = datetime.combine(monday + timedelta(days=self.notify.digest_weekday - 1),
                                  time(self.notify.digest_hour), tzinfo=UTC)
        return now >= moment

    def _digests(self, now: datetime) -> list[tuple[str, int, str, Mail]]:
        year, week, _ = now.isocalendar()
        since = now - timedelta(days=7)
        out = []
        with self.engine.connect() as conn:
            trainees = conn.execute(select(users.c.id, users.c.email, users.c.practitioner_id)
                                    .where(users.c.role == TRAINEE, users.c.active.is_(True),
                                           users.c.email != "",
                                           users.c.practitioner_id.is_not(None))).all()
            for uid, email, practitioner in trainees:
                n, mean, majors = conn.execute(
                    select(func.count(), func.avg(pairs.c.esas),
                           func.sum(case((pairs.c.discrepancy == "major", 1), else_=0)))
                    .where(pairs.c.trainee_id == practitioner, pairs.c.state == SCORED,
                           pairs.c.created_at >= since)).one()
                body = [f"Your week in radagree ({since:%Y-%m-%d} to {now:%Y-%m-%d}):", "",
                        f"Pairs scored: {n}"]
                if n:
                    body += [f"Mean agreement score (ESAS): {float(mean or 0):.2f}",
                             f"Major discrepancies: {int(majors or 0)}"]
                body += ["", f"Your cases: {self.public_url}/trainee"]
                out.append((f"digest:{uid}:{year}-W{week:02d}", uid, "digest",
                            Mail(email, "radagree: your weekly digest", "\n".join(body) + "\n")))
        return out

    # --- sending once ----------------------------------------------------------------------

    def _deliver(self, key: str, user_id: int, kind: str, mail: Mail,
                 now: datetime) -> bool | None:
        """True sent, False failed (kept for a retry), None: already handled elsewhere."""
        if not self._claim(key, user_id, kind, now):
            return None
        try:
            send_mail(self.smtp, mail)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("notification_failed", kind=kind, user=user_id,
                        error=type(exc).__name__)
            self._settle(key, "failed", f"{type(exc).__name__}: {exc}"[:512])
            return False
        self._settle(key, "sent", None)
        log.info("notification_sent", kind=kind, user=user_id)
        return True

    def _claim(self, key: str, user_id: int, kind: str, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(notifications).values(
                    key=key, user_id=user_id, kind=kind, state="sending", attempts=1,
                    created_at=now))
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:  # a failed one is tried again, a few times
            return bool(conn.execute(
                update(notifications)
                .where(notifications.c.key == key, notifications.c.state == "failed",
                       notifications.c.attempts < MAX_ATTEMPTS)
                .values(state="sending", attempts=notifications.c.attempts + 1)).rowcount)

    def _settle(self, key: str, state: str, error: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.key == key)
                         .values(state=state, error=error))
