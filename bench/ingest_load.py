"""Ingest load: N MLLP connections x M realistic ORU messages into a real `radagree serve`.

Reports accepted messages per second and the ACK latency each sender saw (p50/p99), plus the
server's peak RSS. The daemon runs with its defaults (so it also parses, pairs and scores in
the background, as in production). Targets on a 2-core machine, SQLite: >= 2,000 msg/s over
16 connections, p99 ACK <= 25 ms; with whole-body scoring busy in the background, a p99
within 2x of the same daemon's p99 without scoring (issue #19).

One run measures the daemon twice, side by side: first with preliminaries only (parsed and
stored, nothing to pair, so no scoring), then with preliminary + final pairs of other
accessions (each pair scored in the background while the ACKs are timed). Both phases send
the same number of messages of the same sizes over the same connections. The same-run
reference (fsync'd SQLite commits/s, `_reference.py`) is measured before and after, and the
p99s are printed in commit times too, so runs on busier or quieter machines compare.

    python bench/ingest_load.py                       # SQLite in a temp folder
    python bench/ingest_load.py --store-url postgresql+psycopg://user@host:5432/db
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _oru import message_pairs
from _reference import in_commits, sqlite_commits_per_s
from ingest.replay import MllpClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_store_url(url: str | None, folder: Path) -> str:
    """A SQLite file in `folder` by default; on PostgreSQL a new, empty database on the given
    server, so counts never include an earlier run's rows."""
    if not url:
        return f"sqlite:///{folder / 'radagree.db'}"
    if not url.startswith("postgres"):
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def start_serve(folder: Path, store_url: str, mllp: int, http: int) -> subprocess.Popen:
    env = os.environ | {"RADAGREE_STORE__URL": store_url, "RADAGREE_MLLP__PORT": str(mllp),
                        "RADAGREE_HTTP__PORT": str(http)}
    proc = subprocess.Popen([sys.executable, "-m", "radagree.cli", "serve"], cwd=folder,
                            env=env, stdout=(folder / "serve.log").open("wb"),
                            stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", mllp), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit((folder / "serve.log").read_text())
            time.sleep(0.2)
    proc.kill()
    sys.exit("serve did not start")


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """Peak RSS of the listener process and the sum over its worker processes."""
    listener, children = child_rss_mb(pid)
    return listener, sum(children)


def child_rss_mb(pid: int) -> tuple[float, list[float]]:
    """Peak RSS of the listener and of each child (parse, scoring, delivery processes):
    the largest child is the scoring worker, which holds the models."""

    def hwm(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return hwm(pid), sorted((hwm(int(c)) for c in children), reverse=True)


def store_counts(url: str) -> tuple[int, dict[str, int], dict[str, int]]:
    """Messages stored, pairs by state, outbox rows by state."""
    from sqlalchemy import func, select

    from ingest.tables import messages, pairs
    from outbound.tables import outbox
    from radagree.store import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(messages)).scalar() or 0
        states = dict(conn.execute(select(pairs.c.state, func.count())
                                   .group_by(pairs.c.state)).all())
        rows = dict(conn.execute(select(outbox.c.state, func.count())
                                 .group_by(outbox.c.state)).all())
    engine.dispose()
    return stored, states, rows


def drain(url: str, timeout: float = 600) -> tuple[float, int]:
    """Seconds until every stored message is parsed and every pair scored; pairs scored."""
    from sqlalchemy import func, select

    from ingest.tables import messages, pairs
    from radagree.store import make_engine

    engine = make_engine(url)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        with engine.connect() as conn:
            unparsed = conn.execute(select(func.count()).select_from(messages)
                                    .where(messages.c.state == "received")).scalar()
            open_pairs = conn.execute(select(func.count()).select_from(pairs)
                                      .where(pairs.c.state.in_(("ready", "scoring")))).scalar()
            scored = conn.execute(select(func.count()).select_from(pairs)
                                  .where(pairs.c.state == "scored")).scalar()
        if unparsed == 0 and open_pairs == 0:
            break
        time.sleep(0.25)
    engine.dispose()
    return time.perf_counter() - t0, scored


async def sender(port: int, messages: list[bytes], latencies: list[float]) -> int:
    client = await MllpClient.connect("127.0.0.1", port)
    refused = 0
    for message in messages:
        t0 = time.perf_counter()
        reply = await client.send(message)
        latencies.append(time.perf_counter() - t0)
        refused += reply.code not in ("AA", "CA")
    await client.close()
    return refused


async def load(port: int, per_connection: list[list[bytes]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    t0 = time.perf_counter()
    refused = await asyncio.gather(*(sender(port, m, latencies) for m in per_connection))
    return time.perf_counter() - t0, latencies, sum(refused)


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p99, max in seconds."""
    ordered = sorted(latencies)
    n = len(ordered)
    return ordered[n // 2], ordered[int(n * 0.99)], ordered[-1]


def measure(port: int, messages: list[bytes], connections: int
            ) -> tuple[float, list[float], int]:
    """Warm-up (first 20 of each connection), then the timed load."""
    per_connection = [messages[i::connections] for i in range(connections)]
    asyncio.run(load(port, [m[:20] for m in per_connection]))
    return asyncio.run(load(port, [m[20:] for m in per_connection]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--messages", type=int, default=1000, help="per connection and phase")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()

    total = args.connections * args.messages
    seed = int(time.time()) % 1000
    # Phase 1: preliminaries of their own accessions (nothing pairs). Phase 2: whole pairs.
    quiet = [p for p, _ in message_pairs(total, seed=seed)]
    busy = [m for pair in message_pairs((total + 1) // 2, seed=seed + 1) for m in pair][:total]
    sizes = [len(m) for m in quiet + busy]
    reference = sqlite_commits_per_s()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_store_url(args.store_url, folder)
        mllp, http = free_port(), free_port()
        proc = start_serve(folder, url, mllp, http)
        try:
            quiet_wall, quiet_lat, quiet_refused = measure(mllp, quiet, args.connections)
            drain(url)  # the preliminaries parsed before the scored phase begins
            started = time.perf_counter()
            wall, lat, refused = measure(mllp, busy, args.connections)
            scored_meanwhile = store_counts(url)[1].get("scored", 0)
            after, scored = drain(url)
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    reference_after = sqlite_commits_per_s()
    store = "PostgreSQL" if url.startswith("postgres") else "SQLite (WAL, synchronous=FULL)"
    n = len(lat)
    print(f"store: {store}; {args.connections} connections; {n} messages measured per phase "
          f"(sizes {min(sizes)}-{max(sizes)} B, mean {statistics.mean(sizes):.0f} B)")
    print(f"reference: {reference:,.0f} fsync'd SQLite commits/s before, "
          f"{reference_after:,.0f} after")
    print(f"{'phase':<34}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'p99 (commits)':>15}")
    for name, phase_wall, phase_lat, phase_refused in (
            ("without scoring (P only)", quiet_wall, quiet_lat, quiet_refused),
            ("with scoring (P+F pairs)", wall, lat, refused)):
        p50, p99, top = percentiles(phase_lat)
        print(f"{name:<34}{len(phase_lat) / phase_wall:>8,.0f}{p50 * 1000:>9.1f}"
              f"{p99 * 1000:>9.1f}{top * 1000:>9.1f}{in_commits(p99, reference):>15.1f}"
              + (f"  (refused: {phase_refused})" if phase_refused else ""))
    ratio = percentiles(lat)[1] / percentiles(quiet_lat)[1]
    print(f"ACK p99 with scoring / without: {ratio:.2f}x (target <= 2x)")
    print(f"server peak RSS: listener {rss[0]:.0f} MB, worker processes {rss[1]:.0f} MB")
    print(f"scored while the scored phase's ACKs were timed: {scored_meanwhile} pairs")
    print(f"background: all parsed, paired and scored {after:.1f} s after the last ACK; "
          f"{scored} pairs scored, {scored / (time.perf_counter() - started):.0f} pairs/s "
          f"over the scored phase")


if __name__ == "__main__":
    main()
