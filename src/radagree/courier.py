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


class Courier:
    """Sends due bundles through one sink, on one event loop."""

    def __init__(self, engine: Any, sink: outbound.Sink, fhir: FhirConfig,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.sink = sink
        self.fhir = fhir
        self.loop = loop

    @classmethod
    def open(cls, store_url: str, fhir: FhirConfig) -> Courier:
        """The courier of a delivery process: one engine, one event loop, one sink (made on
        that loop, so its HTTP client belongs to it)."""
        from radagree.store import make_engine

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return cls(make_engine(store_url), outbound.make_sink(fhir), fhir, loop)

    def deliver(self, worker: str, limit: int) -> DeliveryPass:
        """One batch: claim what is due, send it, record every outcome."""
        return self.loop.run_until_complete(
            outbound.deliver_due(self.engine, self.sink, worker, self.fhir, limit))
