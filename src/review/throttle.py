"""How fast wrong passwords may be tried: slow an attacker, never lock the victim out.

A lockout per account name lets anybody lock anybody out by typing their name five times.
So the budget is kept per (account name, client address): after `max_failures` wrong
passwords from one address for one name, each further try from that address waits twice as
long as the one before (`backoff_s`, 2x, 4x ... capped at the window). The person at their
own machine, who has not failed from there, signs in at once. Two looser ceilings catch what
that key misses: an address that fails for many names (4 x `max_failures` in the window,
then the same backoff for that address), and a name attacked from many addresses (past
`name_ceiling` failures in the window every address gets one wrong try for that name before
its backoff starts: a botnet gets one guess per address per step; the victim, who types the
right password, is never slowed).

The failures are the audit log's `login_failed` rows, so every replica of the app shares
the count and nothing else needs storing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from review.tables import audit


@dataclass(frozen=True)
class Budget:
    max_failures: int = 5
    window_s: int = 900
    backoff_s: float = 1.0
    name_ceiling: int = 50


def _failures(conn: Connection, since: datetime, **where: str) -> tuple[int, datetime | None]:
    query = select(func.count(), func.max(audit.c.at)).where(
        audit.c.action == "login_failed", audit.c.at >= since)
    for column, value in where.items():
        query = query.where(audit.c[column] == value)
    n, last = conn.execute(query).one()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return int(n), last


def _wait(budget: Budget, n: int, allowed: int, last: datetime | None,
          now: datetime) -> float:
    """Seconds still to wait after `n` failures of which `allowed` were free."""
    if n < allowed or last is None:
        return 0.0
    delay = min(budget.backoff_s * 2 ** (n - allowed), float(budget.window_s))
    return max(0.0, delay - (now - last).total_seconds())


def retry_after(conn: Connection, budget: Budget, username: str, client: str,
                now: datetime | None = None) -> float:
    """0 when a sign-in for `username` from `client` may be tried now; else seconds to wait."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=budget.window_s)
    name, client = username[:128], client[:64]
    by_pair, last_pair = _failures(conn, since, username=name, client=client)
    by_name, _ = _failures(conn, since, username=name)
    allowed = budget.max_failures if by_name < budget.name_ceiling else 1
    wait = _wait(budget, by_pair, allowed, last_pair, now)
    by_client, last_client = _failures(conn, since, client=client)
    return max(wait, _wait(budget, by_client, 4 * budget.max_failures, last_client, now))
