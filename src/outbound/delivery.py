"""One delivery pass: claim what is due, send it, record every outcome.

The daemon calls `deliver_due` in a loop, in a process of its own; the CLI's `outbox retry`
only changes rows, and the next pass sends them. Backoff is exponential with full jitter
(AWS architecture blog's "full jitter"), capped, and a server's Retry-After wins when it
gives one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.engine import Engine

from outbound.config import FhirConfig
from outbound.outbox import OutboxItem, claim_due, record, wake_after_outage
from outbound.sinks import Attempt, Sink
from outbound.tables import DEAD, DELIVERED, PENDING

log = structlog.get_logger("outbound.delivery")


def backoff(attempt: int, config: FhirConfig, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: uniform in [0, min(max, base * 2^(n-1))]."""
    ceiling = min(config.backoff_max_s, config.backoff_base_s * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


@dataclass
class DeliveryPass:
    """One batch's outcomes. `done` counts delivered / retry / dead; `attempts` (sink,
    result, seconds) go to the metrics of whichever process owns the registry
    (`OutboundMetrics.observe`): the daemon delivers in a process of its own."""

    done: Counter[str] = field(default_factory=Counter)
    attempts: list[tuple[str, str, float]] = field(default_factory=list)


async def deliver_due(
    engine: Engine, sink: Sink, worker: str, config: FhirConfig, limit: int | None = None
) -> DeliveryPass:
    """Send one batch of due bundles (`limit`, default `delivery_batch`)."""
    items = await asyncio.to_thread(
        claim_due, engine, worker, limit or config.delivery_batch,
        timedelta(seconds=config.lease_s)
    )
    passed = DeliveryPass()
    if not items:
        return passed
    attempts = await asyncio.gather(*(_timed(sink, item) for item in items))
    await asyncio.to_thread(_record, engine, worker, items, [a for a, _ in attempts], config)
    for item, (attempt, seconds) in zip(items, attempts, strict=True):
        passed.attempts.append((item.sink, attempt.result, seconds))
        if attempt.result == "dead":
            log.error("bundle_dead_lettered", accession=item.accession, kind=item.kind,
                      version=item.version, status=attempt.status, attempts=item.attempts)
        elif attempt.result == "retry":
            log.warning("delivery_retry", accession=item.accession, status=attempt.status,
                        error=attempt.error if attempt.status is None else None,
                        attempts=item.attempts)
        passed.done[attempt.result] += 1
    return passed


async def _timed(sink: Sink, item: OutboxItem) -> tuple[Attempt, float]:
    started = time.perf_counter()
    attempt = await sink.send(item)
    return attempt, time.perf_counter() - started


def _record(engine: Engine, worker: str, items: list[OutboxItem], attempts: list[Attempt],
            config: FhirConfig) -> None:
    """Every outcome of one batch in one transaction; a delivery also ends an outage."""
    with engine.begin() as conn:
        if any(a.result == "delivered" for a in attempts):
            woken = wake_after_outage(conn, items[0].sink)
            if woken:
                log.info("delivery_target_back", sink=items[0].sink, count=woken)
        for item, attempt in zip(items, attempts, strict=True):
            if attempt.result == "delivered":
                record(conn, item.id, worker, state=DELIVERED, status=attempt.status)
            elif attempt.result == "dead":
                record(conn, item.id, worker, state=DEAD, status=attempt.status,
                       error=attempt.error, outcome=attempt.outcome)
            else:
                delay = attempt.retry_after
                if delay is None:
                    delay = backoff(item.attempts, config)
                record(conn, item.id, worker, state=PENDING, status=attempt.status,
                       error=attempt.error, outcome=attempt.outcome,
                       retry_in=min(delay, config.backoff_max_s))
