"""The CPU work of the daemon, in a process of its own.

Parsing (python-hl7) and scoring (spaCy) hold the GIL for milliseconds at a time; in the
listener's process they stalled the event loop and the ACK p99 went from 18 ms to 357 ms
(bench/ingest_load.py, 2 cores). So the listener's process only frames, peeks, commits and
answers, and a worker process (one per `workers.processes`) parses, pairs and scores. Each
job is one function call with small picklable results, so the daemon keeps the metrics.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

import ingest
import outbound
from ingest.config import MllpConfig
from outbound import FhirConfig
from scoring import ScoreResult, ScoringConfig, render_html
from scoring.errors import LlmUnavailable

if TYPE_CHECKING:
    from scoring import Scorer

log = structlog.get_logger("radagree.workers")
_engine: Any = None
_scorer: Scorer | None = None
_mllp: MllpConfig | None = None
_fhir: FhirConfig | None = None


def _exit_with_parent(parent: int) -> None:
    """A pool's workers outlive a parent killed with SIGKILL (or by the OOM killer): they
    hold both ends of their task pipe, so they wait for work for ever, 450 MB each (found
    after bench/fault_runs.py: dozens of them, 15 GB). Polling the parent pid ends them within
    a second; whatever they held is released as a dead worker's claims are. `parent` is
    passed in, not read here: a parent killed while this process was still importing has
    already been replaced by init."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(70)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def setup_child(store_url: str, logging_config: Any, nice: int, parent: int | None) -> Any:
    """A spawned process of the daemon: it ends with its parent (the daemon passes its pid),
    logs as the parent does, yields the CPU to the listener by `nice`, and has its own store
    engine (returned)."""
    from radagree.logs import configure_from
    from radagree.store import make_engine

    _exit_with_parent(parent or os.getppid())
    if logging_config is not None:
        configure_from(logging_config)
    if nice:
        os.nice(nice)
    return make_engine(store_url)


def init_worker(
    store_url: str, mllp: MllpConfig, scoring: ScoringConfig, fhir: FhirConfig,
    logging_config: Any = None, nice: int = 0, parent: int | None = None,
) -> None:
    """Process initializer: one engine and one scorer per worker process, loaded once."""
    global _engine, _scorer, _mllp, _fhir
    from scoring import Scorer

    _engine = setup_child(store_url, logging_config, nice, parent)
    _mllp = mllp
    _fhir = fhir
    _scorer = Scorer(scoring)


def ping() -> bool:
    """Returns once the initializer has run: models loaded, store reachable."""
    return _scorer is not None


def process_pending(limit: int) -> ingest.BatchOutcome:
    """Parse and pair; then turn cancelled accessions into entered-in-error bundles."""
    assert _mllp is not None
    outcome = ingest.process_pending(_engine, _mllp, limit)
    if outcome.pairing.get("cancelled"):
        with _engine.begin() as conn:
            outbound.enqueue_cancellations(conn)
    return outcome


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
    discrepancies: list[str] = field(default_factory=list)
    esas: list[float] = field(default_factory=list)
    # Per-stage milliseconds of each pair (NER, matching, context check, ...).
    timings: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _score(batch: list[ingest.ClaimedPair]) -> list[ScoreResult | BaseException]:
    """CPU path: pair by pair (one failure stays one failure). LLM path: the whole batch
    through `score_many`, so its requests reach vLLM together and are batched there."""
    assert _scorer is not None
    if _scorer.config.classifier in ("llm", "hybrid") or _scorer.config.explainer == "llm":
        pairs = [(p.prelim.text, p.final.text) for p in batch]
        try:
            return list(asyncio.run(_scorer.score_many(pairs)))
        except LlmUnavailable:
            raise
        except Exception:  # fall through to one by one, to isolate the bad pair
            pass
    out: list[ScoreResult | BaseException] = []
    for pair in batch:
        try:
            out.append(_scorer.score(pair.prelim.text, pair.final.text))
        except LlmUnavailable:
            raise
        except Exception as exc:
            out.append(exc)
    return out


def score_batch(worker: str, limit: int, max_attempts: int) -> ScoreOutcome:
    """Claim up to `limit` ready pairs, score them, settle them in one transaction."""
    assert _scorer is not None
    started = time.perf_counter()
    outcome = ScoreOutcome()
    batch = ingest.claim_pairs(_engine, worker, limit)
    outcome.claimed = len(batch)
    settled: list[ingest.Settlement] = []
    bundles: dict[int, tuple[dict[str, Any], list[str]]] = {}
    assert _fhir is not None
    results: list[ScoreResult | BaseException]
    try:
        results = _score(batch)
    except LlmUnavailable:
        # fallback = "wait": nothing is scored now; the claims go back, untouched.
        ingest.release(_engine, [p.id for p in batch], worker)
        outcome.waiting = len(batch)
        outcome.seconds = time.perf_counter() - started
        return outcome
    for pair, result in zip(batch, results, strict=True):
        try:
            if isinstance(result, BaseException):
                raise result
            html = render_html(result, pair.prelim.text, pair.final.text)
            bundle = outbound.build_bundle(pair, result, html, _fhir)
        except Exception as exc:  # one bad pair must not stop the others
            # The message may quote report text: only the type is recorded.
            settled.append(ingest.Settlement(pair.id, None, type(exc).__name__, pair.attempts))
            log.warning("pair_not_scored", accession=pair.accession, pair=pair.id,
                        error=type(exc).__name__, attempts=pair.attempts)
            continue
        # Validated before the transaction: it takes milliseconds, the lock is shared.
        bundles[pair.id] = (bundle, outbound.problems(bundle))
        people = ingest.attribution(pair.prelim.resident, pair.final.attending)
        settled.append(ingest.Settlement(pair.id, result.model_dump(mode="json"), None,
                                         pair.attempts, people))
        log.info("pair_scored", accession=pair.accession, pair=pair.id, version=pair.version,
                 grade=result.grade, esas=round(result.esas, 4), status=result.discrepancy)
        outcome.grades.append(result.grade)
        outcome.discrepancies.append(result.discrepancy)
        outcome.esas.append(result.esas)
        outcome.timings.append(dict(result.timings_ms))
    by_id = {p.id: p for p in batch}
    with _engine.begin() as conn:
        held = ingest.settle(conn, worker, settled, max_attempts)
        for item, ok in zip(settled, held, strict=True):
            if not ok or item.result is None:
                continue
            pair = by_id[item.pair_id]
            bundle, issues = bundles[item.pair_id]
            outbound.enqueue(conn, pair_id=pair.id, accession=pair.accession,
                             version=pair.version, kind="score", sink=_fhir.sink,
                             bundle=bundle, issues=issues)
            outcome.invalid += bool(issues)
    outcome.scored = sum(1 for s, ok in zip(settled, held, strict=True) if ok and s.result)
    outcome.failed = sum(1 for s, ok in zip(settled, held, strict=True) if ok and not s.result)
    outcome.lost = sum(1 for ok in held if not ok)
    outcome.seconds = time.perf_counter() - started
    return outcome
