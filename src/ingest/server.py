"""The MLLP listener: one asyncio task per connection, store-then-ACK for every frame.

Lifecycle follows uvicorn's shape: `start()` binds, `stop()` stops accepting, lets every
connection finish the frame it is answering, then closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import ssl
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, datetime
from ipaddress import ip_address

import structlog

from ingest.ack import build_ack
from ingest.config import MllpConfig
from ingest.errors import INTERNAL_ERROR, FrameTooLarge, FramingError, Rejection, StoreFailed
from ingest.framing import FrameReader, frame
from ingest.header import Header, peek
from ingest.metrics import IngestMetrics
from ingest.store import Incoming, MessageStore

log = structlog.get_logger("ingest.mllp")


def tls_context(config: MllpConfig) -> ssl.SSLContext | None:
    """Server TLS from the configured files; with a client CA, client certificates are
    required and must chain to it (mutual TLS)."""
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    if config.tls_client_ca is not None:
        context.load_verify_locations(cafile=str(config.tls_client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class MllpServer:
    """Frames, peeks, stores, answers. With `validation = "strict"`, hl7apy checks each message
    before its answer in `validation_pool` (processes: it holds the GIL for ~25-70 ms a
    message, which on the event loop delayed every other connection's ACK); without a pool
    given, the server starts one process of its own."""

    def __init__(self, config: MllpConfig, store: MessageStore, *,
                 metrics: IngestMetrics | None = None,
                 validation_pool: Executor | None = None) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics or IngestMetrics()
        self._validation_pool = validation_pool
        self._own_pool = False
        # Set at start in strict mode (hl7apy is imported only where it is used).
        self._check_strict: Callable[[bytes, Header, str], Rejection | None] | None = None
        self._server: asyncio.Server | None = None
        self._tls = tls_context(config)
        self._connections: set[asyncio.Task[None]] = set()
        self._accepted: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self.config.validation == "strict":
            from ingest.strict import check_strict, warm

            self._check_strict = check_strict
            if self._validation_pool is None:
                self._validation_pool = ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"))
                self._own_pool = True
                await asyncio.get_running_loop().run_in_executor(self._validation_pool, warm)
        # TLS is started per connection (`_handshake`), not by the server: asyncio logs a
        # failed handshake only in debug mode, and a refused certificate must be logged.
        self._server = await asyncio.start_server(
            self._accept,
            self.config.host,
            self.config.port,
            backlog=256,
        )
        log.info("mllp_listening", host=self.config.host, port=self.port,
                 tls=self.config.is_tls, mutual_tls=self.config.tls_client_ca is not None)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting; give connections `grace_s` to finish the frame in hand."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        idle = [t for t in self._connections if t not in self._busy]
        for task in idle:
            task.cancel()
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        if self._own_pool and self._validation_pool is not None:
            await asyncio.to_thread(self._validation_pool.shutdown, True, cancel_futures=True)

    def _allowed(self, peer: str) -> bool:
        if not self.config.allow_networks:
            return True
        try:
            address = ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.config.allow_networks)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Synchronous on purpose: it runs inside `connection_made`, before a byte is read, so
        with TLS reading can be paused until the handshake. Otherwise the ClientHello lands in
        the stream's buffer and `start_tls` waits for it for ever (asyncio streams, 3.11)."""
        if self._tls is not None:
            writer.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._on_connection(reader, writer))
        self._accepted.add(task)
        task.add_done_callback(self._accepted.discard)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername") or ("", 0)
        peer = str(peername[0])
        if self._closing:
            writer.close()
            return
        if not self._allowed(peer):
            self.metrics.connections_refused.labels("not_allowed").inc()
            log.warning("mllp_peer_refused", peer=peer, reason="not in allow_networks")
            writer.close()
            return
        if len(self._connections) >= self.config.max_connections:
            self.metrics.connections_refused.labels("too_many").inc()
            log.warning("mllp_peer_refused", peer=peer, reason="connection cap reached",
                        cap=self.config.max_connections)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.metrics.connections.inc()
        try:
            if self._tls is not None and not await self._handshake(writer, peer):
                return
            await self._serve(reader, writer, peer, task)
        except asyncio.CancelledError:
            pass
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("mllp_connection_lost", peer=peer, error=type(exc).__name__)
        finally:
            self._connections.discard(task)
            self.metrics.connections.dec()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _handshake(self, writer: asyncio.StreamWriter, peer: str) -> bool:
        """TLS before any byte is read; a refusal is counted and logged with its reason
        (plain TCP on the TLS port, no/unknown/expired client certificate, a client that
        does not trust our CA), bounded by the idle timeout against stalled handshakes."""
        assert self._tls is not None
        try:
            await asyncio.wait_for(writer.start_tls(self._tls), self.config.idle_timeout_s)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            self.metrics.connections_refused.labels("tls").inc()
            reason = str(getattr(exc, "reason", None) or type(exc).__name__)
            if getattr(exc, "verify_message", None):  # e.g. "certificate has expired"
                reason += f": {exc.verify_message}"  # type: ignore[union-attr]
            log.warning("mllp_tls_refused", peer=peer, reason=reason)
            return False
        return True

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str,
        task: asyncio.Task[None],
    ) -> None:
        frames = FrameReader(reader, self.config.max_message_bytes)
        missing_cr = 0
        while not self._closing:
            try:
                payload = await asyncio.wait_for(frames.read(), self.config.idle_timeout_s)
            except TimeoutError:
                log.info("mllp_idle_timeout", peer=peer, after_s=self.config.idle_timeout_s)
                return
            except FrameTooLarge as exc:
                self._busy.add(task)
                try:
                    await self._answer(writer, exc.head, peer, oversized=exc.limit)
                finally:
                    self._busy.discard(task)
                return
            except FramingError as exc:
                self.metrics.framing_errors.inc()
                log.warning("mllp_framing_error", peer=peer, reason=str(exc))
                return
            if frames.missing_final_cr > missing_cr:
                self.metrics.frames_missing_cr.inc(frames.missing_final_cr - missing_cr)
                missing_cr = frames.missing_final_cr
            if payload is None:
                return
            self._busy.add(task)
            try:
                await self._answer(writer, payload, peer)
            finally:
                self._busy.discard(task)

    async def _answer(
        self, writer: asyncio.StreamWriter, payload: bytes, peer: str,
        oversized: int | None = None,
    ) -> None:
        started = time.perf_counter()
        header, rejection = peek(payload, self.config)
        if oversized is not None:
            # Table 0357 has no size code; 207 with the limit named is what senders log.
            rejection = Rejection(
                INTERNAL_ERROR, f"message larger than the {oversized}-byte limit", "MSH"
            )
        elif rejection is None and self._check_strict is not None:
            try:
                rejection = await asyncio.get_running_loop().run_in_executor(
                    self._validation_pool, self._check_strict, payload, header,
                    self.config.default_charset)
            except Exception as exc:  # a validation process died: transient, not the message
                log.error("strict_validation_failed", peer=peer, error=type(exc).__name__)
                reason = Rejection(INTERNAL_ERROR, "message not validated, please resend")
                await self._reply(writer, header, "AE", reason, "validation_error", started)
                return
        item = Incoming(
            raw=payload, header=header, rejection=rejection, peer=peer,
            received_at=datetime.now(UTC),
            truncated_from=(oversized + 1) if oversized is not None else None,
        )
        try:
            stored = await self.store.put(item)
            code, reason = stored.ack_code, stored.rejection
            result = "duplicate" if stored.duplicate else (
                "accepted" if code == "AA" else "rejected"
            )
        except StoreFailed:  # logged once for its group, with its real type, by the store
            code = "AE"
            reason = Rejection(INTERNAL_ERROR, "message not stored, please resend")
            result = "store_error"
        await self._reply(writer, header, code, reason, result, started)
        if result != "accepted":
            log.info("mllp_answered", peer=peer, type=header.type_name, result=result, ack=code,
                     error_code=reason.error.code if reason else None,
                     accession=header.reports[0][0] if header.reports else None)

    async def _reply(self, writer: asyncio.StreamWriter, header: Header, code: str,
                     reason: Rejection | None, result: str, started: float) -> None:
        """Write the ACK and count it (latency from the end of the frame)."""
        writer.write(frame(build_ack(header, code, reason)))
        await writer.drain()
        self.metrics.ack_latency.observe(time.perf_counter() - started)
        self.metrics.messages.labels(header.type_name, result, code).inc()
