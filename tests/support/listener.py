"""An in-process MLLP listener on a free port for the duration of one coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from prometheus_client import CollectorRegistry

from ingest import IngestMetrics, MessageStore, MllpConfig, MllpServer


def run_listener(
    engine: Any, body: Callable[[MllpServer], Awaitable[None]], *,
    registry: CollectorRegistry | None = None, validation_pool: Executor | None = None,
    **config: Any,
) -> None:
    """Start store writer and listener, run `body(server)`, always stop both. Its metrics go
    to `registry` (a test's own) when one is given."""

    async def main() -> None:
        store = MessageStore(engine, batch=64)
        store.start()
        server = MllpServer(MllpConfig(host="127.0.0.1", port=0, **config), store,
                            metrics=IngestMetrics(registry), validation_pool=validation_pool)
        await server.start()
        try:
            await body(server)
        finally:
            await server.stop(2.0)
            await store.stop()

    asyncio.run(main())
