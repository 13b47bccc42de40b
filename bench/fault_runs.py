"""Faults under load (issue #7): `radagree serve` is killed with SIGKILL at random moments
(default 5 times) while senders stream P/F pairs, and the FHIR server (Medplum, the tests'
real server) is frozen for the middle third of the stream. Senders resend whatever was not
acknowledged, as an integration engine does. At the end: every ACKed message is stored,
every pair scored once, no dead letter, and the FHIR server holds exactly one Observation per
accession; reported: how long after the FHIR server came back everything was delivered.

`--rate` paces the stream (pairs/s; 0 = as fast as the ACKs allow) so the freeze is a real
stretch of time rather than the few seconds a 2,000 msg/s burst takes. Medplum's in-memory
server is slow and gets slower as it fills: a transaction bundle took 168 ms with 150
bundles stored, 456 ms at 300, 950 ms at 600, 1.2 s at 750 (its conditional-update search
scans every resource; one node thread), so runs against it stay small and slow; `--sink
folder` runs the kills alone at the e2e scale (10,000 pairs) with the default folder sink and
counts the files per accession instead.

    python bench/fault_runs.py [--pairs 600] [--kills 5] [--rate 2] [--store-url URL]
    python bench/fault_runs.py --sink folder --pairs 10000 [--store-url URL]
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
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sqlalchemy import func, select

from _oru import message_pairs
from ingest.replay import MllpClient
from ingest.tables import pairs
from ingest_load import free_port, fresh_store_url, start_serve, store_counts
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


def sample(url: str, started: float, out: list[tuple[float, int, int]]) -> None:
    engine = make_engine(url)
    while True:
        try:
            with engine.connect() as conn:
                scored = conn.execute(select(func.count()).select_from(pairs)
                                      .where(pairs.c.state == "scored")).scalar() or 0
                delivered = conn.execute(select(func.count()).select_from(outbox)
                                         .where(outbox.c.state == "delivered")).scalar() or 0
            out.append((time.monotonic() - started, scored, delivered))
        except Exception:  # the store mid-migration at a restart: next second
            pass
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.0, help="pairs per second")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--sink", choices=["fhir", "folder"], default="fhir")
    args = parser.parse_args()
    rng = random.Random(5)
    seed = int(time.time()) % 1000
    items = []
    for i, (p, f) in enumerate(message_pairs(args.pairs, seed=seed)):
        due = i / args.rate if args.rate else 0.0
        items += [(f"{i}P", p, due), (f"{i}F", f, due)]
    parts = [[it for j, it in enumerate(items) if (j // 2) % 8 == k] for k in range(8)]
    if args.sink == "folder":
        run_faults(args, rng, seed, items, parts, None)
        return
    fhir = FhirTestServer()
    fhir.start()
    try:
        run_faults(args, rng, seed, items, parts, fhir)
    finally:
        fhir.stop()  # also when a run fails: never leave the test server behind


def run_faults(args: argparse.Namespace, rng: random.Random, seed: int,
               items: list[tuple[str, bytes, float]],
               parts: list[list[tuple[str, bytes, float]]], fhir: FhirTestServer | None) -> None:
    acked: set[str] = set()
    marks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_store_url(args.store_url, folder)
        mllp, http = free_port(), free_port()
        if fhir is not None:  # delivery settings stay at their defaults
            os.environ["RADAGREE_FHIR__BASE_URL"] = fhir.base_url
        total = len(items)
        kills_at = sorted(rng.sample(range(total // 10, total * 9 // 10), args.kills))
        freeze = (total // 3, 2 * total // 3)
        frozen = False
        kills = 0
        started = time.monotonic()
        proc = start_serve(folder, url, mllp, http)
        # (seconds, pairs scored, bundles delivered) every second, across restarts
        samples: list[tuple[float, int, int]] = []
        sampling = threading.Thread(target=sample, args=(url, started, samples), daemon=True)
        sampling.start()
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
                    if fhir and not frozen and freeze[0] <= len(acked) < freeze[1]:
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
        if frozen is True and fhir is not None:
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
        stored, states, rows = store_counts(url)
        proc.terminate()
        proc.wait(60)
        files = Counter(path.name.split("-")[2] for path in (folder / "fhir-out").glob("*.json"))
    print(f"frozen state at the end: {frozen!r}; kills: {kills}", flush=True)
    import httpx

    def count(accession: str) -> int:
        if fhir is None:
            return files[accession]
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
    sink = ("FHIR server frozen for the middle third" if fhir else "folder sink")
    print(f"{store}: {args.pairs} pairs at {args.rate or 'full'} pairs/s, {args.kills} SIGKILLs "
          f"of serve, {sink}; stream done in {ingest_s:.0f} s, "
          f"all scored after {marks.get('scored', drained_s):.0f} s, all delivered after "
          f"{drained_s:.0f} s")
    if "resumed" in marks:
        print(f"FHIR server frozen at {marks['frozen']:.0f} s, back at {marks['resumed']:.0f} s: "
              f"everything delivered {drained_s - marks['resumed']:.0f} s after it came back")
    if "resumed" in marks:
        # The backlog: what had been scored by the time the server came back.
        backlog = max(n for t, n, _ in samples if t <= marks["resumed"])
        caught_up = next((t for t, _, d in samples if t >= marks["resumed"] and d >= backlog),
                         None)
        print(f"backlog at the server's return: {backlog} bundles; all of them delivered "
              f"{caught_up - marks['resumed']:.0f} s after it came back" if caught_up else
              f"backlog at the server's return: {backlog} bundles; not caught up")
    print("scored / delivered every 20 s: " + ", ".join(
        f"{t:.0f}s {n}/{d}" for t, n, d in samples[::20]))
    print(f"messages ACKed {len(acked)} / stored {stored}; pairs {states}; outbox {rows}")
    where = "Observations on the FHIR server" if fhir else "bundle files in the folder"
    print(f"{where}: {observations} "
          f"(accessions with exactly one: {sum(n == 1 for n in per_acc)}, "
          f"with none: {sum(n == 0 for n in per_acc)}, with more: {sum(n > 1 for n in per_acc)})")


if __name__ == "__main__":
    main()
