"""Scoring throughput on one core: pairs/s and p50/p99 latency, models loaded once.

Two kinds of pair:
- `ct` (default): synthetic templated CT abdomen/pelvis reports (`_ct.py`, ~250 words, most
  sentences shared by both reports and recurring across reports, as in real CT practice);
  the preliminary misses, negates or mis-sides one finding.
- `iu`: IU chest radiograph development reports (final = real report, preliminary = a one-edit
  copy).
The rate is the marginal rate over a long batch: the time of N pairs minus the time of N/10,
divided by the difference, so start-up and warm-up do not flatter or penalise it. Start-up is
what a worker process pays before its first pair: importing the scorer (spaCy, medspaCy, SciPy)
and constructing the `Scorer` (vocabulary, parser, matchers, critical list), both printed, with
the term patterns and the HPO layer read from their cache (`--cold`: an empty cache, the first
start after a vocabulary change). The import is timed here, not at the top of the file, so it
counts. Each figure is printed beside a
same-run CPU reference (a fixed pure-Python loop, measured before start-up and again after the
run, so a machine that got busier in between shows) and as a ratio to it, since these
machines vary 2-4x from day to day.

    taskset -c 0 python bench/throughput.py [--kind ct|iu] [--n 2000] [--cold]

Targets (issue #12, CT pairs): >= 100 pairs/s, p99 <= 100 ms, RSS <= 800 MB; start-up <= 3 s
(issue #19, warm cache).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpu import reference_loop
from _ct import ct_pair
from scoring import ScoringConfig


def iu_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    from _iu import iu_reports, report_text
    from injection import ERRORS

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
    parser.add_argument("--kind", choices=["ct", "iu"], default="ct")
    parser.add_argument("--matcher", default="exact")
    parser.add_argument("--cold", action="store_true",
                        help="empty cache: term patterns and HPO layer built, then written")
    args = parser.parse_args()
    if args.cold:
        os.environ["RADAGREE_CACHE_DIR"] = tempfile.mkdtemp(prefix="radagree-cold-")
    cores = os.sched_getaffinity(0)
    ref = reference_loop()
    t = time.perf_counter()
    from scoring.scorer import Scorer

    import_s = time.perf_counter() - t
    scorer = Scorer(ScoringConfig(matcher=args.matcher))
    load_s = time.perf_counter() - t
    rng = random.Random(11)
    data = [ct_pair(rng) for _ in range(args.n)] if args.kind == "ct" else iu_pairs(args.n, 11)
    procedure = "CT ABDOMEN PELVIS W CONTRAST" if args.kind == "ct" else None
    words = statistics.mean(len(f.split()) for _, f in data)
    for p, f in data[:50]:  # warm caches and lazy imports
        scorer.score(p, f, procedure)
    latencies = []
    marks = {}
    start = time.perf_counter()
    for i, (p, f) in enumerate(data, start=1):
        t0 = time.perf_counter()
        scorer.score(p, f, procedure)
        latencies.append((time.perf_counter() - t0) * 1000)
        if i in (args.n // 10, args.n):
            marks[i] = time.perf_counter() - start
    lo, hi = args.n // 10, args.n
    rate = (hi - lo) / (marks[hi] - marks[lo])
    q = statistics.quantiles(latencies, n=100)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ref_after = reference_loop()
    reader = scorer.ner.reader
    print(f"cores allowed: {sorted(cores)}   kind: {args.kind}   matcher: {args.matcher}   "
          f"pairs: {args.n}   mean words per final report: {words:.0f}")
    print(f"CPU reference: {ref:.2f} M loop iterations/s before start-up, {ref_after:.2f} after "
          "the run (bench/_cpu.py)")
    print(f"start-up (scorer imported and constructed, {'cold' if args.cold else 'warm'} cache): "
          f"{load_s:.2f} s   = {load_s * ref:.1f} reference-s   (import {import_s:.2f} s, "
          f"construction {load_s - import_s:.2f} s)")
    print(f"marginal rate: {rate:.1f} pairs/s   = {rate / ref:.2f} pairs per reference-M   "
          f"p50 {q[49]:.1f} ms   p99 {q[98]:.1f} ms   max {max(latencies):.1f} ms")
    print(f"sentences parsed: {reader.misses} (cache hits {reader.hits})")
    print(f"peak RSS: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
