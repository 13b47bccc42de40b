"""Resource limits under hostile senders: a thousand idle connections, slow-loris, a sender
that never reads its ACKs. Memory stays bounded and a well-behaved sender is unaffected."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from pathlib import Path

import pytest

from ingest import MllpServer
from ingest.framing import frame
from ingest.replay import MllpClient
from support.hl7build import oru
from support.listener import run_listener

pytestmark = pytest.mark.timeout(180)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def test_a_thousand_idle_connections(engine_sqlite):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    async def body(server: MllpServer) -> None:
        legit = await MllpClient.connect("127.0.0.1", server.port)
        assert (await legit.send(oru("L1", "F", "x"))).code == "AA"
        before = rss_mb()
        idle = []
        for _ in range(1000):
            with contextlib.suppress(OSError):
                idle.append(await asyncio.open_connection("127.0.0.1", server.port))
        await asyncio.sleep(0.5)
        # the established sender is unaffected by the flood
        assert (await legit.send(oru("L2", "F", "y"))).code == "AA"
        assert rss_mb() - before < 60, "1,000 connections must not cost unbounded memory"
        # beyond the cap the listener closes at once; the rest go after the idle timeout
        closed = 0
        for reader, _ in idle:
            with contextlib.suppress(ConnectionError):
                if await asyncio.wait_for(reader.read(), 5) == b"":
                    closed += 1
        assert closed >= 1000 - server.config.max_connections
        for _, writer in idle:
            await close(writer)
        newcomer = await MllpClient.connect("127.0.0.1", server.port)
        assert (await newcomer.send(oru("L3", "F", "z"))).code == "AA"
        await newcomer.close()
        await legit.close()

    try:
        run_listener(engine_sqlite, body, max_connections=64, idle_timeout_s=2)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_slow_loris_is_cut_off_and_others_carry_on(engine_sqlite):
    async def body(server: MllpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        message = frame(oru("S1", "F", "slow"))

        async def trickle() -> float:
            started = time.monotonic()
            with contextlib.suppress(ConnectionError):
                for byte in message:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    if reader.at_eof():
                        break
            return time.monotonic() - started

        task = asyncio.create_task(trickle())
        client = await MllpClient.connect("127.0.0.1", server.port)
        for n in range(20):  # a normal sender meanwhile
            assert (await client.send(oru(f"N{n}", "F", "fast"))).code == "AA"
        await client.close()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # cut off: no ACK
        await asyncio.wait_for(task, 30)
        await close(writer)

    run_listener(engine_sqlite, body, idle_timeout_s=1)


def test_sender_that_never_reads_its_acks(engine_sqlite):
    async def body(server: MllpServer) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        before = rss_mb()

        async def flood() -> None:
            with contextlib.suppress(ConnectionError):
                for n in range(3000):
                    writer.write(frame(oru(f"D{n}", "P", "never reads")))
                    await asyncio.wait_for(writer.drain(), 5)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(flood(), 20)  # blocks once both socket buffers are full
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("OK1", "F", "unaffected"), timeout=5)).code == "AA"
        await client.close()
        assert rss_mb() - before < 100
        await close(writer)

    run_listener(engine_sqlite, body, idle_timeout_s=30)
