"""`radagree serve`: one asyncio process running every stage of the mission.

Reads top-down like uvicorn's `Server.serve`: `startup()` (store, migrations, listener, worker
processes, scheduler), wait for a signal, `shutdown()` in order (stop accepting, answer the
frames in flight, let the workers finish their batch, stop the writer). Signals only set an
event: the first `should_exit`, a second `force_exit` (uvicorn's model), which cuts every
remaining wait short. Each wait of the shutdown is bounded by `workers.shutdown_grace_s`
counted from the first signal; a worker process still busy then (a long LLM batch) is killed,
and its claims return to the queue as a dead worker's do. The listener's process does no
CPU-heavy work: strict validation, parsing, scoring and delivery each run in processes of
their own (`radagree.children`), and one loop (`Daemon.drain`) feeds each of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics
from sqlalchemy import text

import ingest
import outbound
from radagree import children
from radagree.courier import Courier
from radagree.health import HttpServer
from radagree.parsing import ParseWorker
from radagree.settings import Settings
from radagree.store import make_engine, migrate
from radagree.telemetry import ScoringMetrics
from radagree.workers import ScoringWorker

log = structlog.get_logger("radagree.daemon")

# What a pool always gets to close, beyond the shutdown grace (see `Daemon._stop_pool`).
POOL_CLOSE_S = 3.0


class Daemon:
    def __init__(self, settings: Settings, registry: CollectorRegistry = REGISTRY) -> None:
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.should_exit = asyncio.Event()
        self.force_exit = asyncio.Event()
        # The pids of each pool's processes (reported when they are ready), to end them
        # when the shutdown's grace runs out.
        self._pids: dict[int, list[int]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake_scoring = asyncio.Event()
        self._wake_delivery = asyncio.Event()
        self.engine: Any = None
        self.store: ingest.MessageStore | None = None
        self.mllp: ingest.MllpServer | None = None
        self.validation_pool: Executor | None = None
        self.parse_pool: Executor | None = None
        self.pool: Executor | None = None
        self.delivery_pool: Executor | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._http: Any = None
        self._workers_ready = False
        self._delivery_limit = settings.fhir.delivery_batch
        # Metrics: counters recorded here from the workers' outcome objects; the queue and
        # outbox gauges are collectors that read the store when Prometheus scrapes.
        self.registry = registry
        self.ingest_metrics = ingest.IngestMetrics(registry)
        self.outbound_metrics = outbound.OutboundMetrics(registry)
        self.scoring_metrics = ScoringMetrics(registry)
        self._collectors: list[Any] = []

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
            loop.add_signal_handler(sig, self.handle_exit)

    def handle_exit(self) -> None:
        """The first SIGINT/SIGTERM asks for an orderly stop, a second forces it."""
        if self.should_exit.is_set():
            if not self.force_exit.is_set():
                log.warning("daemon_force_exit")
            self.force_exit.set()
        self.should_exit.set()

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
        if s.mllp.validation == "strict":
            # hl7apy on the listener's event loop held every other connection's ACK; nice 0:
            # it is on the ACK path.
            from ingest.strict import warm

            self.validation_pool = children.pool(
                s.workers.validation_processes, warm, (), logging_config=s.logging, nice=0)
            await self._ready(self.validation_pool, s.workers.validation_processes)
        self.mllp = ingest.MllpServer(s.mllp, self.store, metrics=self.ingest_metrics,
                                      validation_pool=self.validation_pool)
        await self.mllp.start()
        disable_created_metrics()  # one series per metric is what dashboards expect
        self._collectors = [ingest.QueueCollector(self.engine),
                            outbound.OutboxCollector(self.engine)]
        for collector in self._collectors:
            self.registry.register(collector)
        self._http = HttpServer(s.http.host, s.http.port, self.readiness, self.registry)
        self._http.start()
        w, url = s.workers, s.store.url
        # Parsing has a process of its own so that it never waits behind a scoring batch.
        self.parse_pool = children.pool(1, ParseWorker.open, (url, s.mllp),
                                        logging_config=s.logging, nice=w.nice)
        self.pool = children.pool(
            w.processes, ScoringWorker.open,
            (url, s.scoring, s.llm, s.fhir, w.claim_lease_s, w.scoring_idle),
            logging_config=s.logging, nice=w.nice)
        # Delivery too leaves the listener's process (radagree/courier.py: ACK p99 36 -> 16 ms).
        self.delivery_pool = children.pool(1, Courier.open, (url, s.fhir),
                                           logging_config=s.logging, nice=w.nice)
        await asyncio.gather(self._ready(self.parse_pool, 1), self._ready(self.pool, w.processes),
                             self._ready(self.delivery_pool, 1))
        self._workers_ready = True
        self._spawn(self.drain(self.store.committed, self._parse_pass, "ingest_processing_failed"),
                    "ingest-processor")
        self._spawn(self.drain(self._wake_delivery, self._delivery_pass, "delivery_pass_failed"),
                    "delivery")
        for n in range(w.processes):
            self._spawn(self.drain(self._wake_scoring, self._score_pass, "scoring_batch_failed"),
                        f"scoring-{n}")
        self.scheduler = AsyncIOScheduler()
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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        log.info("daemon_stopping", grace_s=grace)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # Frames in hand are answered within the grace, or at once when forced.
        if self.mllp is not None and not await self._unless_forced(self.mllp.stop(grace),
                                                                   deadline):
            await self.mllp.stop(0.0)
        if self.store is not None:
            await self.store.stop()  # queued messages are committed (and answered) first
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # A batch in a worker finishes and settles its claims before its pool closes; the
        # delivery in hand is recorded (delivered or due again) before the process ends. A
        # process still busy when the grace is over (or the exit is forced) is killed.
        for name, pool, cancel in (("validation", self.validation_pool, True),
                                   ("parse", self.parse_pool, False),
                                   ("scoring", self.pool, False),
                                   ("delivery", self.delivery_pool, True)):
            if pool is not None:
                await self._stop_pool(name, pool, cancel, deadline)
        if self._http is not None:
            self._http.stop()
        for collector in self._collectors:
            self.registry.unregister(collector)
        if self.engine is not None:
            self.engine.dispose()
        log.info("daemon_stopped", forced=self.force_exit.is_set())

    async def _unless_forced(self, work: Awaitable[Any], deadline: float) -> bool:
        """Run `work` until it ends (True), or until the deadline passes or the exit is
        forced (False: `work` is cancelled)."""
        task = asyncio.ensure_future(work)
        forced = asyncio.ensure_future(self.force_exit.wait())
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            done, _ = await asyncio.wait({task, forced}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            forced.cancel()
        if task in done:
            task.result()
            return True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False

    async def _stop_pool(self, name: str, pool: Executor, cancel: bool, deadline: float
                         ) -> None:
        """Close `pool`: its processes finish the call in hand within the grace; then (or
        at once when forced) they are killed, and the pool is waited for a moment more."""
        closed = asyncio.ensure_future(
            asyncio.to_thread(pool.shutdown, True, cancel_futures=cancel))
        # An idle pool closes in well under a second: it gets a moment even once the grace
        # is spent or the exit forced, so only a process busy with a call is ever killed.
        await asyncio.wait({closed}, timeout=POOL_CLOSE_S)
        if closed.done() or await self._unless_forced(asyncio.shield(closed), deadline):
            return
        pids = self._pids.get(id(pool), [])
        log.warning("pool_forced_down", stage=name, count=len(pids),
                    reason="force_exit" if self.force_exit.is_set() else "grace")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # A killed process breaks its pool, which then ends the others and returns.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closed, 10.0)

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
        self.ingest_metrics.record_pairing(done)
        for event, n in done.items():
            if n:
                log.info("pairing_expired", event=event, count=n)

    async def _ready(self, pool: Executor, processes: int) -> None:
        """Until every process of `pool` has built its worker; their pids are kept."""
        loop = asyncio.get_running_loop()
        pids = await asyncio.gather(*(loop.run_in_executor(pool, children.ready)
                                      for _ in range(processes)))
        self._pids[id(pool)] = sorted({pid for pid in pids if pid})

    async def _call(self, pool: Executor | None, method: str, *args: Any) -> Any:
        """`method(*args)` of the worker object of one of `pool`'s processes."""
        return await asyncio.get_running_loop().run_in_executor(
            pool, children.call, method, *args)

    async def drain(self, wake: asyncio.Event, one_pass: Callable[[], Awaitable[float | None]],
                    failure: str) -> None:
        """The one loop of every stage: wait for `wake` (or the poll interval, which is also
        when retries come due), then run passes while there is work. A pass returns None to
        run again at once, or the seconds to pause before waiting again (0 when its queue is
        empty). A failed pass (the store may be down) is logged and retried after a pause."""
        interval = self.settings.workers.poll_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval)
            wake.clear()
            while True:
                try:
                    pause = await one_pass()
                except Exception as exc:
                    log.error(failure, error=type(exc).__name__)
                    pause = interval
                if pause is not None:
                    await asyncio.sleep(pause)
                    break

    async def _parse_pass(self) -> float | None:
        """Parse stored messages and pair their reports (woken by each commit)."""
        outcome = await self._call(self.parse_pool, "process_pending",
                                   self.settings.workers.parse_batch)
        self.ingest_metrics.record_batch(outcome)
        if outcome.pairing:
            self._wake_scoring.set()
        if outcome.pairing.get("cancelled"):
            self._wake_delivery.set()
        return None if outcome.messages else 0.0

    async def _score_pass(self) -> float | None:
        """Have a worker claim, score and settle a batch of ready pairs."""
        w = self.settings.workers
        outcome = await self._call(self.pool, "score_batch", self.worker_id, w.scoring_batch,
                                   w.max_attempts)
        self.scoring_metrics.record(outcome)
        if outcome.waiting:
            # fallback = "wait": the LLM is down; the pairs went back to the queue.
            log.warning("llm_unavailable_pairs_requeued", count=outcome.waiting)
            return min(60.0, w.poll_interval_s * 20)
        if outcome.invalid:
            self.outbound_metrics.invalid(outcome.invalid)
            log.error("invalid_bundles", count=outcome.invalid)
        if outcome.scored:
            self._wake_delivery.set()
        if outcome.failed:
            log.warning("pairs_not_scored", count=outcome.failed)
        return None if outcome.claimed else 0.0

    async def _delivery_pass(self) -> float | None:
        """Send due bundles (woken when bundles were queued)."""
        passed = await self._call(self.delivery_pool, "deliver", self.worker_id,
                                  self._delivery_limit)
        self.outbound_metrics.observe(passed)
        done = passed.done
        # While the target fails everything, probe it with one bundle at a time: a frozen
        # server otherwise queues a full batch of requests per timeout, and works through
        # those abandoned requests first when it comes back.
        failing = done["retry"] and not done["delivered"]
        self._delivery_limit = 1 if failing else self.settings.fhir.delivery_batch
        if done["dead"]:
            log.error("bundles_dead_lettered", count=done["dead"])
        return 0.0 if not done or done["retry"] == sum(done.values()) else None
