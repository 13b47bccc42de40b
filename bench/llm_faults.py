"""The LLM server killed under daemon load (issue #7), once with `fallback = "rules"` and once
with `fallback = "wait"`.

`radagree serve` runs with `scoring.classifier = "llm"` against the real vLLM engine on CPU
(`.vllm-venv`, the tests' tiny random Llama built at run time: DESIGN.md §9, §12). Senders
stream P/F pairs at a steady rate; a third of the way in, vLLM's whole process group is
SIGKILLed; two thirds of the way in it is started again (it takes its own start-up time to
become healthy). Then, from the store and the FHIR folder:

- rules: every pair scored; those scored while vLLM was down carry `method.fallback`, the FHIR
  component `scoring-fallback` and no AIAST label; the others were decided by the LLM.
- wait: no pair scored by the rules; pairs stay `ready` while vLLM is down (the peak backlog
  is reported) and are all scored by the LLM once it is back (the time to drain is reported).

Either way: every ACK is AA and nothing is lost. Random weights: no quality is measured.

    python bench/llm_faults.py [--pairs 90] [--rate 1.5] [--fallback rules wait]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sqlalchemy import func, select

from _oru import message_pairs
from ingest.replay import MllpClient
from ingest.tables import pairs as pairs_table
from ingest_load import free_port, start_serve
from radagree.store import make_engine
from support.vllm import VllmServer

ROOT = Path(__file__).resolve().parents[1]


async def stream(port: int, items: list[tuple[bytes, bytes]], rate: float,
                 lat: list[float], progress: list[int]) -> None:
    client = await MllpClient.connect("127.0.0.1", port)
    start = time.perf_counter()
    for i, (p, f) in enumerate(items):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        for message in (p, f):
            t0 = time.perf_counter()
            reply = await client.send(message, timeout=30)
            lat.append(time.perf_counter() - t0)
            assert reply.code == "AA", reply.reason
        progress[0] = i + 1
    await client.close()


def run(fallback: str, n: int, rate: float, vllm: VllmServer, seed: int) -> dict[str, object]:
    items = message_pairs(n, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'radagree.db'}"
        mllp, http = free_port(), free_port()
        os.environ.update({
            "RADAGREE_SCORING__CLASSIFIER": "llm", "RADAGREE_LLM__BASE_URL": vllm.base_url,
            "RADAGREE_LLM__MODEL": vllm.model, "RADAGREE_LLM__FALLBACK": fallback,
            "RADAGREE_LLM__TIMEOUT_S": "20", "RADAGREE_LLM__RETRIES": "1",
        })
        proc = start_serve(folder, url, mllp, http)
        engine = make_engine(url)
        lat: list[float] = []
        progress = [0]
        marks: dict[str, float] = {}
        backlog: list[tuple[float, int]] = []
        started = time.monotonic()

        def faults() -> None:
            while progress[0] < n // 3:
                time.sleep(0.1)
            vllm.kill()
            marks["killed"] = time.monotonic() - started
            while progress[0] < 2 * n // 3:
                time.sleep(0.1)
            marks["restarting"] = time.monotonic() - started
            vllm.start()
            marks["healthy"] = time.monotonic() - started

        killer = threading.Thread(target=faults, daemon=True)
        killer.start()
        sampling = True

        def sample() -> None:
            while sampling:
                with engine.connect() as conn:
                    ready = conn.execute(select(func.count()).select_from(pairs_table).where(
                        pairs_table.c.state.in_(("ready", "scoring")))).scalar() or 0
                backlog.append((time.monotonic() - started, ready))
                time.sleep(1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            asyncio.run(stream(mllp, items, rate, lat, progress))
            marks["stream_done"] = time.monotonic() - started
            killer.join()
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    done = conn.execute(select(func.count()).select_from(pairs_table).where(
                        pairs_table.c.state.in_(("scored", "failed")))).scalar() or 0
                if done >= n:
                    break
                time.sleep(1)
            marks["all_scored"] = time.monotonic() - started
            out = folder / "fhir-out"
            for _ in range(60):
                if out.is_dir() and len(list(out.glob("*.json"))) >= n:
                    break
                time.sleep(1)
        finally:
            sampling = False
            proc.terminate()
            proc.wait(60)
        with engine.connect() as conn:
            rows = conn.execute(select(pairs_table.c.state, pairs_table.c.result,
                                       pairs_table.c.updated_at)).all()
        bundles = [json.loads(p.read_text()) for p in out.glob("*.json")] if out.is_dir() else []
    by_rules = [r for r in rows if r.result and r.result["method"].get("fallback")]
    by_llm = [r for r in rows if r.result and any(
        e.get("decided_by") == "llm" for e in r.result["entities"])]
    flagged = sum(1 for b in bundles if any(
        c["code"]["coding"][0]["code"] == "scoring-fallback"
        for c in b["entry"][0]["resource"]["component"]))
    aiast = sum(1 for b in bundles if "meta" in b["entry"][0]["resource"])
    lat.sort()
    outage = [ready for t, ready in backlog
              if marks.get("killed", 1e9) <= t <= marks.get("healthy", 1e9)]
    return {
        "fallback": fallback, "pairs": n, "messages_acked": len(lat),
        "ack_p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "ack_p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
        "states": {s: sum(1 for r in rows if r.state == s) for s in {r.state for r in rows}},
        "scored_by_llm": len(by_llm), "scored_by_rules_fallback": len(by_rules),
        "bundles": len(bundles), "bundles_flagged_fallback": flagged, "bundles_aiast": aiast,
        "peak_backlog_during_outage": max(outage, default=0),
        "marks_s": {k: round(v, 1) for k, v in marks.items()},
        "drain_after_healthy_s": round(marks["all_scored"] - marks["healthy"], 1)
        if "healthy" in marks else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=90)
    parser.add_argument("--rate", type=float, default=1.5, help="pairs per second")
    parser.add_argument("--fallback", nargs="+", default=["rules", "wait"])
    args = parser.parse_args()
    python = Path(os.environ.get("RADAGREE_TEST_VLLM_PYTHON", ROOT / ".vllm-venv/bin/python"))
    if not python.exists():
        sys.exit(f"no vLLM engine at {python}: `make vllm-venv` builds it")
    with tempfile.TemporaryDirectory() as work:
        vllm = VllmServer(python, Path(work))
        t0 = time.monotonic()
        vllm.start()
        print(f"vLLM (CPU, tiny random Llama) healthy after {time.monotonic() - t0:.0f} s",
              flush=True)
        try:
            for n, fallback in enumerate(args.fallback):
                if vllm.proc is None:
                    vllm.start()
                report = run(fallback, args.pairs, args.rate, vllm, seed=40 + n)
                print(json.dumps(report), flush=True)
        finally:
            vllm.stop()


if __name__ == "__main__":
    main()
