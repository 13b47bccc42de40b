"""Delivery of the outbox, in a process of its own.

In the listener's process the delivery loop (reading 20 KB bundles from the store, JSON in
and out, file or HTTP writes, one thread hop per step) took the GIL often enough to lift the
ACK p99 from 16 ms to 36 ms (bench/ingest_load.py, 2 cores). Here it runs on an event loop
of its own that lives as long as the process, so the FHIR client's connection pool and OAuth2
token survive from batch to batch; each batch returns a picklable `DeliveryPass` and the
daemon keeps the metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import outbound
from outbound import DeliveryPass, FhirConfig

_loop: asyncio.AbstractEventLoop | None = None
_engine: Any = None
_sink: outbound.Sink | None = None
_fhir: FhirConfig | None = None


def init(store_url: str, fhir: FhirConfig, logging_config: Any = None, nice: int = 0,
         parent: int | None = None) -> None:
    """Process initializer: one engine, one sink, one event loop; behind the listener for
    the CPU, as the scoring workers are (`workers.nice`)."""
    global _loop, _engine, _sink, _fhir
    from radagree.workers import setup_child

    _engine = setup_child(store_url, logging_config, nice, parent)
    _fhir = fhir
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    _sink = outbound.make_sink(fhir)


def deliver(worker: str, limit: int) -> DeliveryPass:
    """One batch: claim what is due, send it, record every outcome."""
    assert _loop is not None and _sink is not None and _fhir is not None
    return _loop.run_until_complete(outbound.deliver_due(_engine, _sink, worker, _fhir, limit))


def ping() -> bool:
    """Returns once the initializer has run (the daemon starts this process eagerly)."""
    return _sink is not None
