"""The attending's "not yet graded" filter and count, a form refused for a missing reason
shown again with the error and what was typed, and the trainee's badge for an answered
appeal (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from support.review_app import post_form, signed_in


def ungraded_count(page: str) -> int:
    found = re.search(r'<span class="count">(\d+)</span>', page)
    assert found, "no not-yet-graded count on the page"
    return int(found.group(1))


def test_not_yet_graded_count_and_filter(app, cohort):
    alan = signed_in(app, "alan")
    assert ungraded_count(alan.get("/attending").text) == len(cohort.rita)
    pair = cohort.rita[0]
    answer = post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade="2",
                       discrepancy="major", reason="larger than scored")
    assert answer.status_code == 303
    page = alan.get("/attending?graded=no").text
    assert ungraded_count(page) == len(cohort.rita) - 1
    assert f'href="/pairs/{pair}"' not in page
    assert all(f'href="/pairs/{p}"' in page for p in cohort.rita[1:])
    graded = {p["id"] for p in alan.get("/api/pairs?graded=yes").json()["pairs"]}
    assert graded == {pair}


def test_a_refused_form_comes_back_with_the_error_and_the_typed_text(app, cohort):
    alan = signed_in(app, "alan")
    pair = cohort.rita[0]
    answer = post_form(alan, f"/pairs/{pair}/verdict", f"/pairs/{pair}", grade="5",
                       discrepancy="none", reason="", teaching_note="Look at the apex <b>.")
    assert answer.status_code == 400
    page = answer.text
    assert 'class="error" role="alert">a reason is required' in page
    assert "Look at the apex &lt;b&gt;.</textarea>" in page  # kept, and still escaped
    assert '<option value="5" selected>' in page and '<option value="none" selected>' in page
    assert 'name="csrf_token"' in page  # the page is whole: it can be sent again
    rita = signed_in(app, "rita")
    answer = post_form(rita, f"/pairs/{pair}/comments", f"/pairs/{pair}", body="   ")
    assert answer.status_code == 400 and "a comment is required" in answer.text


def test_an_answered_appeal_is_badged_for_the_trainee(app, cohort):
    rita, alan = signed_in(app, "rita"), signed_in(app, "alan")
    pair = cohort.rita[1]
    assert post_form(rita, f"/pairs/{pair}/appeal", f"/pairs/{pair}",
                     comment="I called it normal and it is").status_code == 303
    assert "appeal answered" not in rita.get("/trainee").text
    appeal_id = re.search(r'/appeals/(\d+)/answer', alan.get(f"/pairs/{pair}").text).group(1)
    assert post_form(alan, f"/appeals/{appeal_id}/answer", f"/pairs/{pair}",
                     answer="Agreed.").status_code == 303
    page = rita.get("/trainee").text
    assert '<span class="badge">appeal answered</span>' in page
    assert "1</span> appeal answered in the last 14 days" in page
