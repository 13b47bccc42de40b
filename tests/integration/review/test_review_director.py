"""The program director's path (SQLite and PostgreSQL): from the cohort table into one
trainee's page (cases, rates against the cohort by modality, majors, labelled and conference
cases) and to the printable report for a date range; nobody else reaches either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from review.tables import audit
from support.review_app import RITA, ROB, post_form, signed_in


def test_cohort_to_trainee_page_to_printable_report(app, engine, cohort):
    alan = signed_in(app, "alan")
    pair = cohort.rita[0]
    post_form(alan, f"/pairs/{pair}/conference", f"/pairs/{pair}", note="classic miss")
    post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade="2",
              discrepancy="major", reason="bigger than scored")
    dora = signed_in(app, "dora")
    table = dora.get("/cohort").text
    assert f'href="/cohort/trainees/{RITA.id}"' in table
    page = dora.get(f"/cohort/trainees/{RITA.id}")
    assert page.status_code == 200
    text = page.text
    assert "Rita Resident" in text and "Rob Resident" not in text
    for heading in ("Against the cohort, by modality", "Major discrepancies",
                    "Labelled by an attending", "Teaching-conference cases", "Recent cases"):
        assert heading in text, heading
    assert "classic miss" in text and f"/pairs/{pair}" in text
    assert f"/plots/trend-esas.svg?trainee={RITA.id}" in text
    # Rita: XR 2 (both major), CT 1; the cohort's XR also has Rob's good one
    assert "<td>XR</td><td>2</td><td class=\"muted\">3</td>" in text
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=10)).isoformat()
    report = dora.get(f"/cohort/trainees/{RITA.id}/report?from={start}&to={today}")
    assert report.status_code == 200
    assert f"studies from {start} to {today}" in report.text
    assert "<td>XR</td><td>1</td>" in report.text  # the 40-day-old XR is outside the range
    old_month = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m")
    assert f"<td>{old_month}</td>" not in report.text  # the months are the range's too
    assert f"<td>{old_month}</td>" in text  # while the page shows the last twelve
    assert "/static/print.css" in report.text
    default = dora.get(f"/cohort/trainees/{RITA.id}/report").text
    assert f"to {today}" in default and "classic miss" in default
    with engine.connect() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.detail)
                            .where(audit.c.username == "dora")).all()
    assert ("trainee", f"trainee {RITA.id}") in rows
    assert any(a == "report" and d.startswith(f"trainee {RITA.id} {start}") for a, d in rows)


def test_the_trainee_pages_are_the_directors(app, engine, cohort):
    for name in ("rita", "rob", "alan"):
        client = signed_in(app, name)
        assert client.get(f"/cohort/trainees/{ROB.id}").status_code == 403
        assert client.get(f"/cohort/trainees/{ROB.id}/report").status_code == 403
    assert signed_in(app, "dora").get("/cohort/trainees/NOBODY").status_code == 404
    assert signed_in(app, "adam").get(f"/cohort/trainees/{ROB.id}").status_code == 200
