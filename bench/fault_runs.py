"""Faults under load (issue #7): `radagree serve` is killed with SIGKILL at random moments
(default 5 times) while senders stream P/F pairs, and the FHIR server (Medplum, the tests'
real server) is frozen for the middle third of the stream. Senders resend whatever was not
acknowledged, as an integration engine does. At the end: every ACKed message is stored,
every pair scored once, no dead letter, and the FHIR server holds exactly one Observation per
accession; reported: how long after the FHIR server came back everything was delivered.

`--rate` paces the stream (pairs/s; 0 = as fast as the ACKs allow) so the freeze is a real
stretch of time rather than the few seconds a 2,000 msg/s burst takes.

    python bench/fault_runs.py [--pairs 1000] [--kills 5] [--rate 50] [--store-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sqlalchemy import func, select

from _oru import message_pairs
from ingest.replay import MllpClient
from ingest.tables import messages, pairs
from ingest_load import free_port, fresh_store_url, start_serve
from outbound.tables import outbox
from radagree.store import make_engine
from support.fhir import FhirTestServer

SYSTEM = "https://radagree.org/fhir/sid/report-agreement/observation"


async def stream(port: int, items: list[tuple[str, bytes, float]], acked: set[str],
                 start: float) -> None:
    todo = [it for it in items if it[0] not in acked]
    try:
        client = await MllpClient.connect("127.0.0.1", port)
        for key, message, due in todo:
            await asyncio.sleep(max(0.0, start + due - time.monotonic()))
            if (await client.send(message, timeout=10)).code == "AA":
                acked.add(key)
        await client.close()
    except (ConnectionError, asyncio.IncompleteReadError, OSError, TimeoutError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.0, help="pairs per second")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    rng = random.Random(5)
    seed = int(time.time()) % 1000
    items = []
    for i, (p, f) in enumerate(message_pairs(args.pairs, seed=seed)):
        due = i / args.rate if args.rate else 0.0
        items += [(f"{i}P", p, due), (f"{i}F", f, due)]
    parts = [[it for j, it in enumerate(items) if (j // 2) % 8 == k] for k in range(8)]
    fhir = FhirTestServer()
    fhir.start()
    try:
        run_faults(args, rng, seed, items, parts, fhir)
    finally:
        fhir.stop()  # also when a run fails: never leave the test server behind


def run_faults(args: argparse.Namespace, rng: random.Random, seed: int,
               items: list[tuple[str, bytes, float]],
               parts: list[list[tuple[str, bytes, float]]], fhir: FhirTestServer) -> None:
    acked: set[str] = set()
    marks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_store_url(args.store_url, folder)
        mllp, http = free_port(), free_port()
        os.environ["RADAGREE_FHIR__BASE_URL"] = fhir.base_url
        os.environ["RADAGREE_FHIR__BACKOFF_MAX_S"] = "5"
        os.environ["RADAGREE_FHIR__TIMEOUT_S"] = "2"
        total = len(items)
        kills_at = sorted(rng.sample(range(total // 10, total * 9 // 10), args.kills))
        freeze = (total // 3, 2 * total // 3)
        frozen = False
        kills = 0
        started = time.monotonic()
        proc = start_serve(folder, url, mllp, http)
        while len(acked) < total:
            async def run(proc: subprocess.Popen) -> None:
                tasks = [asyncio.create_task(stream(mllp, part, acked, started))
                         for part in parts]
                nonlocal kills, frozen
                while not all(t.done() for t in tasks):
                    if kills < len(kills_at) and len(acked) >= kills_at[kills]:
                        os.kill(proc.pid, signal.SIGKILL)
                        kills += 1
                        break
                    if not frozen and freeze[0] <= len(acked) < freeze[1]:
                        fhir.pause()
                        marks["frozen"] = time.monotonic() - started
                        frozen = True
                    if frozen and len(acked) >= freeze[1]:
                        fhir.resume()
                        marks["resumed"] = time.monotonic() - started
                        frozen = None  # type: ignore[assignment]
                    await asyncio.sleep(0.01)
                await asyncio.gather(*tasks)

            asyncio.run(run(proc))
            if proc.poll() is not None:
                proc.wait()
                proc = start_serve(folder, url, mllp, http)
        if frozen is True:
            fhir.resume()
            marks["resumed"] = time.monotonic() - started
            frozen = None  # type: ignore[assignment]
        ingest_s = time.monotonic() - started
        engine = make_engine(url)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                delivered = conn.execute(select(func.count()).select_from(outbox)
                                         .where(outbox.c.state == "delivered")).scalar()
                scored = conn.execute(select(func.count()).select_from(pairs)
                                      .where(pairs.c.state == "scored")).scalar()
            if scored >= args.pairs and "scored" not in marks:
                marks["scored"] = time.monotonic() - started
            if delivered >= args.pairs:
                break
            time.sleep(0.5)
        drained_s = time.monotonic() - started
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(messages)).scalar()
            states = dict(conn.execute(select(pairs.c.state, func.count())
                                       .group_by(pairs.c.state)).all())
            rows = dict(conn.execute(select(outbox.c.state, func.count())
                                     .group_by(outbox.c.state)).all())
        proc.terminate()
        proc.wait(60)
    print(f"frozen state at the end: {frozen!r}; kills: {kills}", flush=True)
    # After the freeze the server works through the requests that queued meanwhile (the
    # timed-out attempts included): give it time before counting.
    import httpx

    def count(accession: str) -> int:
        for _ in range(30):
            try:
                response = httpx.get(fhir.base_url + "Observation", timeout=60,
                                     params={"identifier": f"{SYSTEM}|{accession}"})
                return len(response.json().get("entry", []))
            except httpx.HTTPError:
                time.sleep(2)
        raise SystemExit("the FHIR server did not answer the count")

    per_acc = [count(f"BENCH{seed}{i:07d}") for i in range(args.pairs)]
    observations = sum(per_acc)
    store = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{store}: {args.pairs} pairs at {args.rate or 'full'} pairs/s, {args.kills} SIGKILLs "
          f"of serve, FHIR server frozen for the middle third; stream done in {ingest_s:.0f} s, "
          f"all scored after {marks.get('scored', drained_s):.0f} s, all delivered after "
          f"{drained_s:.0f} s")
    if "resumed" in marks:
        print(f"FHIR server frozen at {marks['frozen']:.0f} s, back at {marks['resumed']:.0f} s: "
              f"everything delivered {drained_s - marks['resumed']:.0f} s after it came back")
    print(f"messages ACKed {len(acked)} / stored {stored}; pairs {states}; outbox {rows}")
    print(f"Observations on the FHIR server: {observations} "
          f"(accessions with exactly one: {sum(n == 1 for n in per_acc)}, "
          f"with none: {sum(n == 0 for n in per_acc)}, with more: {sum(n > 1 for n in per_acc)})")


if __name__ == "__main__":
    main()
