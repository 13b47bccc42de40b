"""Cost growth: does pairing and claiming slow down as the store fills? (indexes)

Fills a store in steps to 1k, 10k and 100k stored reports (P/F pairs of realistic ORU, kept
in the store as the daemon keeps them), and at each size measures, on a fresh batch of 1,000
messages: the processing rate (parse + insert reports + pairing lookups), the time to claim
and settle scoring batches of 16, and the database size per pair.

    python bench/cost_growth.py [--store-url URL] [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy import func, select, text

from _oru import message_pairs
from ingest import Incoming, MllpConfig, claim_pairs, peek, process_pending, settle
from ingest.queue import Settlement
from ingest.tables import pairs, reports
from radagree.store import make_engine, migrate

CONFIG = MllpConfig()


def store(engine, messages: list[bytes]) -> None:
    from ingest import store_messages

    now = datetime.now(UTC)
    for i in range(0, len(messages), 500):
        with engine.begin() as conn:
            store_messages(conn, [Incoming(m, *peek(m, CONFIG), received_at=now)
                                  for m in messages[i:i + 500]])


def drain(engine) -> None:
    while process_pending(engine, CONFIG, 200).messages:
        pass


def settle_all(engine) -> None:
    while batch := claim_pairs(engine, "bench", 500):
        with engine.begin() as conn:
            settle(conn, "bench", [Settlement(p.id, {"esas": 1.0}, None, 1) for p in batch], 3)


def size_bytes(engine, url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-url", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store_url or f"sqlite:///{Path(tmp) / 'radagree.db'}"
        engine = make_engine(url)
        migrate(engine)
        template = message_pairs(500, seed=11)
        counter = 0

        def batch_of(n_pairs: int) -> list[bytes]:
            nonlocal counter
            out = []
            for i in range(n_pairs):
                p, f = template[i % len(template)]
                acc = f"GROW{counter:09d}"
                counter += 1
                old = b"BENCH11" + str(i % len(template)).zfill(7).encode()
                out += [p.replace(old, acc.encode()), f.replace(old, acc.encode())]
            return out

        print("| stored reports | processing msg/s (1,000 msgs) | claim+settle ms per batch of "
              "16 | DB bytes per pair |")
        print("|---|---|---|---|")
        for target in args.sizes:
            with engine.connect() as conn:
                have = conn.execute(select(func.count()).select_from(reports)).scalar()
            fill = max(0, target - have - 1000) // 2
            if fill:
                store(engine, batch_of(fill))
                drain(engine)
                settle_all(engine)
            fresh = batch_of(500)
            store(engine, fresh)
            t = time.perf_counter()
            drain(engine)
            rate = len(fresh) / (time.perf_counter() - t)
            t = time.perf_counter()
            n = 0
            while batch := claim_pairs(engine, "bench", 16):
                with engine.begin() as conn:
                    settle(conn, "bench", [Settlement(p.id, {"esas": 1.0}, None, 1)
                                           for p in batch], 3)
                n += 1
            claim_ms = (time.perf_counter() - t) * 1000 / max(n, 1)
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(reports)).scalar()
                n_pairs = conn.execute(select(func.count()).select_from(pairs)).scalar()
            print(f"| {stored:,} | {rate:,.0f} | {claim_ms:.2f} | "
                  f"{size_bytes(engine, url) / max(n_pairs, 1):,.0f} |", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
