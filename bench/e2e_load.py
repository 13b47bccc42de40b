"""End to end under load: N preliminary/final pairs (realistic 3-5 KB ORU, IU dev text) over
16 MLLP connections into `radagree serve` with defaults; the FHIR bundles land in fhir-out/.

Reports messages/s accepted, ACK p50/p99, pairs scored per second, final-ACK-to-FHIR-written
latency p50/p99 (the time from the ACK of a pair's final to its bundle file appearing), and
peak RSS of the listener and the worker process. Then the run's whole log and a /metrics
scrape are scanned for PHI: every patient id, name and address sent, the accession numbers and
a phrase of every report text must be absent.

By default the senders push as fast as the ACKs allow (the arrival rate then exceeds what one
worker can score on two cores, and the e2e latency measures the backlog). `--rate R` paces
the arrivals at R pairs/s (P then F of each pair), the way a RIS feed arrives.

    python bench/e2e_load.py [--pairs 10000] [--rate 50] [--store-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _oru import BOILERPLATE as RIS_BOILERPLATE
from _oru import message_pairs
from ingest.replay import MllpClient
from ingest_load import child_rss_mb, free_port, fresh_store_url, start_serve

BOILERPLATE = ("EXAMINATION", *(line[:20] for line in RIS_BOILERPLATE))


async def sender(port: int, items: list[tuple[str, bytes, float]], lat: list[float],
                 final_acked: dict[str, float], start: float) -> None:
    client = await MllpClient.connect("127.0.0.1", port)
    for key, message, due in items:
        if due:
            await asyncio.sleep(max(0.0, start + due - time.perf_counter()))
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
    parser.add_argument("--rate", type=float, default=0.0,
                        help="pairs per second (0: as fast as the ACKs allow)")
    args = parser.parse_args()
    seed = int(time.time()) % 1000
    pairs = message_pairs(args.pairs, seed=seed)
    items = []
    for i, (p, f) in enumerate(pairs):
        acc = f"BENCH{seed}{i:07d}"
        due = i / args.rate if args.rate else 0.0
        items += [(acc + "P", p, due), (acc + "F", f, due)]
    # each connection carries whole pairs, P before F, as a RIS feed does
    per_conn = [[it for j, it in enumerate(items) if (j // 2) % args.connections == k]
                for k in range(args.connections)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_store_url(args.store_url, folder)
        mllp, http = free_port(), free_port()
        proc = start_serve(folder, url, mllp, http)
        lat: list[float] = []
        final_acked: dict[str, float] = {}
        try:
            started = time.perf_counter()

            async def run() -> None:
                await asyncio.gather(*(sender(mllp, part, lat, final_acked, started)
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
            listener_mb, children_mb = child_rss_mb(proc.pid)
            rss = (listener_mb, sum(children_mb))
            metrics = httpx.get(f"http://127.0.0.1:{http}/metrics", timeout=10).text
        finally:
            proc.terminate()
            proc.wait(60)
        leaks = phi_leaks(pairs, (folder / "serve.log").read_text() + metrics)
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
    print(f"peak RSS: listener {rss[0]:.0f} MB, worker processes {rss[1]:.0f} MB "
          f"({', '.join(f'{mb:.0f}' for mb in children_mb)}; the largest is the scoring "
          f"worker), total {rss[0] + rss[1]:.0f} MB")
    within = server_share_within(metrics, "0.025")
    print(f"server side (radagree_ack_latency_seconds, frame end to ACK written): "
          f"{within:.2%} of ACKs within 25 ms")
    print(f"PHI scan of the log and /metrics: {leaks[0]:,} values looked for, "
          f"{len(leaks[1])} found{': ' + ', '.join(sorted(leaks[1])[:5]) if leaks[1] else ''}")


def server_share_within(metrics: str, le: str) -> float:
    """Share of the daemon's own ACK latency observations at or below the bucket `le`."""
    def value(name: str) -> float:
        line = next(x for x in metrics.splitlines() if x.startswith(name))
        return float(line.rsplit(" ", 1)[1])
    return (value(f'radagree_ack_latency_seconds_bucket{{le="{le}"}}')
            / value("radagree_ack_latency_seconds_count"))


def phi_leaks(pairs: list[tuple[bytes, bytes]], text: str) -> tuple[int, set[str]]:
    """Every identifying value the messages carried, and those of them found in `text`.

    Identifiers and names are looked up among the words of `text`; report text as every
    40-character phrase of it (a set lookup per position: a substring search per secret
    would take hours on a 10,000-pair log)."""
    words: set[str] = set()
    phrases: set[str] = set()
    for message in (m for pair in pairs for m in pair):
        segments = [s.split("|") for s in message.decode().split("\r") if s]
        pid = next(s for s in segments if s[0] == "PID")
        obr = next(s for s in segments if s[0] == "OBR")
        words.update(x.split("^")[0] for x in pid[3].split("~"))         # MRN, SSN
        words.update(pid[5].split("^")[:2])                              # family, given
        words.update((obr[18], obr[3].split("^")[0]))                    # accession numbers
        # doctors' given names (their family names here are role words such as "Resident",
        # which the process metrics' own help text contains)
        words.update((obr[16].split("^")[2], obr[32].split("&")[2], obr[33].split("&")[2]))
        phrases.add(pid[11].split("^")[0][:40])                          # street
        # a phrase of each line of report text (the shared boilerplate is not PHI)
        phrases.update(s[5][:40] for s in segments if s[0] == "OBX" and len(s[5]) >= 40
                       and not s[5].startswith(BOILERPLATE))
    found = words & set(re.findall(r"\w+", text))
    found |= {text[i:i + 40] for i in range(len(text) - 39) if text[i:i + 40] in phrases}
    short = {p for p in phrases if len(p) < 40 and p in text}
    return len(words) + len(phrases), found | short

if __name__ == "__main__":
    main()
