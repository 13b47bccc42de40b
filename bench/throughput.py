"""Scoring throughput on one core: pairs/s and p50/p99 latency, models loaded once.

Typical IU pairs (development reports, final = real report, preliminary = a one-edit copy).
The rate is the marginal rate over a long batch: the time of N pairs minus the time of N/10,
divided by the difference, so start-up and warm-up do not flatter or penalise it.
Run it pinned: `taskset -c 0 python bench/throughput.py`. Target >= 50 pairs/s, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _iu import iu_reports, report_text
from injection import ERRORS
from scoring import Scorer, ScoringConfig


def pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = [r for r in iu_reports() if r["findings"].strip() and r["impression"].strip()]
    out = []
    while len(out) < n:
        final = report_text(rng.choice(rows))
        edit = ERRORS[rng.choice(sorted(ERRORS))]
        prelim = edit(final, rng) or final
        out.append((prelim, final))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--matcher", default="exact")
    args = parser.parse_args()
    cores = os.sched_getaffinity(0)
    t = time.perf_counter()
    scorer = Scorer(ScoringConfig(matcher=args.matcher))
    load_s = time.perf_counter() - t
    data = pairs(args.n, 11)
    for p, f in data[:50]:  # warm caches and lazy imports
        scorer.score(p, f)
    latencies = []
    marks = {}
    start = time.perf_counter()
    for i, (p, f) in enumerate(data, start=1):
        t0 = time.perf_counter()
        scorer.score(p, f)
        latencies.append((time.perf_counter() - t0) * 1000)
        if i in (args.n // 10, args.n):
            marks[i] = time.perf_counter() - start
    lo, hi = args.n // 10, args.n
    rate = (hi - lo) / (marks[hi] - marks[lo])
    q = statistics.quantiles(latencies, n=100)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cores allowed: {sorted(cores)}   matcher: {args.matcher}   pairs: {args.n}")
    print(f"model load: {load_s:.2f} s")
    print(f"marginal rate: {rate:.1f} pairs/s   p50 {q[49]:.1f} ms   p99 {q[98]:.1f} ms   "
          f"max {max(latencies):.1f} ms")
    print(f"peak RSS: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
