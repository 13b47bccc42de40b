"""Parsing and pairing, in a process of its own.

Parsing (python-hl7 rules, ~1.4 ms a message) holds the GIL, so it left the listener's process
for the ACK p99. It also left the scoring process: with one pool for both, a parse job waited
behind whatever batch was being scored, and an LLM batch takes seconds (bench/llm_load.py:
messages waited 3.7 s (p50) to be parsed while an LLM answered in 3 s). Here nothing else
runs, so a stored message is parsed and paired within a commit or two.
"""

from __future__ import annotations

from typing import Any

import ingest
import outbound
from ingest.config import MllpConfig


class ParseWorker:
    """Parses stored messages into reports, pairs them, and turns cancelled accessions into
    entered-in-error bundles."""

    def __init__(self, engine: Any, mllp: MllpConfig) -> None:
        self.engine = engine
        self.mllp = mllp

    @classmethod
    def open(cls, store_url: str, mllp: MllpConfig) -> ParseWorker:
        """The worker of a parse process (its own store engine)."""
        from radagree.store import make_engine

        return cls(make_engine(store_url), mllp)

    def process_pending(self, limit: int) -> ingest.BatchOutcome:
        """Parse and pair up to `limit` stored messages; then queue the cancellations."""
        outcome = ingest.process_pending(self.engine, self.mllp, limit)
        if outcome.pairing.get("cancelled"):
            with self.engine.begin() as conn:
                outbound.enqueue_cancellations(conn)
        return outcome
