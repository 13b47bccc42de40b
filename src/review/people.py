"""Accounts: who signs in, with which role, and which HL7 practitioner id is theirs.

Local accounts hash passwords with argon2id (argon2-cffi's defaults, RFC 9106 low-memory
profile); OIDC accounts have no password and are created or updated at each sign-in from the
provider's claims. A person is never a metric label and never a log field: logs carry the
account's numeric id at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from review.tables import ADMIN, ATTENDING, DIRECTOR, ROLES, TRAINEE, users

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name costs as long as a wrong
# password and the timing tells nothing.
_DUMMY_HASH = _HASHER.hash("radagree-no-such-account")


class AccountError(ValueError):
    """An account that cannot be created as asked (duplicate name, unknown role ...)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person as every page and query sees them."""

    id: int
    username: str
    display_name: str
    role: str
    practitioner_id: str | None
    email: str = ""
    epoch: int = 0

    @property
    def is_trainee(self) -> bool:
        return self.role == TRAINEE

    @property
    def is_attending(self) -> bool:
        return self.role == ATTENDING

    @property
    def sees_cohort(self) -> bool:
        return self.role in (DIRECTOR, ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _principal(row: object) -> Principal:
    return Principal(
        id=row.id, username=row.username, display_name=row.display_name or row.username,  # type: ignore[attr-defined]
        role=row.role, practitioner_id=row.practitioner_id, email=row.email,  # type: ignore[attr-defined]
        epoch=row.session_epoch,  # type: ignore[attr-defined]
    )


def add_user(engine: Engine, username: str, role: str, password: str | None, *,
             display_name: str = "", email: str = "", practitioner_id: str | None = None,
             oidc_subject: str | None = None) -> Principal:
    """Create an account; `AccountError` when the name is taken or the role unknown."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if not username.strip():
        raise AccountError("the user name is empty")
    if password is not None and len(password) < 12:
        raise AccountError("passwords need at least 12 characters")
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise AccountError(f"user {username!r} exists")
        new_id = conn.execute(insert(users).values(
            username=username, display_name=display_name or username, email=email, role=role,
            practitioner_id=practitioner_id or None, oidc_subject=oidc_subject,
            password_hash=_HASHER.hash(password) if password is not None else None,
            active=True, session_epoch=0, created_at=datetime.now(UTC),
        )).inserted_primary_key[0]
        return _principal(conn.execute(select(users).where(users.c.id == new_id)).one())


def verify_password(engine: Engine, username: str, password: str) -> Principal | None:
    """The account when the password is right; None otherwise (same cost either way)."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username,
                                               users.c.active.is_(True))).first()
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash:
        return None
    if _HASHER.check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == row.id)
                         .values(password_hash=_HASHER.hash(password)))
    return _principal(row)


def load(conn: Connection, user_id: int) -> Principal | None:
    row = conn.execute(select(users).where(users.c.id == user_id,
                                           users.c.active.is_(True))).first()
    return _principal(row) if row is not None else None


def upsert_oidc(engine: Engine, subject: str, username: str, role: str, *,
                display_name: str, email: str, practitioner_id: str | None) -> Principal:
    """The account of an OIDC subject, created or brought up to date from its claims.

    A role change at the provider signs out the account's other sessions (epoch + 1).
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.oidc_subject == subject)).first()
        values = {"display_name": display_name or username, "email": email, "role": role,
                  "practitioner_id": practitioner_id or None, "last_login_at": now}
        if row is None:
            name = username
            if conn.execute(select(users.c.id).where(users.c.username == name)).first():
                name = f"{username}@oidc:{subject}"[:128]
            new_id = conn.execute(insert(users).values(
                username=name, oidc_subject=subject, password_hash=None, active=True,
                session_epoch=0, created_at=now, **values)).inserted_primary_key[0]
        else:
            new_id = row.id
            epoch = row.session_epoch + (1 if row.role != role else 0)
            conn.execute(update(users).where(users.c.id == row.id)
                         .values(session_epoch=epoch, **values))
        fresh = conn.execute(select(users).where(users.c.id == new_id)).one()
    if not fresh.active:
        raise AccountError("this account is deactivated")
    return _principal(fresh)


def touch_login(engine: Engine, user_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(last_login_at=datetime.now(UTC)))


def bump_epoch(engine: Engine, user_id: int) -> None:
    """Sign every session of the account out (logout everywhere)."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(session_epoch=users.c.session_epoch + 1))


@dataclass(frozen=True, slots=True)
class Account:
    """One line of the account list (the admin page, `radagree user list`)."""

    id: int
    username: str
    display_name: str
    role: str
    practitioner_id: str | None
    active: bool
    oidc: bool
    last_login_at: datetime | None


def list_accounts(conn: Connection) -> list[Account]:
    return [Account(r.id, r.username, r.display_name, r.role, r.practitioner_id,
                    bool(r.active), r.oidc_subject is not None, r.last_login_at)
            for r in conn.execute(select(users).order_by(users.c.username))]


def by_name(conn: Connection, username: str) -> Account | None:
    return next((a for a in list_accounts(conn) if a.username == username), None)


def set_role(engine: Engine, user_id: int, role: str) -> tuple[str, str]:
    """Give the account another role and end its sessions (epoch + 1), so no page opened
    under the old role stays usable; (old role, new role). `AccountError` when the role is
    unknown or the account does not exist."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    with engine.begin() as conn:
        row = conn.execute(select(users.c.role).where(users.c.id == user_id)).first()
        if row is None:
            raise AccountError(f"no account {user_id}")
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(role=role, session_epoch=users.c.session_epoch + 1))
    return str(row.role), role


def deactivate(engine: Engine, username: str) -> Principal:
    """Refuse the account any further sign-in and end its sessions now (epoch + 1); its
    verdicts, comments and audit rows stay. `AccountError` when there is no such account."""
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise AccountError(f"no user {username!r}")
        conn.execute(update(users).where(users.c.id == row.id)
                     .values(active=False, session_epoch=users.c.session_epoch + 1))
        return _principal(row)
