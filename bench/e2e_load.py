"""End to end under load: N preliminary/final pairs (realistic 3-5 KB ORU, IU dev text) over
16 MLLP connections into `radagree serve` with defaults; the FHIR bundles land in fhir-out/.

Reports messages/s accepted, ACK p50/p99, pairs scored per second, final-ACK-to-FHIR-written
latency p50/p99 (the time from the ACK of a pair's final to its bundle file appearing), and
peak RSS of the listener and the worker process.

    python bench/e2e_load.py [--pairs 10000] [--store-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _oru import message_pairs
from ingest.replay import MllpClient
from ingest_load import free_port, peak_rss_mb, start_serve


async def sender(port: int, items: list[tuple[str, bytes]], lat: list[float],
                 final_acked: dict[str, float]) -> None:
    client = await MllpClient.connect("127.0.0.1", port)
    for key, message in items:
        t0 = time.perf_counter()
        reply = await client.send(message)
        now = time.perf_counter()
        lat.append(now - t0)
        assert reply.code == "AA", reply.reason
        if key.endswith("F"):
            final_acked[key[:-1]] = time.time()
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--store-url", default=None)
    args = parser.parse_args()
    seed = int(time.time()) % 1000
    pairs = message_pairs(args.pairs, seed=seed)
    items = []
    for i, (p, f) in enumerate(pairs):
        acc = f"BENCH{seed}{i:07d}"
        items += [(acc + "P", p), (acc + "F", f)]
    # each connection carries whole pairs, P before F, as a RIS feed does
    per_conn = [[it for j, it in enumerate(items) if (j // 2) % args.connections == k]
                for k in range(args.connections)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.store_url or f"sqlite:///{folder / 'radagree.db'}"
        mllp, http = free_port(), free_port()
        proc = start_serve(folder, url, mllp, http)
        lat: list[float] = []
        final_acked: dict[str, float] = {}
        try:
            started = time.perf_counter()

            async def run() -> None:
                await asyncio.gather(*(sender(mllp, part, lat, final_acked)
                                       for part in per_conn))

            asyncio.run(run())
            ingest_s = time.perf_counter() - started
            out = folder / "fhir-out"
            written: dict[str, float] = {}
            deadline = time.monotonic() + 3600
            while len(written) < args.pairs and time.monotonic() < deadline:
                for path in out.glob("*.json") if out.is_dir() else []:
                    acc = path.name.split("-")[2]
                    if acc not in written:
                        written[acc] = path.stat().st_mtime
                time.sleep(0.2)
            total_s = time.perf_counter() - started
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)
    lat.sort()
    n = len(lat)
    e2e = sorted(written[a] - final_acked[a] for a in written if a in final_acked)
    store = "PostgreSQL" if url.startswith("postgres") else "SQLite (WAL, synchronous=FULL)"
    print(f"store: {store}; {args.pairs} pairs = {n} messages over {args.connections} "
          "connections")
    print(f"accepted: {n / ingest_s:,.0f} msg/s; ACK p50 {lat[n // 2] * 1000:.1f} ms, "
          f"p99 {lat[int(n * 0.99)] * 1000:.1f} ms")
    print(f"scored and written: {len(written)} bundles; {len(written) / total_s:.0f} pairs/s "
          f"over the whole run ({total_s:.0f} s)")
    if e2e:
        print(f"final ACK -> FHIR bundle written: p50 {statistics.median(e2e):.2f} s, "
              f"p99 {e2e[int(len(e2e) * 0.99)]:.2f} s")
    print(f"peak RSS: listener {rss[0]:.0f} MB, worker {rss[1]:.0f} MB, "
          f"total {rss[0] + rss[1]:.0f} MB")


if __name__ == "__main__":
    main()
