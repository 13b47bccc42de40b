"""Alembic environment: the engine comes from `radagree.store.migrate`, never from a file."""

from __future__ import annotations

from alembic import context

from radagree.store import all_metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=all_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
