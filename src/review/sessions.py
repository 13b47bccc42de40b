"""Server-side sessions: signing out ends the session on the server, not only in the browser.

The signed cookie carries a random key; the store keeps its SHA-256 (a leaked store does not
hand out live cookies) with the account and the time it ended. A request is signed in only
while its row is open and younger than the session lifetime, so a cookie copied before
sign-out is refused the moment the user signs out, and "sign out everywhere" (the person, or
an administrator for them) ends every open row and bumps the account's epoch.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from review.people import bump_epoch
from review.tables import sessions


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open_session(engine: Engine, user_id: int) -> str:
    """A new session of the account; the key goes into the signed cookie."""
    key = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(insert(sessions).values(key_sha256=_digest(key), user_id=user_id,
                                             created_at=datetime.now(UTC)))
    return key


def alive(conn: Connection, key: object, user_id: int, max_age_s: int) -> bool:
    """Whether `key` names an open session of `user_id` started within `max_age_s`."""
    if not isinstance(key, str) or not key:
        return False
    since = datetime.now(UTC) - timedelta(seconds=max_age_s)
    row = conn.execute(select(sessions.c.id).where(
        sessions.c.key_sha256 == _digest(key), sessions.c.user_id == user_id,
        sessions.c.ended_at.is_(None), sessions.c.created_at >= since)).first()
    return row is not None


def end(engine: Engine, key: object) -> None:
    """End one session (sign-out): its cookie, wherever a copy of it is, is refused after."""
    if not isinstance(key, str) or not key:
        return
    with engine.begin() as conn:
        conn.execute(update(sessions).where(sessions.c.key_sha256 == _digest(key),
                                            sessions.c.ended_at.is_(None))
                     .values(ended_at=datetime.now(UTC)))


def end_all(engine: Engine, user_id: int) -> int:
    """End every open session of the account (sign out everywhere); how many were open."""
    with engine.begin() as conn:
        ended = conn.execute(update(sessions).where(sessions.c.user_id == user_id,
                                                    sessions.c.ended_at.is_(None))
                             .values(ended_at=datetime.now(UTC))).rowcount
    bump_epoch(engine, user_id)
    return int(ended or 0)
