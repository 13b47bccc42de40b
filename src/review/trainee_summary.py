"""One trainee as the program director reviews them: volume and discrepancy rates by modality
beside the cohort's, the attendings' agreement with the automatic grade, the monthly trend.

The director's trainee page and the printable semiannual report both read these. Each query
checks the `cohort` permit and reads only headline columns (no result JSON): the trainee's
side walks the `(trainee_id, id)` index, the cohort's side one grouped pass over the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from review.access import check
from review.people import Principal
from review.queries import Filters, latest_verdicts
from review.sources import SCORED, pairs


@dataclass(frozen=True)
class Rates:
    pairs: int
    mean_esas: float | None
    major_rate: float | None
    minor_rate: float | None


@dataclass(frozen=True)
class ModalityRow:
    modality: str
    trainee: Rates
    cohort: Rates


@dataclass(frozen=True)
class Agreement:
    labelled: int
    exact: float | None
    within_one: float | None


def _rates(n: Any, esas: Any, major: Any, minor: Any) -> Rates:
    n = int(n or 0)
    return Rates(n, float(esas) if n else None, float(major) if n else None,
                 float(minor) if n else None)


def _grouped(conn: Connection, filters: Filters) -> dict[str, Rates]:
    query = (select(pairs.c.modality, func.count(), func.avg(pairs.c.esas),
                    func.avg(case((pairs.c.discrepancy == "major", 1.0), else_=0.0)),
                    func.avg(case((pairs.c.discrepancy == "minor", 1.0), else_=0.0)))
             .where(pairs.c.state == SCORED, pairs.c.trainee_id.is_not(None))
             .group_by(pairs.c.modality))
    return {m or "unknown": _rates(n, e, ma, mi)
            for m, n, e, ma, mi in conn.execute(filters.apply(query))}


def cohort_by_modality(conn: Connection, principal: Principal,
                       filters: Filters) -> dict[str, Rates]:
    """The whole cohort's rates per modality under `filters` (anonymous: one grouped pass
    over every pair in the range, which the app caches a few minutes)."""
    check(principal, "cohort")
    return _grouped(conn, Filters(**{**filters.__dict__, "trainee": None}))


def by_modality(conn: Connection, principal: Principal, trainee_id: str, filters: Filters,
                everyone: dict[str, Rates]) -> tuple[list[ModalityRow], ModalityRow]:
    """Per modality the trainee's rates beside the cohort's (`everyone`, from
    `cohort_by_modality` under the same filters), and the totals."""
    check(principal, "cohort")
    own = _grouped(conn, Filters(**{**filters.__dict__, "trainee": trainee_id}))
    empty = Rates(0, None, None, None)
    rows = [ModalityRow(m, own.get(m, empty), everyone.get(m, empty))
            for m in sorted(set(own) | set(everyone)) if own.get(m)]
    return rows, ModalityRow("all", _total(own.values()), _total(everyone.values()))


def _total(parts: Any) -> Rates:
    parts = [p for p in parts if p.pairs]
    n = sum(p.pairs for p in parts)
    if not n:
        return Rates(0, None, None, None)

    def mean(attr: str) -> float:
        return sum((getattr(p, attr) or 0.0) * p.pairs for p in parts) / n

    return Rates(n, mean("mean_esas"), mean("major_rate"), mean("minor_rate"))


def agreement(conn: Connection, principal: Principal, trainee_id: str,
              filters: Filters) -> Agreement:
    """How often the attendings' grades of this trainee's pairs agree with the automatic
    grade (each pair's newest verdict): exact and within one."""
    check(principal, "cohort")
    label = latest_verdicts()
    query = (select(func.count(),
                    func.avg(case((label.c.grade == label.c.auto_grade, 1.0), else_=0.0)),
                    func.avg(case((func.abs(label.c.grade - label.c.auto_grade) <= 1, 1.0),
                                  else_=0.0)))
             .select_from(pairs).join(label, label.c.pair_id == pairs.c.id)
             .where(pairs.c.state == SCORED))
    n, exact, within = conn.execute(
        Filters(**{**filters.__dict__, "trainee": trainee_id}).apply(query)).one()
    n = int(n or 0)
    return Agreement(n, float(exact) if n else None, float(within) if n else None)


def trainee_name(conn: Connection, principal: Principal, trainee_id: str) -> str | None:
    """The trainee's name as the RIS sends it; None when no scored pair names them."""
    check(principal, "cohort")
    row = conn.execute(select(pairs.c.trainee_name).where(
        pairs.c.trainee_id == trainee_id, pairs.c.state == SCORED)
        .order_by(pairs.c.id.desc()).limit(1)).first()
    return None if row is None else (row.trainee_name or trainee_id)
