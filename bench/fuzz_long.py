"""The long fuzz run (issue #7); CI runs the short one (tests/hostile/test_fuzz.py).

1. In-process, hypothesis: `--examples` generated messages (random bytes and mutated ORUs)
   through the MSH peek, the ACK builder and the full parser (`support.fuzz.check_message`).
2. Over TCP against a real `radagree serve` (defaults, SQLite; its worker process parses
   every stored frame too): `--frames` generated frames on 8 connections. Every frame is
   answered with a valid ACK code or its connection closed cleanly; afterwards the daemon still
   answers AA to a well-formed ORU, every stored message has been parsed or failed by the
   worker (none stuck), and the peak RSS of listener and worker is reported.

    python bench/fuzz_long.py [--examples 50000] [--frames 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ingest import MllpConfig
from ingest.replay import MllpClient
from ingest.tables import messages
from ingest_load import free_port, peak_rss_mb, start_serve
from radagree.store import make_engine
from support.fuzz import SEEDS, check_message, fire, frames, mutate
from support.hl7build import oru

CONFIG = MllpConfig(max_message_bytes=64 * 1024)


def in_process(examples: int) -> float:
    started = time.perf_counter()

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(
        st.binary(max_size=4096),
        st.builds(mutate, st.sampled_from(SEEDS), st.randoms(use_true_random=False)),
    ))
    def prop(data: bytes) -> None:
        check_message(data, CONFIG)

    prop()
    return time.perf_counter() - started


def over_tcp(n: int, seed: int) -> None:
    wire = frames(random.Random(seed), n)
    tally = {"answered": 0, "closed": 0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'radagree.db'}"
        mllp, http = free_port(), free_port()
        proc = start_serve(folder, url, mllp, http)
        try:
            started = time.perf_counter()

            async def run() -> str:
                await asyncio.gather(*(fire(mllp, wire[i::8], tally) for i in range(8)))
                client = await MllpClient.connect("127.0.0.1", mllp)
                code = (await client.send(oru("AFTER", "F", "Still serving."))).code
                await client.close()
                return code

            after = asyncio.run(run())
            sent_s = time.perf_counter() - started
            engine = make_engine(url)
            for _ in range(600):
                with engine.connect() as conn:
                    states = dict(conn.execute(select(messages.c.state, func.count())
                                               .group_by(messages.c.state)).all())
                if not states.get("received"):
                    break
                time.sleep(1)
            rss = peak_rss_mb(proc.pid)
            alive = proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(60)
    assert tally["answered"] + tally["closed"] == n, tally
    print(f"over TCP: {n:,} frames in {sent_s:.0f} s ({n / sent_s:,.0f}/s): "
          f"{tally['answered']:,} answered with a valid ACK code, {tally['closed']:,} "
          f"connections closed cleanly, 0 unanswered")
    print(f"afterwards: a well-formed ORU -> {after}; serve alive: {alive}; stored messages by "
          f"state: {states}")
    print(f"peak RSS: listener {rss[0]:.0f} MB, worker {rss[1]:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50_000)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    seconds = in_process(args.examples)
    print(f"in-process: {args.examples:,} hypothesis examples through peek, ACK and parser "
          f"in {seconds:.0f} s, 0 failures")
    over_tcp(args.frames, args.seed)
    print(f"seed {args.seed}")


if __name__ == "__main__":
    main()
