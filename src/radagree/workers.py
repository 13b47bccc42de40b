"""Scoring, in worker processes of their own.

Scoring (spaCy) holds the GIL for milliseconds at a time; in the listener's process it stalled
the event loop and the ACK p99 went from 18 ms to 357 ms (bench/ingest_load.py, 2 cores). So
each worker process (one per `workers.processes`) claims ready pairs, scores them, builds and
validates their bundles and settles them with the outbox rows. Each call returns a small
picklable `ScoreOutcome`, so the daemon keeps the metrics.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import structlog

import ingest
import outbound
from outbound import FhirConfig
from radagree import children
from radagree.batches import score_batch_or_each
from scoring import ScoreResult, ScoringConfig, render_html
from scoring.config import LlmSettings
from scoring.errors import LlmUnavailable

if TYPE_CHECKING:
    from scoring import Scorer

log = structlog.get_logger("radagree.workers")


class LeaseKeeper:
    """Renews the claims of the batch in hand every `every_s` while it is scored.

    A claim is taken for a dead worker's once it is older than the lease, and any replica
    then releases it and claims it again; an LLM batch can take longer than that. The renewal
    runs on a thread of its own, so it goes on while the batch waits for the LLM.
    """

    def __init__(self, engine: Any, pair_ids: list[int], worker: str, every_s: float) -> None:
        self._engine, self._ids, self._worker, self._every = engine, pair_ids, worker, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        if self._ids:
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                ingest.renew(self._engine, self._ids, self._worker)
            except Exception as exc:  # the store may be away a moment: try again next time
                log.warning("claims_not_renewed", pairs=len(self._ids),
                            error=type(exc).__name__)


@dataclass
class ScoreOutcome:
    claimed: int = 0
    scored: int = 0
    failed: int = 0
    lost: int = 0
    # Bundles that failed validation (stored as dead letters, never sent).
    invalid: int = 0
    # Pairs handed back because the LLM is unavailable and fallback = "wait".
    waiting: int = 0
    grades: list[int] = field(default_factory=list)
    # (modality, region) of each scored pair: small fixed label sets (scoring.exam).
    exams: list[tuple[str, str]] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)
    esas: list[float] = field(default_factory=list)
    # Per-stage milliseconds of each pair (NER, matching, context check, ...).
    timings: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


class ScoringWorker:
    """Claims ready pairs, scores them and settles them with their bundles, in batches."""

    def __init__(self, engine: Any, scorer: Scorer, fhir: FhirConfig,
                 claim_lease_s: float = 60.0, idle_cpu: bool = False) -> None:
        self.engine = engine
        self.scorer = scorer
        self.fhir = fhir
        # Claims are renewed every third of the lease (release_stale runs as often).
        self.renew_every_s = claim_lease_s / 3
        # With `idle_cpu` the scoring itself runs on a thread under SCHED_IDLE; claims and
        # settlements stay on the caller's thread (`radagree.children.idle_thread`).
        self._cpu = ThreadPoolExecutor(1, thread_name_prefix="scoring-cpu",
                                       initializer=children.idle_thread) if idle_cpu else None

    @classmethod
    def open(cls, store_url: str, scoring: ScoringConfig, llm: LlmSettings, fhir: FhirConfig,
             claim_lease_s: float, idle_cpu: bool = False) -> ScoringWorker:
        """The worker of a scoring process: its own store engine, its scorer (models are
        loaded once, here)."""
        from radagree.store import make_engine
        from scoring import Scorer

        return cls(make_engine(store_url), Scorer(scoring, llm), fhir, claim_lease_s,
                   idle_cpu)

    def close(self) -> None:
        """Close what the scorer holds open (the shared LLM client's loop and HTTP pool): the
        scoring process calls it as it exits (`children.start`)."""
        from scoring.llm_client import close_shared

        if self._cpu is not None:
            self._cpu.shutdown(wait=True)
        closed = close_shared()
        if closed:
            log.info("llm_clients_closed", count=closed)

    def _score(self, batch: list[ingest.ClaimedPair]) -> list[ScoreResult | Exception]:
        """The batch at once, else pair by pair (`radagree.batches`); the batch's error is
        logged (its type only: a message may quote report text) before the retry."""
        # The exam (OBR-4) is context: the final's procedure, else the preliminary's.
        procedures = [p.final.procedure or p.prelim.procedure or None for p in batch]
        pairs = [(p.prelim.text, p.final.text) for p in batch]

        def logged(exc: Exception) -> None:
            log.warning("batch_not_scored", pairs=len(batch), error=type(exc).__name__,
                        outcome="scoring pair by pair")

        return score_batch_or_each(self.scorer, pairs, procedures,
                                   passthrough=(LlmUnavailable,), on_batch_error=logged)

    def score_batch(self, worker: str, limit: int, max_attempts: int) -> ScoreOutcome:
        """Claim up to `limit` ready pairs, score them, settle them in one transaction."""
        started = time.perf_counter()
        outcome = ScoreOutcome()
        batch = ingest.claim_pairs(self.engine, worker, limit)
        outcome.claimed = len(batch)
        ids = [p.id for p in batch]
        results: list[ScoreResult | Exception]
        with LeaseKeeper(self.engine, ids, worker, self.renew_every_s):
            try:
                results = (self._score(batch) if self._cpu is None
                           else self._cpu.submit(self._score, batch).result())
            except LlmUnavailable:
                # fallback = "wait": nothing is scored now; the claims go back, untouched.
                ingest.release(self.engine, ids, worker)
                outcome.waiting = len(batch)
                outcome.seconds = time.perf_counter() - started
                return outcome
            settled, bundles = self._bundles(batch, results, outcome)
            self._settle(worker, batch, settled, bundles, max_attempts, outcome)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _bundles(
        self, batch: list[ingest.ClaimedPair], results: list[ScoreResult | Exception],
        outcome: ScoreOutcome,
    ) -> tuple[list[ingest.Settlement], dict[int, tuple[dict[str, Any], list[str]]]]:
        """Each pair's settlement and its validated bundle (one bad pair stops no other)."""
        settled: list[ingest.Settlement] = []
        bundles: dict[int, tuple[dict[str, Any], list[str]]] = {}
        for pair, result in zip(batch, results, strict=True):
            try:
                if isinstance(result, Exception):
                    raise result
                html = render_html(result, pair.prelim.text, pair.final.text)
                bundle = outbound.build_bundle(pair, result, html, self.fhir)
            except Exception as exc:
                # The message may quote report text: only the type is recorded.
                settled.append(ingest.Settlement(pair.id, None, type(exc).__name__,
                                                 pair.attempts))
                log.warning("pair_not_scored", accession=pair.accession, pair=pair.id,
                            error=type(exc).__name__, attempts=pair.attempts)
                continue
            # Validated before the transaction: it takes milliseconds, the lock is shared.
            bundles[pair.id] = (bundle, outbound.problems(bundle))
            people = ingest.attribution(pair.prelim.resident, pair.final.attending)
            settled.append(ingest.Settlement(pair.id, result.model_dump(mode="json"), None,
                                             pair.attempts, people))
            log.info("pair_scored", accession=pair.accession, pair=pair.id,
                     version=pair.version, grade=result.grade, esas=round(result.esas, 4),
                     status=result.discrepancy)
            outcome.grades.append(result.grade)
            outcome.exams.append((result.exam.modality, result.exam.region))
            outcome.discrepancies.append(result.discrepancy)
            outcome.esas.append(result.esas)
            outcome.timings.append(dict(result.timings_ms))
        return settled, bundles

    def _settle(
        self, worker: str, batch: list[ingest.ClaimedPair], settled: list[ingest.Settlement],
        bundles: dict[int, tuple[dict[str, Any], list[str]]], max_attempts: int,
        outcome: ScoreOutcome,
    ) -> None:
        """Scores and outbox rows in one transaction, each only where the claim still held."""
        by_id = {p.id: p for p in batch}
        with self.engine.begin() as conn:
            held = ingest.settle(conn, worker, settled, max_attempts)
            for item, ok in zip(settled, held, strict=True):
                if not ok or item.result is None:
                    continue
                pair = by_id[item.pair_id]
                bundle, issues = bundles[item.pair_id]
                outbound.enqueue(conn, pair_id=pair.id, accession=pair.accession,
                                 version=pair.version, kind="score", sink=self.fhir.sink,
                                 bundle=bundle, issues=issues)
                outcome.invalid += bool(issues)
        pairs = list(zip(settled, held, strict=True))
        outcome.scored = sum(1 for s, ok in pairs if ok and s.result)
        outcome.failed = sum(1 for s, ok in pairs if ok and not s.result)
        outcome.lost = sum(1 for ok in held if not ok)
