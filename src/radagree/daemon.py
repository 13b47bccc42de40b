"""`radagree serve`: one asyncio process running every stage of the mission.

Reads top-down like uvicorn's `Server.serve`: `startup()` (store, migrations, listener,
workers, scheduler), wait for a signal, `shutdown()` in order (stop accepting, answer the
frames in flight, release claimed work, stop the writer). Signals only set an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import disable_created_metrics, start_http_server

import ingest
from ingest import metrics as ingest_metrics
from radagree.settings import Settings
from radagree.store import make_engine, migrate

log = structlog.get_logger("radagree.daemon")


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.should_exit = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._parse_pool = ThreadPoolExecutor(1, thread_name_prefix="radagree-parse")
        self._score_pool = ThreadPoolExecutor(1, thread_name_prefix="radagree-score")
        self._scorer: Any = None
        self._claimed: set[int] = set()
        self._wake_scoring = asyncio.Event()

    async def serve(self) -> None:
        self.install_signal_handlers()
        await self.startup()
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
        from scoring import Scorer

        self._scorer = await asyncio.to_thread(Scorer, s.scoring)
        self.store = ingest.MessageStore(self.engine, s.mllp.commit_batch)
        self.store.start()
        self.mllp = ingest.MllpServer(s.mllp, self.store)
        await self.mllp.start()
        disable_created_metrics()  # one series per metric is what dashboards expect
        self._http = start_http_server(s.http.port, s.http.host)
        self._spawn(self._process_loop(), "ingest-processor")
        self._spawn(self._score_loop(), "scoring-worker")
        self.scheduler = AsyncIOScheduler()
        self.scheduler.add_job(
            self._run_blocking(ingest.refresh_gauges, self.engine), "interval", seconds=15,
            id="refresh_gauges", coalesce=True, max_instances=1,
        )
        self.scheduler.add_job(
            self._expire, "interval", seconds=s.pairing.expiry_interval_s, id="expire",
            coalesce=True, max_instances=1,
        )
        self.scheduler.add_job(
            self._claims, "interval", seconds=s.workers.claim_lease_s / 3, id="claims",
            coalesce=True, max_instances=1,
        )
        self.scheduler.start()
        log.info("daemon_started", worker=self.worker_id, store=self.engine.dialect.name,
                 mllp_port=self.mllp.port, http_port=s.http.port)

    async def shutdown(self) -> None:
        grace = self.settings.workers.shutdown_grace_s
        log.info("daemon_stopping", grace_s=grace)
        self.scheduler.shutdown(wait=False)
        await self.mllp.stop(grace)
        await self.store.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._claimed:
            await asyncio.to_thread(
                ingest.release, self.engine, sorted(self._claimed), self.worker_id
            )
        self._parse_pool.shutdown(wait=True)
        self._score_pool.shutdown(wait=True)
        self._http[0].shutdown()
        self.engine.dispose()
        log.info("daemon_stopped")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _run_blocking(self, func: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        async def job() -> None:
            await asyncio.to_thread(func, *args)

        return job

    async def _claims(self) -> None:
        """Renew our own claims, release those of workers that stopped renewing."""
        lease = timedelta(seconds=self.settings.workers.claim_lease_s)
        await asyncio.to_thread(
            ingest.renew_claims, self.engine, sorted(self._claimed), self.worker_id
        )
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
        poll = self.settings.workers.poll_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.store.committed.wait(), poll)
            self.store.committed.clear()
            while True:
                try:
                    outcome = await loop.run_in_executor(
                        self._parse_pool, ingest.process_pending, self.engine, self.settings.mllp
                    )
                except Exception as exc:
                    log.error("ingest_processing_failed", error=type(exc).__name__)
                    await asyncio.sleep(poll)
                    break
                for status, n in outcome.reports.items():
                    ingest_metrics.REPORTS.labels(status).inc(n)
                for event, n in outcome.pairing.items():
                    ingest_metrics.PAIR_EVENTS.labels(event).inc(n)
                if outcome.failed:
                    ingest_metrics.PARSE_FAILURES.inc(outcome.failed)
                if outcome.messages == 0:
                    break
                if outcome.pairing:
                    self._wake_scoring.set()

    async def _score_loop(self) -> None:
        """Claim ready pairs in batches and score them on the CPU path."""
        loop = asyncio.get_running_loop()
        w = self.settings.workers
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_scoring.wait(), w.poll_interval_s)
            self._wake_scoring.clear()
            while True:
                try:
                    batch = await asyncio.to_thread(
                        ingest.claim_pairs, self.engine, self.worker_id, w.scoring_batch
                    )
                except Exception as exc:
                    log.error("claim_failed", error=type(exc).__name__)
                    break
                if not batch:
                    break
                self._claimed.update(p.id for p in batch)
                for pair in batch:
                    await loop.run_in_executor(self._score_pool, self._score_one, pair)
                    self._claimed.discard(pair.id)

    def _score_one(self, pair: ingest.ClaimedPair) -> None:
        try:
            result = self._scorer.score(pair.prelim.text, pair.final.text)
        except Exception as exc:
            ingest.fail(self.engine, pair.id, self.worker_id, str(exc), pair.attempts,
                        self.settings.workers.max_attempts)
            # The message of a scoring error may quote report text: log the type only.
            log.warning("pair_not_scored", pair=pair.id, error=type(exc).__name__)
            return
        ingest.complete(self.engine, pair.id, self.worker_id, result.model_dump(mode="json"))
