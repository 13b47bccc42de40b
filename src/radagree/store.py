"""The store engine: one place that knows SQLite from PostgreSQL.

SQLite runs in WAL mode with `synchronous=FULL` (an ACKed message survives power loss) and
every transaction begins IMMEDIATE: the write lock is taken up front, so a transaction never
fails half-way with "database is locked". Waiting for that lock is done here, in 0.2 ms
steps, not by SQLite's busy handler: its back-off sleeps 10-100 ms at a time, which put the
ACK p99 at 40 ms while a worker process held the lock for a few milliseconds.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def all_metadata() -> list[MetaData]:
    """Every package's tables, in dependency order (the migrations' target)."""
    from ingest import tables as ingest_tables
    from outbound import tables as outbound_tables
    from review import tables as review_tables

    return [ingest_tables.metadata, outbound_tables.metadata, review_tables.metadata]


def make_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for `url`; a relative SQLite path is relative to the working folder."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            # Report texts are PHI: the file is created 0600 (its -wal/-shm take its mode).
            from radagree.private import create_private

            create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 0})
        _sqlite_pragmas(engine, busy_timeout_s)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(False))
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.0002)


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


_MIGRATION_LOCK = 0x7261_6461  # "rada": one advisory lock id for schema changes


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent; every start runs it).

    Replicas starting together on one PostgreSQL take turns under an advisory lock, so the
    second finds the schema current instead of racing to create it.
    """
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        conn.commit()
        try:
            config = alembic_config(engine)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()


def open_store(url: str) -> Engine:
    """An engine on a store whose schema is current: how every command that reads or writes
    the store begins (a first command on a fresh machine creates it)."""
    engine = make_engine(url)
    migrate(engine)
    return engine
