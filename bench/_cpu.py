"""The same-run CPU reference for CPU benchmarks: a fixed pure-Python loop.

These machines vary 2-4x from day to day; a figure is comparable across runs as a ratio to
this reference measured in the same run, on the same core (run the bench under `taskset`).
"""

from __future__ import annotations

import time

LOOP = 2_000_000


def _work(n: int) -> int:
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total


def reference_loop(repeats: int = 3) -> float:
    """Millions of loop iterations per second (best of `repeats`)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        _work(LOOP)
        best = min(best, time.perf_counter() - t)
    return LOOP / best / 1e6
