"""Alembic environment: the engine comes from `radagree.store.migrate`, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from radagree.store import all_metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)  # the caller holds the migration lock on this connection
else:
    with context.config.attributes["engine"].connect() as connection:
        run(connection)
