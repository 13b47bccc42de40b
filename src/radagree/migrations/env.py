"""Alembic environment: the engine comes from `radagree.store.migrate`, never from a file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from radagree.store import all_metadata


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite cannot alter a constraint in place: batch mode copies a table, drops the old one
    and renames the copy, while other tables point at it. SQLite's own procedure for that
    (https://sqlite.org/lang_altertable.html#otheralter) turns foreign keys off around the
    transaction (the PRAGMA is ignored inside one) and checks them before the commit."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with sqlite_foreign_keys_off(connection):
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                broken = connection.execute(text("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
        connection.commit()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)  # the caller holds the migration lock on this connection
else:
    with context.config.attributes["engine"].connect() as connection:
        run(connection)
