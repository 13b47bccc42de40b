"""Issue #18 in a real headless Chromium (Debian's, through Playwright), served by uvicorn:

- a cookie copied before "Sign out" is refused after it (the session is dead on the server);
- an administrator signs another account out everywhere from /admin;
- the director's path: cohort table -> one trainee's page -> the printable report, whose
  print layout drops the navigation and forms;
- the attending's not-yet-graded count, and a refused form shown again with the error and
  the typed text; the trainee's badge for an answered appeal.

Screenshots of the new pages go to $RADAGREE_SCREENS (or the test's temp folder).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from review.config import WebConfig
from review.web import AppConfig, create_app
from support.browser import ServedApp, sign_in
from support.fhir import free_port
from support.review_app import RITA, add_accounts, seeded_store

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def site(tmp_path_factory, scorer):
    folder = tmp_path_factory.mktemp("review-browser-18")
    engine, cohort = seeded_store(folder, scorer)
    add_accounts(engine)
    port = free_port()
    config = AppConfig(web=WebConfig(secret_key="browser-test-secret-0123456789",
                                     public_url=f"http://127.0.0.1:{port}"))
    with ServedApp(create_app(config, engine), port) as served:
        yield {"url": served.url, "engine": engine, "cohort": cohort}
    engine.dispose()


def test_a_copied_cookie_is_dead_after_sign_out(browser, site):
    page = sign_in(browser, site, "rita")
    pair = site["cohort"].rita[0]
    thief = browser.new_context()
    thief.add_cookies(page.context.cookies())
    stolen = thief.new_page()
    response = stolen.goto(f"{site['url']}/api/pairs/{pair}")
    assert response.status == 200 and "preliminary" in json.loads(stolen.inner_text("body"))
    page.click("form.logout button:has-text('Sign out')")
    page.wait_for_url("**/login")
    assert stolen.goto(f"{site['url']}/api/pairs/{pair}").status == 401
    stolen.goto(f"{site['url']}/trainee")
    assert stolen.url.endswith("/login")
    thief.close()
    page.context.close()


def test_an_admin_signs_a_user_out_everywhere(browser, site, screens):
    rob = sign_in(browser, site, "rob")
    assert rob.url.endswith("/trainee")
    admin = sign_in(browser, site, "adam")
    admin.click("nav a:has-text('Accounts')")
    admin.wait_for_url("**/admin")
    admin.screenshot(path=str(screens / "admin.png"), full_page=True)
    row = admin.locator("table.accounts tr", has_text="Rob Resident")
    row.locator("button:has-text('Sign out everywhere')").click()
    admin.wait_for_load_state()
    assert "signed out" in admin.inner_text("p.notice")
    rob.goto(f"{site['url']}/trainee")
    assert rob.url.endswith("/login")
    admin.context.close()
    rob.context.close()


def test_director_goes_from_the_cohort_to_a_trainees_printable_report(browser, site, screens):
    page = sign_in(browser, site, "dora")
    assert page.url.endswith("/cohort")
    page.click(f"table.cohort a[href='/cohort/trainees/{RITA.id}']")
    page.wait_for_url(f"**/cohort/trainees/{RITA.id}")
    assert "Rita Resident" in page.inner_text("h1")
    assert page.locator("table.rates tbody tr").count() >= 2  # XR, CT and the total
    page.screenshot(path=str(screens / "trainee-page.png"), full_page=True)
    today = datetime.now(UTC).date()
    page.fill("input[name=from]", (today - timedelta(days=60)).isoformat())
    page.fill("input[name=to]", today.isoformat())
    page.click("button:has-text('Printable report')")
    page.wait_for_url("**/report?**")
    assert "Semiannual review: Rita Resident" in page.inner_text("h1")
    page.screenshot(path=str(screens / "trainee-report.png"), full_page=True)
    page.emulate_media(media="print")
    hidden = page.evaluate("getComputedStyle(document.querySelector('header.top')).display")
    assert hidden == "none"
    page.screenshot(path=str(screens / "trainee-report-print.png"), full_page=True)
    pdf = page.pdf(format="A4")  # what "Save as PDF" gives
    assert pdf.startswith(b"%PDF")
    (screens / "trainee-report.pdf").write_bytes(pdf)
    page.context.close()


def test_attending_ungraded_count_refused_form_and_trainee_badge(browser, site, screens):
    pair = site["cohort"].rita[2]
    alan = sign_in(browser, site, "alan")
    count = int(alan.inner_text("p.ungraded .count"))
    assert count >= 1
    alan.screenshot(path=str(screens / "attending-ungraded.png"), full_page=True)
    alan.goto(f"{site['url']}/pairs/{pair}")
    auto = int(alan.inner_text("#auto-grade"))
    alan.select_option("#verdict select[name=grade]", str(auto - 2 if auto > 2 else auto + 2))
    alan.fill("#verdict textarea[name=teaching_note]", "Compare with the old film.")
    alan.click("#verdict button[type=submit]")
    alan.wait_for_load_state()
    assert "a reason is required" in alan.inner_text("#verdict .error")
    assert alan.input_value("#verdict textarea[name=teaching_note]") == \
        "Compare with the old film."
    alan.screenshot(path=str(screens / "refused-form.png"), full_page=True)
    rita = sign_in(browser, site, "rita")
    rita.goto(f"{site['url']}/pairs/{pair}")
    rita.fill("#appeal textarea[name=comment]", "The effusion was small on my read.")
    rita.click("#appeal button[type=submit]")
    rita.wait_for_load_state()
    alan.goto(f"{site['url']}/pairs/{pair}")
    alan.fill(".answer-form textarea[name=answer]", "It measured 4 cm.")
    alan.click(".answer-form button[type=submit]")
    alan.wait_for_load_state()
    rita.goto(f"{site['url']}/trainee")
    assert "appeal answered" in rita.inner_text("section.answered")
    assert rita.locator("table.pairs span.badge").count() == 1
    rita.screenshot(path=str(screens / "trainee-badge.png"), full_page=True)
    alan.context.close()
    rita.context.close()
