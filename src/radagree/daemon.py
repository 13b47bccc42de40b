"""`radagree serve`: one asyncio process running every stage of the mission.

Reads top-down like uvicorn's `Server.serve`: `startup()` (store, migrations, worker
processes, listener, scheduler), wait for a signal, `shutdown()` in order (stop accepting,
answer the frames in flight, let the workers finish their batch, stop the writer). Signals
only set an event. The listener's process does no CPU-heavy work: see `radagree.workers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import disable_created_metrics
from sqlalchemy import text

import ingest
import outbound
from ingest import metrics as ingest_metrics
from outbound import metrics as outbound_metrics
from radagree import courier, telemetry, workers
from radagree.health import HttpServer
from radagree.settings import Settings
from radagree.store import make_engine, migrate

log = structlog.get_logger("radagree.daemon")


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.should_exit = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake_scoring = asyncio.Event()
        self.engine: Any = None
        self.store: ingest.MessageStore | None = None
        self.mllp: ingest.MllpServer | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._http: Any = None
        self.delivery_pool: ProcessPoolExecutor | None = None
        self._workers_ready = False
        self._wake_delivery = asyncio.Event()

    async def serve(self) -> None:
        self.install_signal_handlers()
        try:
            await self.startup()
        except BaseException as exc:
            # Whatever did start (listener, writer, workers) is stopped before the error
            # reaches the command line, so no half-started daemon keeps a port.
            log.error("daemon_start_failed", error=type(exc).__name__)
            await self.shutdown()
            raise
        await self.should_exit.wait()
        await self.shutdown()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.should_exit.set)

    async def startup(self) -> None:
        s = self.settings
        self.engine = make_engine(s.store.url)
        await asyncio.to_thread(migrate, self.engine)
        # SQLite serves one daemon only, so every claim found at start is a dead one's;
        # on PostgreSQL other replicas may be alive: only expired leases are released.
        lease = 0.0 if self.engine.dialect.name == "sqlite" else s.workers.claim_lease_s
        released = await asyncio.to_thread(
            ingest.release_stale, self.engine, timedelta(seconds=lease)
        )
        if released:
            log.info("claims_released", pairs=released)
        if self.engine.dialect.name == "sqlite":
            sending = await asyncio.to_thread(outbound.release_claims, self.engine)
            if sending:
                log.info("deliveries_released", bundles=sending)
        # The listener comes first: messages are stored and acknowledged while the worker
        # processes are still loading their models.
        self.store = ingest.MessageStore(self.engine, s.mllp.commit_batch)
        self.store.start()
        self.mllp = ingest.MllpServer(s.mllp, self.store)
        await self.mllp.start()
        disable_created_metrics()  # one series per metric is what dashboards expect
        self._http = HttpServer(s.http.host, s.http.port, self.readiness)
        self._http.start()
        # spawn, not fork: the parent has threads (store writer) that fork would copy mid-lock.
        self.pool = ProcessPoolExecutor(
            s.workers.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=workers.init_worker,
            initargs=(s.store.url, s.mllp, s.effective_scoring, s.fhir, s.logging, s.workers.nice,
                      os.getpid()),
        )
        # Delivery too leaves the listener's process (radagree/courier.py: ACK p99 36 -> 16 ms).
        self.delivery_pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=courier.init,
            initargs=(s.store.url, s.fhir, s.logging, s.workers.nice, os.getpid()),
        )
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self.pool, workers.ping) for _ in range(s.workers.processes)),
            loop.run_in_executor(self.delivery_pool, courier.ping),
        )
        self._workers_ready = True
        self._spawn(self._process_loop(), "ingest-processor")
        self._spawn(self._delivery_loop(), "delivery")
        for n in range(s.workers.processes):
            self._spawn(self._score_loop(), f"scoring-{n}")
        self.scheduler = AsyncIOScheduler()
        self.scheduler.add_job(
            self._run_blocking(ingest.refresh_gauges, self.engine), "interval", seconds=15,
            id="refresh_gauges", coalesce=True, max_instances=1,
        )
        self.scheduler.add_job(
            self._run_blocking(outbound.refresh_gauges, self.engine), "interval", seconds=15,
            id="refresh_outbox_gauges", coalesce=True, max_instances=1,
        )
        self.scheduler.add_job(
            self._expire, "interval", seconds=s.pairing.expiry_interval_s, id="expire",
            coalesce=True, max_instances=1,
        )
        if s.retention.days > 0:
            self.scheduler.add_job(
                self._purge, "interval", seconds=s.retention.interval_s, id="retention",
                coalesce=True, max_instances=1,
            )
        self.scheduler.add_job(
            self._release_stale, "interval", seconds=s.workers.claim_lease_s / 3,
            id="release_stale", coalesce=True, max_instances=1,
        )
        self.scheduler.start()
        log.info("daemon_started", worker=self.worker_id, store=self.engine.dialect.name,
                 mllp_port=self.mllp.port, http_port=s.http.port)

    async def shutdown(self) -> None:
        grace = self.settings.workers.shutdown_grace_s
        log.info("daemon_stopping", grace_s=grace)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.mllp is not None:
            await self.mllp.stop(grace)
        if self.store is not None:
            await self.store.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.pool is not None:
            # A batch in a worker finishes and settles its claims before the pool closes.
            await asyncio.to_thread(self.pool.shutdown, True)
        if self.delivery_pool is not None:
            # The batch in hand is recorded (delivered or due again) before the process ends.
            await asyncio.to_thread(self.delivery_pool.shutdown, True, cancel_futures=True)
        if self._http is not None:
            self._http.stop()
        if self.engine is not None:
            self.engine.dispose()
        log.info("daemon_stopped")

    def readiness(self) -> dict[str, tuple[bool, str]]:
        """/readyz: the store answers, the models are loaded, we are not shutting down.
        (Runs on the HTTP thread: a blocking SELECT 1 is fine there.)"""
        checks: dict[str, tuple[bool, str]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["store"] = (True, self.engine.dialect.name)
        except Exception as exc:
            checks["store"] = (False, type(exc).__name__)
        checks["models"] = (self._workers_ready, "loaded" if self._workers_ready else "loading")
        if self.settings.needs_llm:
            checks["llm"] = self._llm_reachable()
        checks["accepting"] = (not self.should_exit.is_set(),
                               "stopping" if self.should_exit.is_set() else "yes")
        return checks

    def _llm_reachable(self) -> tuple[bool, str]:
        """The OpenAI-compatible server lists its models (vLLM: GET /v1/models)."""
        import httpx

        llm = self.settings.llm
        if not llm.base_url:
            return False, "scoring needs an LLM but [llm] base_url is empty"
        try:
            response = httpx.get(llm.base_url.rstrip("/") + "/models", timeout=2,
                                 headers={"Authorization": f"Bearer {llm.key()}"})
        except httpx.HTTPError as exc:
            return False, type(exc).__name__
        return response.status_code == 200, f"HTTP {response.status_code}"

    async def _purge(self) -> None:
        """Retention: report text, raw messages and sent bundles past the horizon go."""
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.retention.days)

        def purge() -> dict[str, int]:
            with self.engine.begin() as conn:
                done = ingest.purge_text(conn, cutoff)
                done["bundles"] = outbound.purge_bundles(conn, cutoff)
            return done

        done = await asyncio.to_thread(purge)
        log.info("retention_purge", days=self.settings.retention.days, **done)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _run_blocking(self, func: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        async def job() -> None:
            await asyncio.to_thread(func, *args)

        return job

    async def _release_stale(self) -> None:
        lease = timedelta(seconds=self.settings.workers.claim_lease_s)
        released = await asyncio.to_thread(ingest.release_stale, self.engine, lease)
        if released:
            log.warning("claims_released", pairs=released, reason="lease expired")

    async def _expire(self) -> None:
        p = self.settings.pairing

        def sweep() -> Any:
            with self.engine.begin() as conn:
                return ingest.expire(
                    conn, timedelta(days=p.window_days), timedelta(days=p.prelim_expiry_days)
                )

        done = await asyncio.to_thread(sweep)
        for event, n in done.items():
            if n:
                ingest_metrics.PAIR_EVENTS.labels(event).inc(n)
                log.info("pairing_expired", event=event, count=n)

    async def _process_loop(self) -> None:
        """Parse stored messages and pair their reports, woken by each commit."""
        loop = asyncio.get_running_loop()
        w = self.settings.workers
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.store.committed.wait(), w.poll_interval_s)
            self.store.committed.clear()
            while True:
                try:
                    outcome = await loop.run_in_executor(
                        self.pool, workers.process_pending, w.parse_batch
                    )
                except Exception as exc:  # the store may be down: retry later
                    log.error("ingest_processing_failed", error=type(exc).__name__)
                    await asyncio.sleep(w.poll_interval_s)
                    break
                for status, n in outcome.reports.items():
                    ingest_metrics.REPORTS.labels(status).inc(n)
                for event, n in outcome.pairing.items():
                    ingest_metrics.PAIR_EVENTS.labels(event).inc(n)
                if outcome.failed:
                    ingest_metrics.PARSE_FAILURES.inc(outcome.failed)
                if outcome.pairing:
                    self._wake_scoring.set()
                if outcome.pairing.get("cancelled"):
                    self._wake_delivery.set()
                if outcome.messages == 0:
                    break

    async def _score_loop(self) -> None:
        """Have a worker claim, score and settle batches of ready pairs."""
        loop = asyncio.get_running_loop()
        w = self.settings.workers
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_scoring.wait(), w.poll_interval_s)
            self._wake_scoring.clear()
            while True:
                try:
                    outcome = await loop.run_in_executor(
                        self.pool, workers.score_batch, self.worker_id, w.scoring_batch,
                        w.max_attempts,
                    )
                except Exception as exc:
                    log.error("scoring_batch_failed", error=type(exc).__name__)
                    await asyncio.sleep(w.poll_interval_s)
                    break
                telemetry.record(outcome)
                if outcome.waiting:
                    # fallback = "wait": the LLM is down; the pairs went back to the queue.
                    log.warning("llm_unavailable_pairs_requeued", count=outcome.waiting)
                    await asyncio.sleep(min(60.0, w.poll_interval_s * 20))
                    break
                if outcome.invalid:
                    outbound_metrics.DEAD_LETTERS.labels("invalid").inc(outcome.invalid)
                    log.error("invalid_bundles", count=outcome.invalid)
                if outcome.scored:
                    self._wake_delivery.set()
                if outcome.failed:
                    log.warning("pairs_not_scored", count=outcome.failed)
                if outcome.claimed == 0:
                    break

    async def _delivery_loop(self) -> None:
        """Send due bundles; woken when bundles were queued, else every poll interval (which
        is also when retries whose backoff has run out become due)."""
        w, fhir = self.settings.workers, self.settings.fhir
        loop = asyncio.get_running_loop()
        limit = fhir.delivery_batch
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_delivery.wait(), w.poll_interval_s)
            self._wake_delivery.clear()
            while True:
                try:
                    passed = await loop.run_in_executor(
                        self.delivery_pool, courier.deliver, self.worker_id, limit)
                except Exception as exc:
                    log.error("delivery_pass_failed", error=type(exc).__name__)
                    await asyncio.sleep(w.poll_interval_s)
                    break
                outbound.observe(passed)
                done = passed.done
                # While the target fails everything, probe it with one bundle at a time: a
                # frozen server otherwise queues a full batch of requests per timeout, and
                # works through those abandoned requests first when it comes back.
                limit = 1 if done["retry"] and not done["delivered"] else fhir.delivery_batch
                if done["dead"]:
                    log.error("bundles_dead_lettered", count=done["dead"])
                if not done or done["retry"] == sum(done.values()):
                    break
