"""Every list, filter, trend and export of the review app is dated by the study (SQLite and
PostgreSQL): studies of October loaded in December are October's."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from review import queries
from review.people import Principal
from support.review_app import ALAN, GOOD, RITA, signed_in
from support.review_store import PairSpec, scored, seed

SEPTEMBER = datetime(2026, 9, 14, 8, 30, tzinfo=UTC)


def test_lists_filters_exports_and_trends_use_the_study_date(app, engine, cohort, scorer):
    (old,) = seed(engine, [PairSpec(GOOD, GOOD, scored(scorer, GOOD, GOOD), RITA, ALAN,
                                    study_at=SEPTEMBER, modality="CT", region="chest")])
    rita = signed_in(app, "rita")
    september = {p["id"] for p in rita.get("/api/pairs?from=2026-09-01&to=2026-09-30")
               .json()["pairs"]}
    assert september == {old}  # arrived today, studied in September
    page = rita.get("/trainee?from=2026-09-01&to=2026-09-30").text
    assert "2026-09-14" in page and f"/pairs/{old}" in page
    assert "2026-09-14 08:30" in rita.get(f"/pairs/{old}").text
    export = list(csv.DictReader(io.StringIO(rita.get("/pairs.csv").text)))
    row = next(r for r in export if r["pair_id"] == str(old))
    assert row["study_at"].startswith("2026-09-14T08:30")
    assert not row["received_at"].startswith("2026-09")
    dora = Principal(0, "dora", "Dora", "director", None)
    with engine.connect() as conn:
        months = {m: n for m, n, _, _ in queries.monthly(
            conn, dora, datetime(2026, 1, 1, tzinfo=UTC), trainee_id=RITA.id)}
    assert months.get("2026-09") == 1
