"""Store-then-ACK: raw messages are committed in groups before anyone is answered.

One fsync per message caps SQLite near 5,000 commits/s with `synchronous=FULL`; grouping the
messages that arrive while the previous commit runs serves them all with one fsync (DESIGN.md
§12), without ever answering before the commit returns. A failed commit answers every message
of its group with AE, so the sender resends: nothing acknowledged is ever lost. The failure is
logged once per group with its real type, as an outage (`store_unavailable`: the database
cannot be reached or written) or as a defect (`store_commit_failed`: anything else, a bug
included), so that a bug in our code does not look like a database that is down.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from ingest.errors import Rejection, StoreDefect, StoreFailed, StoreUnavailable, error_code
from ingest.header import Header
from ingest.tables import RECEIVED, REJECTED, messages

log = structlog.get_logger("ingest.store")

# What an unreachable or unwritable store raises: the server is down or restarting, the
# connection dropped, the pool ran dry, the file is locked or the disk full (SQLite reports
# those as OperationalError too). Anything else failing a commit is a defect.
OUTAGES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
    sa_exc.TimeoutError, OSError,
)


@dataclass(frozen=True, slots=True)
class Incoming:
    raw: bytes
    header: Header
    rejection: Rejection | None
    peer: str = ""
    received_at: datetime | None = None
    # Set when `raw` is only the head of an oversized frame.
    truncated_from: int | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What the ACK must say about a message now that it is durable."""

    message_id: int
    ack_code: str
    rejection: Rejection | None
    duplicate: bool = False


def _insert(engine: Engine):  # noqa: ANN202 - dialect-specific Insert class
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def store_messages(conn: Connection, batch: list[Incoming]) -> list[Stored]:
    """Insert a group of messages in the caller's transaction; resolve duplicates.

    A resend (same sender + MSH-10, same bytes) gets the answer the first copy got and is not
    stored twice. A *different* message re-using a control id is a new message: integration
    engines reset their counters when they restart, and an AR would tell the sender never to
    send it again. It is stored and answered as any other (the processor counts and logs the
    reuse, off the ACK path).
    """
    insert = _insert(conn.engine)
    out: list[Stored] = []
    for item in batch:
        header, rejection = item.header, item.rejection
        digest = hashlib.sha256(item.raw).hexdigest()
        key = f"{header.sender}|{header.control_id}" if header.control_id else None
        row = {
            "dedupe_key": key,
            "sender": header.sender[:256],
            "control_id": header.control_id[:199],
            "message_type": header.type_name[:32],
            "peer": item.peer[:128],
            "received_at": item.received_at or datetime.now(UTC),
            "raw": item.raw,
            "size": item.truncated_from or len(item.raw),
            "sha256": digest,
            "ack_code": "AR" if rejection else "AA",
            "state": REJECTED if rejection else RECEIVED,
            **_refusal_columns(rejection),
            "duplicates": 0,
        }
        if key is None:
            new_id = conn.execute(messages.insert().values(**row)).inserted_primary_key[0]
            out.append(Stored(int(new_id), row["ack_code"], rejection))
            continue
        new_id = conn.execute(
            insert(messages).values(**row)
            .on_conflict_do_nothing(index_elements=["dedupe_key", "sha256"])
            .returning(messages.c.id)
        ).scalar()
        if new_id is None:
            out.append(_resend(conn, key, digest))
            continue
        out.append(Stored(int(new_id), row["ack_code"], rejection))
    return out


def _resend(conn: Connection, key: str, digest: str) -> Stored:
    """The same bytes again: counted on the first copy's row, answered as it was."""
    first = conn.execute(
        select(
            messages.c.id, messages.c.ack_code, messages.c.error_code,
            messages.c.error_segment, messages.c.error_field, messages.c.error,
        ).where(messages.c.dedupe_key == key, messages.c.sha256 == digest)
    ).one()
    conn.execute(
        update(messages).where(messages.c.id == first.id)
        .values(duplicates=messages.c.duplicates + 1)
    )
    rejection = _stored_rejection(first) if first.ack_code != "AA" else None
    return Stored(int(first.id), first.ack_code, rejection, duplicate=True)


def _refusal_columns(rejection: Rejection | None) -> dict[str, Any]:
    """A refusal as stored: everything its ERR segment said."""
    if rejection is None:
        return {"error_code": None, "error_segment": None, "error_field": None, "error": None}
    return {"error_code": rejection.error.code, "error_segment": rejection.segment[:8],
            "error_field": rejection.field, "error": str(rejection)}


def _stored_rejection(row: Any) -> Rejection:
    """The refusal of a stored message, rebuilt so a resend hears the same answer."""
    error = error_code(row.error_code)
    detail = (row.error or "").removeprefix(f"{error.text}: ")
    return Rejection(error, detail, row.error_segment or "MSH", row.error_field)


class MessageStore:
    """The asyncio face of `store_messages`: callers await `put`, a writer groups commits.

    The writer runs the blocking commit on one dedicated thread, so the event loop keeps
    reading frames while the disk syncs; everything that queued meanwhile is the next group.
    """

    def __init__(self, engine: Engine, batch: int = 64) -> None:
        self._engine = engine
        self._batch = batch
        self._queue: asyncio.Queue[tuple[Incoming, asyncio.Future[Stored]] | None] = (
            asyncio.Queue()
        )
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="radagree-store")
        self._task: asyncio.Task[None] | None = None
        # Set after each commit that added received messages, to wake the processor.
        self.committed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="message-store")

    async def stop(self) -> None:
        """Commit whatever is queued (callers get their answers), then stop the writer."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def put(self, item: Incoming) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self._batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            items = [item for item, _ in group]
            try:
                results = await loop.run_in_executor(self._executor, self._commit, items)
            except OUTAGES as exc:
                log.error("store_unavailable", error=type(exc).__name__, count=len(group))
                _fail(group, StoreUnavailable(type(exc).__name__))
                continue
            except Exception as exc:  # a defect: logged with its type, answered AE all the same
                log.error("store_commit_failed", error=type(exc).__name__, count=len(group),
                          exc_info=True)
                _fail(group, StoreDefect(type(exc).__name__))
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
            self.committed.set()

    def _commit(self, items: list[Incoming]) -> list[Stored]:
        """One transaction for the group (run on the writer's thread)."""
        with self._engine.begin() as conn:
            return store_messages(conn, items)


def _fail(group: list[tuple[Incoming, asyncio.Future[Stored]]], error: StoreFailed) -> None:
    """Every caller of a failed group hears the same failure (its sender gets AE)."""
    for _, future in group:
        if not future.done():
            future.set_exception(error)
