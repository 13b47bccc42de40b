"""A same-run yardstick: fsync'd SQLite commits per second on the bench's own disk.

The machines these benches run on are shared (2 vCPU, other engineers' jobs beside them), so an
absolute millisecond figure moves with the neighbours. Each bench measures this reference in
the same run and prints its figures also as a ratio to it: a latency in "commit times" (the
latency divided by the time one fsync'd commit took), a rate in commits. Two runs on a busier
or quieter machine compare through the ratio.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path


def sqlite_commits_per_s(n: int = 300, folder: Path | None = None) -> float:
    """One-row transactions per second into a SQLite file in WAL mode, synchronous=FULL
    (the store's own settings): each commit waits for its fsync."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        conn = sqlite3.connect(Path(tmp) / "reference.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        payload = b"x" * 4000  # the size of a realistic ORU
        started = time.perf_counter()
        for _ in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (payload,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return n / elapsed


def in_commits(seconds: float, commits_per_s: float) -> float:
    """A latency as a multiple of one reference commit's time."""
    return seconds * commits_per_s
