"""ACK latency and parse latency while the scoring worker waits on a slow LLM (issue #14).

`radagree serve` runs with `scoring.classifier = "llm"` against an OpenAI-protocol server that
takes `--llm-delay` seconds per answer (tests/support/openai_fake.py: a slow answer is a fault a
real vLLM cannot produce on demand), so the scoring worker spends its time inside LLM batches.
Senders stream realistic P/F pairs at a steady rate; from the senders' clocks the ACK latency,
from the store the parse latency of every message (stored -> its reports parsed:
`messages.processed_at - received_at`). Run once per validation mode: with `strict`, hl7apy
checks every message before its ACK.

Every figure is printed as measured and as a ratio to a same-run reference, fsync'd SQLite
commits/s on this disk (bench/_reference.py), so runs on a busier machine still compare.

    python bench/llm_load.py [--pairs 300] [--rate 4] [--llm-delay 3] [--validation lenient strict]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sqlalchemy import func, select

from _oru import message_pairs
from _reference import in_commits, sqlite_commits_per_s
from ingest.replay import MllpClient
from ingest.tables import messages
from ingest.tables import pairs as pairs_table
from ingest_load import free_port, fresh_store_url, start_serve
from radagree.store import make_engine
from support.openai_fake import FakeOpenAI, echo_valid


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def stream(port: int, items: list[tuple[bytes, bytes]], rate: float,
                 lat: list[float], refused: list[str]) -> None:
    """One sender: its pairs at `rate` pairs/s, each message waiting for its ACK."""
    client = await MllpClient.connect("127.0.0.1", port)
    start = time.perf_counter()
    for i, pair in enumerate(items):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        for message in pair:
            t0 = time.perf_counter()
            reply = await client.send(message, timeout=60)
            lat.append(time.perf_counter() - t0)
            if reply.code not in ("AA", "CA"):
                refused.append(reply.reason)
    await client.close()


def wait_ready(http: int, timeout: float = 300) -> None:
    """Until /readyz says the worker processes have loaded their models: messages stored
    before that would measure the start-up, not the load."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{http}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit("serve did not become ready")


def wait_parsed(engine, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(messages)
                                .where(messages.c.state == "received")).scalar()
            stored = conn.execute(select(func.count()).select_from(messages)).scalar()
        if stored >= total and left == 0:
            return
        time.sleep(0.2)
    sys.exit("messages were not all parsed in time")


def run(args: argparse.Namespace, validation: str, reference: float) -> dict[str, object]:
    items = message_pairs(args.pairs, seed=int(time.time()) % 1000, wrap=150)
    delay = args.llm_delay

    def slow(body: dict, _n: int) -> tuple:
        time.sleep(delay)
        return echo_valid(body)

    llm = FakeOpenAI(slow)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_store_url(args.store_url, folder)
        mllp, http = free_port(), free_port()
        os.environ.update({
            "RADAGREE_SCORING__CLASSIFIER": "llm", "RADAGREE_LLM__BASE_URL": llm.base_url,
            "RADAGREE_LLM__MODEL": "fake", "RADAGREE_LLM__TIMEOUT_S": str(delay * 4 + 10),
            "RADAGREE_MLLP__VALIDATION": validation,
        })
        proc = start_serve(folder, url, mllp, http)
        engine = make_engine(url)
        lat: list[float] = []
        refused: list[str] = []
        try:
            wait_ready(http)
            per = [items[i :: args.connections] for i in range(args.connections)]
            t0 = time.perf_counter()

            async def senders() -> None:
                await asyncio.gather(*(stream(mllp, part, args.rate / args.connections, lat,
                                              refused) for part in per))

            asyncio.run(senders())
            wall = time.perf_counter() - t0
            wait_parsed(engine, 2 * args.pairs)
            with engine.connect() as conn:
                rows = conn.execute(select(messages.c.received_at, messages.c.processed_at)
                                    .where(messages.c.processed_at.is_not(None))).all()
                scored = conn.execute(select(func.count()).select_from(pairs_table)
                                      .where(pairs_table.c.state == "scored")).scalar()
        finally:
            proc.terminate()
            proc.wait(60)
            engine.dispose()
            llm.close()
    parse = [(r.processed_at - r.received_at).total_seconds() for r in rows]
    figures = {
        "ack_p50": percentile(lat, 0.5), "ack_p99": percentile(lat, 0.99),
        "parse_p50": percentile(parse, 0.5), "parse_p99": percentile(parse, 0.99),
        "parse_max": max(parse),
    }
    out: dict[str, object] = {
        "validation": validation, "pairs": args.pairs, "rate_pairs_s": args.rate,
        "llm_delay_s": delay, "messages_acked": len(lat), "refused": len(refused),
        "refusals": sorted(set(refused))[:3], "stream_s": round(wall, 1),
        "llm_requests": len(llm.requests), "pairs_scored_during_run": scored,
    }
    for name, seconds in figures.items():
        out[f"{name}_ms"] = round(seconds * 1000, 1)
        out[f"{name}_in_commits"] = round(in_commits(seconds, reference), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=4.0, help="pairs per second, in all")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--llm-delay", type=float, default=3.0, help="seconds per LLM answer")
    parser.add_argument("--validation", nargs="+", default=["lenient", "strict"])
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    reference = sqlite_commits_per_s()
    print(f"reference: {reference:,.0f} fsync'd SQLite commits/s "
          f"(one commit = {1000 / reference:.2f} ms)", flush=True)
    for validation in args.validation:
        print(json.dumps(run(args, validation, reference)), flush=True)
    print(f"reference after: {sqlite_commits_per_s():,.0f} fsync'd SQLite commits/s", flush=True)


if __name__ == "__main__":
    main()
