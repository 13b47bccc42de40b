"""Live agreement between the automatic grade and the attendings' grades.

A label is a pair's newest verdict (confirm or change). Over the newest N labels, overall and
by modality: the share graded exactly as the scorer did and the share within one grade — the
paper's two headline figures, for this site, now. Computed at scrape time from the store
(prometheus_client's custom-collector pattern), so the gauges move as soon as a verdict is
committed, in whichever process or replica. Labels of the gauges are modalities only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from review.tables import verdicts

ALL = "all"


@dataclass(frozen=True)
class Label:
    pair_id: int
    modality: str
    esas: float
    auto_grade: int
    grade: int


@dataclass(frozen=True)
class LiveAgreement:
    modality: str
    n: int
    exact: float
    within_one: float


def latest_labels(conn: Connection, *, modality: str | None = None,
                  limit: int | None = None) -> list[Label]:
    """Each labelled pair's newest verdict, newest first."""
    newest = select(func.max(verdicts.c.id)).group_by(verdicts.c.pair_id)
    query = (select(verdicts.c.pair_id, verdicts.c.modality, verdicts.c.esas,
                    verdicts.c.auto_grade, verdicts.c.grade)
             .where(verdicts.c.id.in_(newest)).order_by(verdicts.c.id.desc()))
    if modality is not None:
        query = query.where(verdicts.c.modality == modality)
    if limit is not None:
        query = query.limit(limit)
    return [Label(r.pair_id, r.modality, float(r.esas), int(r.auto_grade), int(r.grade))
            for r in conn.execute(query)]


def summarise(modality: str, labels: list[Label]) -> LiveAgreement:
    n = len(labels)
    if n == 0:
        return LiveAgreement(modality, 0, 0.0, 0.0)
    exact = sum(lb.grade == lb.auto_grade for lb in labels) / n
    within = sum(abs(lb.grade - lb.auto_grade) <= 1 for lb in labels) / n
    return LiveAgreement(modality, n, exact, within)


def live_agreement(conn: Connection, window: int) -> list[LiveAgreement]:
    """Overall first, then each modality that has labels."""
    out = [summarise(ALL, latest_labels(conn, limit=window))]
    modalities = sorted(m for (m,) in conn.execute(select(verdicts.c.modality).distinct()))
    out += [summarise(m, latest_labels(conn, modality=m, limit=window)) for m in modalities]
    return out


class AgreementCollector(Collector):
    """`radagree_review_agreement_{exact,within_one}` and `radagree_review_labels`."""

    def __init__(self, engine: Engine, window: int,
                 registry: CollectorRegistry | None = None) -> None:
        self.engine = engine
        self.window = window
        if registry is not None:
            registry.register(self)

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.engine.connect() as conn:
            rows = live_agreement(conn, self.window)
        yield from self._families(rows)

    def _families(self, rows: list[LiveAgreement] | None = None) -> Iterator[GaugeMetricFamily]:
        exact = GaugeMetricFamily(
            "radagree_review_agreement_exact",
            "Share of the newest labels whose attending grade equals the automatic grade.",
            labels=["modality"])
        within = GaugeMetricFamily(
            "radagree_review_agreement_within_one",
            "Share of the newest labels whose attending grade is within one of the automatic.",
            labels=["modality"])
        count = GaugeMetricFamily(
            "radagree_review_labels", "Labels the live agreement is computed over.",
            labels=["modality"])
        for row in rows or []:
            exact.add_metric([row.modality], row.exact)
            within.add_metric([row.modality], row.within_one)
            count.add_metric([row.modality], row.n)
        yield from (exact, within, count)
