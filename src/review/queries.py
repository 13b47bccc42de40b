"""Read queries of the review app. Every one takes the `Principal`, checks the role it
needs (`access.check`, the same check the handlers make) and applies `access.visible`, so no
page can forget either.

The lists read the headline columns of `pairs` (esas, grade, discrepancy, modality, region,
trainee_id, attending_id) and never parse result JSON: at 100,000 pairs that is what keeps a
trainee's list and the cohort table within their budgets (bench/review_load.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from review.access import check, visible
from review.people import Principal
from review.sources import SCORED, pairs, reports
from review.tables import OPEN, appeals, comments, conference, users, verdicts
from scoring import MODALITIES, REGIONS

DISCREPANCIES = ("none", "minor", "major")


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed by (all optional; unknown values are dropped upstream)."""

    modality: str | None = None
    region: str | None = None
    grade: int | None = None
    discrepancy: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    # True: pairs an attending has graded (a verdict exists); False: not yet graded.
    graded: bool | None = None
    # One trainee's pairs (a director's view of one trainee; anyone else's view is already
    # narrowed by `visible`, so naming another trainee finds nothing).
    trainee: str | None = None

    @classmethod
    def parse(cls, params: Any) -> Filters:
        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = params.get(name) or None
            return value if value in allowed else None

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(params.get(name) or "")
            except ValueError:
                return None

        grade = params.get("grade") or ""
        graded = {"yes": True, "no": False}.get(params.get("graded") or "")
        trainee = (params.get("trainee") or "")[:199] or None
        return cls(modality=pick("modality", MODALITIES), region=pick("region", REGIONS),
                   grade=int(grade) if grade.isdigit() and 1 <= int(grade) <= 9 else None,
                   discrepancy=pick("discrepancy", DISCREPANCIES),
                   date_from=day("from"), date_to=day("to"), graded=graded, trainee=trainee)

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.modality:
            query = query.where(pairs.c.modality == self.modality)
        if self.region:
            query = query.where(pairs.c.region == self.region)
        if self.grade is not None:
            query = query.where(pairs.c.grade == self.grade)
        if self.discrepancy:
            query = query.where(pairs.c.discrepancy == self.discrepancy)
        if self.date_from:
            query = query.where(pairs.c.study_at >= datetime.combine(self.date_from,
                                                                     datetime.min.time()))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), datetime.min.time())
            query = query.where(pairs.c.study_at < end)
        if self.graded is not None:
            labelled = exists().where(verdicts.c.pair_id == pairs.c.id)
            query = query.where(labelled if self.graded else ~labelled)
        if self.trainee:
            query = query.where(pairs.c.trainee_id == self.trainee)
        return query

    def as_params(self) -> dict[str, str]:
        out = {"modality": self.modality, "region": self.region,
               "grade": str(self.grade) if self.grade else None,
               "discrepancy": self.discrepancy,
               "from": self.date_from.isoformat() if self.date_from else None,
               "to": self.date_to.isoformat() if self.date_to else None,
               "graded": None if self.graded is None else ("yes" if self.graded else "no"),
               "trainee": self.trainee}
        return {k: v for k, v in out.items() if v}


@dataclass
class PairRow:
    id: int
    accession: str
    version: int
    created_at: datetime  # arrival
    study_at: datetime    # the study's own time (OBR-7, else OBR-22, else arrival)
    esas: float | None
    grade: int | None
    discrepancy: str | None
    modality: str
    region: str
    procedure: str
    trainee_id: str | None
    trainee_name: str | None
    attending_id: str | None
    attending_name: str | None
    verdict_grade: int | None = None
    verdict_discrepancy: str | None = None
    open_appeal: bool = False
    appeal_answered: bool = False  # the trainee's badge: an attending answered their appeal
    conference: bool = False


_LIST_COLUMNS = (pairs.c.id, pairs.c.accession, pairs.c.version, pairs.c.created_at,
                 pairs.c.study_at, pairs.c.esas, pairs.c.grade, pairs.c.discrepancy,
                 pairs.c.modality, pairs.c.region, pairs.c.trainee_id, pairs.c.trainee_name,
                 pairs.c.attending_id, pairs.c.attending_name)


def list_pairs(conn: Connection, principal: Principal, filters: Filters, *, limit: int,
               before: int | None = None, mine: str = "auto") -> list[PairRow]:
    """The person's pairs, newest first, `limit` at a time (keyset: ids below `before`).

    `mine`: for a director, "auto" lists everyone's; a trainee or attending always gets their
    own (the access condition), whatever is asked.
    """
    check(principal, "pairs")
    final = aliased(reports, name="final")
    query = (select(*_LIST_COLUMNS, final.c.procedure)
             .join(final, final.c.id == pairs.c.final_report_id)
             .where(pairs.c.state == SCORED, visible(principal)))
    query = filters.apply(query)
    if before is not None:
        query = query.where(pairs.c.id < before)
    rows = conn.execute(query.order_by(pairs.c.id.desc()).limit(limit)).all()
    out = [_row(r) for r in rows]
    _decorate(conn, out)
    return out


def count_pairs(conn: Connection, principal: Principal, filters: Filters) -> int:
    """How many of the person's scored pairs match (the attending's "not yet graded")."""
    check(principal, "pairs")
    query = select(func.count()).select_from(pairs).where(pairs.c.state == SCORED,
                                                          visible(principal))
    return int(conn.execute(filters.apply(query)).scalar_one())


def _row(r: Any) -> PairRow:
    m = r._mapping
    return PairRow(
        id=m["id"], accession=m["accession"], version=m["version"],
        created_at=m["created_at"], study_at=m["study_at"] or m["created_at"],
        esas=m["esas"], grade=m["grade"],
        discrepancy=m["discrepancy"], modality=m["modality"] or "unknown",
        region=m["region"] or "unknown", procedure=_procedure(m["procedure"]),
        trainee_id=m["trainee_id"], trainee_name=m["trainee_name"],
        attending_id=m["attending_id"], attending_name=m["attending_name"])


def _procedure(value: str | None) -> str:
    """OBR-4 as a person reads it: the text component when there is one."""
    parts = (value or "").split("^")
    return (parts[1] if len(parts) > 1 and parts[1] else parts[0]).strip()


def _decorate(conn: Connection, rows: list[PairRow]) -> None:
    """Current verdict, appeals (open, answered) and conference mark of each listed pair (3
    small reads)."""
    ids = [r.id for r in rows]
    if not ids:
        return
    by_id = {r.id: r for r in rows}
    latest = (select(func.max(verdicts.c.id)).where(verdicts.c.pair_id.in_(ids))
              .group_by(verdicts.c.pair_id))
    for pair_id, grade, disc in conn.execute(
            select(verdicts.c.pair_id, verdicts.c.grade, verdicts.c.discrepancy)
            .where(verdicts.c.id.in_(latest))):
        by_id[pair_id].verdict_grade, by_id[pair_id].verdict_discrepancy = grade, disc
    for pair_id, state in conn.execute(select(appeals.c.pair_id, appeals.c.state).where(
            appeals.c.pair_id.in_(ids))):
        if state == OPEN:
            by_id[pair_id].open_appeal = True
        else:
            by_id[pair_id].appeal_answered = True
    for (pair_id,) in conn.execute(select(conference.c.pair_id).where(
            conference.c.pair_id.in_(ids), conference.c.active.is_(True))):
        by_id[pair_id].conference = True


@dataclass
class PairDetail:
    row: PairRow
    prelim_text: str | None
    final_text: str | None
    result: dict[str, Any] | None
    trainee_authority: str | None
    attending_authority: str | None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    conference_note: str | None = None


def pair_detail(conn: Connection, principal: Principal, pair_id: int) -> PairDetail | None:
    """One pair with its texts and its review history; None when it is not the person's."""
    check(principal, "pairs")
    prelim, final = aliased(reports, name="prelim"), aliased(reports, name="final")
    row = conn.execute(
        select(*_LIST_COLUMNS, final.c.procedure, prelim.c.text.label("prelim_text"),
               final.c.text.label("final_text"), pairs.c.result, pairs.c.trainee_authority,
               pairs.c.attending_authority)
        .join(final, final.c.id == pairs.c.final_report_id)
        .outerjoin(prelim, prelim.c.id == pairs.c.prelim_report_id)
        .where(pairs.c.id == pair_id, pairs.c.state == SCORED, visible(principal))
    ).first()
    if row is None:
        return None
    base = _row(row)
    _decorate(conn, [base])
    author = aliased(users, name="author")
    answerer = aliased(users, name="answerer")
    detail = PairDetail(base, row.prelim_text, row.final_text, row.result,
                        row.trainee_authority, row.attending_authority)
    detail.verdicts = [dict(r._mapping) for r in conn.execute(
        select(verdicts, author.c.display_name.label("by"))
        .join(author, author.c.id == verdicts.c.user_id)
        .where(verdicts.c.pair_id == pair_id).order_by(verdicts.c.id))]
    detail.appeals = [dict(r._mapping) for r in conn.execute(
        select(appeals, author.c.display_name.label("by"),
               answerer.c.display_name.label("answered_by_name"))
        .join(author, author.c.id == appeals.c.user_id)
        .outerjoin(answerer, answerer.c.id == appeals.c.answered_by)
        .where(appeals.c.pair_id == pair_id).order_by(appeals.c.id))]
    detail.comments = [dict(r._mapping) for r in conn.execute(
        select(comments, author.c.display_name.label("by"))
        .join(author, author.c.id == comments.c.user_id)
        .where(comments.c.pair_id == pair_id).order_by(comments.c.id))]
    mark = conn.execute(select(conference.c.note).where(
        conference.c.pair_id == pair_id, conference.c.active.is_(True))).first()
    detail.conference_note = mark.note if mark is not None else None
    return detail


def open_appeals(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """Appeals waiting for an answer on pairs the person may see (the attending's inbox)."""
    check(principal, "pairs")
    author = aliased(users, name="author")
    return [dict(r._mapping) for r in conn.execute(
        select(appeals.c.id, appeals.c.pair_id, appeals.c.opened_at, pairs.c.accession,
               author.c.display_name.label("by"))
        .join(pairs, pairs.c.id == appeals.c.pair_id)
        .join(author, author.c.id == appeals.c.user_id)
        .where(appeals.c.state == OPEN, visible(principal))
        .order_by(appeals.c.id))]


def answered_appeals(conn: Connection, principal: Principal,
                     since: datetime) -> list[dict[str, Any]]:
    """The person's own appeals answered since `since` (the trainee's badge)."""
    check(principal, "appeal")
    return [dict(r._mapping) for r in conn.execute(
        select(appeals.c.id, appeals.c.pair_id, appeals.c.answered_at, pairs.c.accession)
        .join(pairs, pairs.c.id == appeals.c.pair_id)
        .where(appeals.c.user_id == principal.id, appeals.c.state != OPEN,
               appeals.c.answered_at >= since, visible(principal))
        .order_by(appeals.c.answered_at.desc()))]


@dataclass
class CohortRow:
    trainee_id: str
    trainee_name: str
    pairs: int
    mean_esas: float
    major_rate: float
    labelled: int
    label_exact: float | None
    label_within_one: float | None


def latest_verdicts() -> Any:
    latest = select(func.max(verdicts.c.id).label("id")).group_by(verdicts.c.pair_id).subquery()
    return (select(verdicts.c.pair_id, verdicts.c.grade, verdicts.c.auto_grade)
            .join(latest, latest.c.id == verdicts.c.id).subquery())


def cohort(conn: Connection, principal: Principal, filters: Filters) -> list[CohortRow]:
    """Per trainee: pairs, mean ESAS, major-discrepancy rate, and how often their attendings'
    grades agree with the automatic grade (exact, within one)."""
    check(principal, "cohort")
    query = (select(pairs.c.trainee_id, func.max(pairs.c.trainee_name),
                    func.count(), func.avg(pairs.c.esas),
                    func.avg(case((pairs.c.discrepancy == "major", 1.0), else_=0.0)))
             .where(pairs.c.state == SCORED, pairs.c.trainee_id.is_not(None))
             .group_by(pairs.c.trainee_id))
    rows = conn.execute(filters.apply(query)).all()
    label = latest_verdicts()
    agree_q = (select(pairs.c.trainee_id, func.count(),
                      func.avg(case((label.c.grade == label.c.auto_grade, 1.0), else_=0.0)),
                      func.avg(case((func.abs(label.c.grade - label.c.auto_grade) <= 1, 1.0),
                                    else_=0.0)))
               .join(label, label.c.pair_id == pairs.c.id)
               .where(pairs.c.trainee_id.is_not(None))
               .group_by(pairs.c.trainee_id))
    agree = {r[0]: r[1:] for r in conn.execute(filters.apply(agree_q))}
    out = []
    for trainee_id, name, n, mean, major in rows:
        labelled, exact, within = agree.get(trainee_id, (0, None, None))
        out.append(CohortRow(trainee_id, name or trainee_id, int(n), float(mean or 0.0),
                             float(major or 0.0), int(labelled),
                             None if exact is None else float(exact),
                             None if within is None else float(within)))
    out.sort(key=lambda r: (r.trainee_name or "").lower())
    return out


def conference_list(conn: Connection, principal: Principal,
                    filters: Filters | None = None) -> list[dict[str, Any]]:
    """The teaching-conference cases the person may see (narrowed by `filters`: one
    trainee's, a date range)."""
    check(principal, "pairs")
    marker = aliased(users, name="marker")
    query = (select(conference.c.pair_id, conference.c.note, conference.c.marked_at,
                    marker.c.display_name.label("by"), pairs.c.accession, pairs.c.grade,
                    pairs.c.discrepancy, pairs.c.modality, pairs.c.region, pairs.c.study_at,
                    pairs.c.trainee_name)
             .join(pairs, pairs.c.id == conference.c.pair_id)
             .join(marker, marker.c.id == conference.c.user_id)
             .where(conference.c.active.is_(True), visible(principal)))
    if filters is not None:
        query = filters.apply(query)
    return [dict(r._mapping) for r in conn.execute(
        query.order_by(conference.c.marked_at.desc()))]


def month_of(conn: Connection) -> Any:
    """`YYYY-MM` of a pair's study, in the store's own dialect (UTC on PostgreSQL: study
    times are stored as UTC-tagged wall-clock times, `ingest.studytime`)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", pairs.c.study_at), "YYYY-MM")
    return func.strftime("%Y-%m", pairs.c.study_at)


def monthly(conn: Connection, principal: Principal, since: datetime, *,
            trainee_id: str | None) -> list[tuple[str, int, float, float]]:
    """(month, pairs, mean ESAS, major rate): one trainee's pairs among those the person may
    see, or (`trainee_id` None) the whole cohort's, anonymous, the line every role's plot
    draws beside its own."""
    check(principal, "pairs")
    if trainee_id is None:
        condition: Any = pairs.c.trainee_id.is_not(None)
    else:
        condition = and_(pairs.c.trainee_id == trainee_id, visible(principal))
    month = month_of(conn).label("month")
    query = (select(month, func.count(), func.avg(pairs.c.esas),
                    func.avg(case((pairs.c.discrepancy == "major", 1.0), else_=0.0)))
             .where(pairs.c.state == SCORED, pairs.c.study_at >= since, condition)
             .group_by(month).order_by(month))
    return [(m, int(n), float(e or 0), float(r or 0)) for m, n, e, r in conn.execute(query)]


def grade_counts(conn: Connection, principal: Principal, filters: Filters) -> dict[int, int]:
    """How many of the visible pairs got each grade (the distribution plot)."""
    check(principal, "pairs")
    query = (select(pairs.c.grade, func.count()).where(pairs.c.state == SCORED,
                                                       visible(principal),
                                                       pairs.c.grade.is_not(None))
             .group_by(pairs.c.grade))
    return {int(g): int(n) for g, n in conn.execute(filters.apply(query))}
