"""PostgreSQL restarted under daemon load (issue #7).

A PostgreSQL server of its own (Debian's binaries, `.ci/postgres.sh`; needs root) backs one
`radagree serve` (folder sink). 8 senders stream P/F pairs at `--rate` pairs/s; a third of
the way in the server is stopped (`pg_ctl stop -m immediate`: a crash, no clean shutdown) for
`--down` seconds, then started again. Senders resend whatever was not answered AA, as an
integration engine does. Reported: every answer while the store was down (AA would be a lie:
it must be AE), how long after the store's return the first AA came, that `serve` was never
restarted, and at the end every ACKed message stored, every pair scored once and one bundle
file per accession.

    python bench/store_outage.py [--pairs 3000] [--rate 50] [--down 15]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy import func, select

from _oru import message_pairs
from ingest.replay import MllpClient
from ingest_load import free_port, start_serve, store_counts
from outbound.tables import outbox
from radagree.store import make_engine

ROOT = Path(__file__).resolve().parents[1]


class Postgres:
    """A throw-away PostgreSQL cluster that can be crashed and started again on its port."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="radagree-pg-"))
        self.folder.chmod(0o755)  # the server runs as Debian's `postgres` user
        self.port = free_port()
        self.script = str(ROOT / ".ci" / "postgres.sh")
        out = subprocess.run(["bash", self.script, "start", str(self.folder), str(self.port)],
                             check=True, capture_output=True, text=True).stdout
        self.url = out.strip().split("=", 1)[1]
        self.pg_ctl = str(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1])

    def ctl(self, action: str) -> None:
        extra = ["-m", "immediate"] if action == "stop" else [
            "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
            "-l", str(self.folder / "server.log")]
        subprocess.run(["runuser", "-u", "postgres", "--", self.pg_ctl, "-D",
                        str(self.folder / "data"), "-w", action, *extra], check=True,
                       capture_output=True)

    def remove(self) -> None:
        subprocess.run(["bash", self.script, "stop", str(self.folder)], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


async def stream(port: int, items: list[tuple[str, bytes, float]], start: float,
                 answers: list[tuple[float, float, str]], acked: set[str]) -> None:
    """Send in order; resend on AE or a lost connection until AA."""
    client = None
    for key, message, due in items:
        await asyncio.sleep(max(0.0, start + due - time.monotonic()))
        while key not in acked:
            try:
                if client is None:
                    client = await MllpClient.connect("127.0.0.1", port)
                sent = time.monotonic() - start
                code = (await client.send(message, timeout=30)).code
                answers.append((sent, time.monotonic() - start, code))
                if code == "AA":
                    acked.add(key)
                else:
                    await asyncio.sleep(0.5)
            except (ConnectionError, asyncio.IncompleteReadError, OSError, TimeoutError):
                client = None
                await asyncio.sleep(0.5)
    if client is not None:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0, help="pairs per second")
    parser.add_argument("--down", type=float, default=15.0, help="seconds the store is down")
    args = parser.parse_args()
    seed = int(time.time()) % 1000
    items = []
    for i, (p, f) in enumerate(message_pairs(args.pairs, seed=seed)):
        items += [(f"{i}P", p, i / args.rate), (f"{i}F", f, i / args.rate)]
    parts = [[it for j, it in enumerate(items) if (j // 2) % 8 == k] for k in range(8)]
    pg = Postgres()
    marks: dict[str, float] = {}
    answers: list[tuple[float, float, str]] = []
    acked: set[str] = set()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            mllp, http = free_port(), free_port()
            proc = start_serve(folder, pg.url, mllp, http)
            start = time.monotonic()

            def outage() -> None:
                time.sleep(args.pairs / args.rate / 3)
                marks["stopping"] = time.monotonic() - start
                pg.ctl("stop")
                marks["down"] = time.monotonic() - start
                time.sleep(args.down)
                marks["starting"] = time.monotonic() - start
                pg.ctl("start")
                marks["up"] = time.monotonic() - start

            fault = threading.Thread(target=outage, daemon=True)
            fault.start()

            async def run() -> None:
                await asyncio.gather(*(stream(mllp, part, start, answers, acked)
                                       for part in parts))

            asyncio.run(run())
            fault.join()
            marks["stream_done"] = time.monotonic() - start
            engine = make_engine(pg.url)
            for _ in range(1200):
                with engine.connect() as conn:
                    delivered = conn.execute(select(func.count()).select_from(outbox).where(
                        outbox.c.state == "delivered")).scalar() or 0
                if delivered >= args.pairs:
                    break
                time.sleep(0.5)
            marks["all_delivered"] = time.monotonic() - start
            alive = proc.poll() is None
            stored, states, rows = store_counts(pg.url)
            engine.dispose()
            proc.terminate()
            proc.wait(60)
            files = Counter(p.name.split("-")[2] for p in (folder / "fhir-out").glob("*.json"))
            log = (folder / "serve.log").read_text()
    finally:
        pg.remove()
    # answered while the store was certainly down: sent after it stopped, answered before
    # it was being started again
    during = Counter(code for sent, got, code in answers
                     if marks["down"] <= sent and got <= marks["starting"])
    first_aa = min((got for sent, got, code in answers
                    if code == "AA" and sent >= marks["down"]), default=None)
    per_acc = [files[f"BENCH{seed}{i:07d}"] for i in range(args.pairs)]
    print(f"PostgreSQL crashed (immediate stop) at {marks['down']:.1f} s for {args.down:.0f} s, "
          f"back at {marks['up']:.1f} s; {args.pairs} pairs at {args.rate:.0f} pairs/s")
    print(f"answers while the store was down: {dict(during)} (AA would be a lie)")
    if first_aa is not None:
        print(f"first AA {first_aa - marks['up']:.1f} s after the store was back; serve never "
              f"restarted: {alive}; store errors logged: {log.count('store_unavailable')}")
    print(f"messages ACKed {len(acked)} / stored {stored}; pairs {states}; outbox {rows}; "
          f"all delivered {marks['all_delivered'] - marks['up']:.0f} s after the store was back")
    print(f"bundle files: {sum(per_acc)} (exactly one: {sum(n == 1 for n in per_acc)}, "
          f"none: {sum(n == 0 for n in per_acc)}, more: {sum(n > 1 for n in per_acc)})")


if __name__ == "__main__":
    main()
