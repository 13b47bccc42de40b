"""Metrics of the scoring stage. `scoring` is a pure library, so the daemon, which runs it,
counts what it produced (DESIGN.md §5) from its `ScoreOutcome`. Labels are grades and stage
names only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from radagree.workers import ScoreOutcome


class ScoringMetrics:
    """Scores, ESAS and stage latencies on `registry` (None: not exported)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.scores = Counter(
            "radagree_scores", "Pairs scored, by grade, discrepancy, modality and body region.",
            ["grade", "discrepancy", "modality", "region"], registry=registry)
        self.failures = Counter("radagree_scoring_failures", "Pairs that raised while scoring.",
                                registry=registry)
        self.esas = Histogram(
            "radagree_esas", "ESAS of scored pairs, by modality and body region.",
            ["modality", "region"],
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0), registry=registry)
        self.stage_latency = Histogram(
            "radagree_scoring_stage_seconds", "Scoring time per pair, by stage.", ["stage"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30),
            registry=registry)

    def record(self, outcome: ScoreOutcome) -> None:
        for grade, discrepancy, esas, (modality, region) in zip(
            outcome.grades, outcome.discrepancies, outcome.esas, outcome.exams, strict=True
        ):
            self.scores.labels(str(grade), discrepancy, modality, region).inc()
            self.esas.labels(modality, region).observe(esas)
        for timings in outcome.timings:
            for stage, ms in timings.items():
                self.stage_latency.labels(stage).observe(ms / 1000)
        if outcome.failed:
            self.failures.inc(outcome.failed)
