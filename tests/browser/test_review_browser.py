"""The review app in a real headless Chromium (Debian's, driven by Playwright), served by
uvicorn, with sign-in through a real OpenID Connect provider (oidc-provider, npm):

- a trainee sees only their own pairs and gets 403 on another trainee's pair by URL and API;
- an attending changes a grade: the label is stored and the live-agreement gauge moves;
- an appeal goes from the trainee to the attending and back;
- a form whose CSRF token was removed is refused;
- script payloads in a report and in a comment stay text (no dialog, no element, no retitle);
- OIDC: authorization code with PKCE (S256), the role from the configured claim.

Screenshots of each role's main page go to $RADAGREE_SCREENS (or the test's temp folder).
"""

from __future__ import annotations

import re
import sqlite3

import httpx
import pytest
from sqlalchemy import select

from review.config import OidcConfig, WebConfig
from review.tables import comments, verdicts
from review.web import AppConfig, create_app
from support.browser import ServedApp, sign_in
from support.fhir import free_port
from support.oidc import CLIENT_ID, CLIENT_SECRET, OidcTestProvider
from support.review_app import ALAN, RITA, add_accounts, seeded_store
from support.review_store import PairSpec, scored, seed

pytestmark = pytest.mark.timeout(300)
PAYLOADS = [
    "<script>window.__pwned='script';alert(1)</script>",
    "\"><img src=x onerror=\"window.__pwned='img';alert(2)\">",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
    "</textarea><iframe src=\"javascript:alert(3)\"></iframe>",
]
OIDC_ACCOUNTS = {
    "alan.oidc": {"name": "Alan via OIDC", "preferred_username": "alan.oidc",
                  "email": "alan@hospital.test", "roles": ["staff", "radagree-attending"],
                  "employee_id": ALAN.id},
    "nobody": {"name": "No Role", "preferred_username": "nobody", "roles": ["staff"],
               "employee_id": "X1"},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory, scorer):
    folder = tmp_path_factory.mktemp("review-browser")
    engine, cohort = seeded_store(folder, scorer)
    prelim = "FINDINGS: Small left pleural effusion. " + " ".join(PAYLOADS)
    final = "FINDINGS: Large left pleural effusion " + PAYLOADS[1] + ". No pneumothorax."
    (xss_pair,) = seed(engine, [PairSpec(prelim, final, scored(scorer, prelim, final), RITA,
                                         ALAN, modality="XR", region="chest")])
    add_accounts(engine)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = OidcTestProvider(url + "/auth/callback", OIDC_ACCOUNTS)
    provider.start()
    config = AppConfig(
        web=WebConfig(secret_key="browser-test-secret-0123456789", public_url=url),
        oidc=OidcConfig(issuer=provider.issuer, client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, practitioner_claim="employee_id"))
    with ServedApp(create_app(config, engine), port) as served:
        yield {"url": served.url, "engine": engine, "cohort": cohort, "xss": xss_pair,
               "db": folder / "radagree.db", "provider": provider}
    provider.stop()
    engine.dispose()


def gauge(site, name: str, modality: str = "all") -> float:
    text = httpx.get(site["url"] + "/metrics").text
    found = re.search(rf'^radagree_review_{name}{{modality="{modality}"}} (\S+)$', text, re.M)
    assert found, text
    return float(found.group(1))


def test_trainee_sees_only_own_pairs_and_403_on_anothers(browser, site, screens):
    page = sign_in(browser, site, "rita")
    assert page.url.endswith("/trainee")
    links = {int(h.rsplit("/", 1)[1]) for h in
             page.eval_on_selector_all("table.pairs a", "els => els.map(e => e.href)")}
    assert links == {*site["cohort"].rita, site["xss"]}
    page.screenshot(path=str(screens / "trainee.png"), full_page=True)
    for pair in site["cohort"].rob:
        response = page.goto(f"{site['url']}/pairs/{pair}")
        assert response.status == 403
        assert "not one of yours" in page.inner_text("main")
        assert page.goto(f"{site['url']}/api/pairs/{pair}").status == 403
    page.context.close()


def test_attending_changes_a_grade_and_the_gauge_moves(browser, site, screens):
    before = gauge(site, "labels")
    exact_before = gauge(site, "agreement_exact")
    page = sign_in(browser, site, "alan")
    assert page.url.endswith("/attending")
    page.screenshot(path=str(screens / "attending.png"), full_page=True)
    pair = site["cohort"].rita[1]
    page.goto(f"{site['url']}/pairs/{pair}")
    auto = int(page.inner_text("#auto-grade"))
    new = auto - 2 if auto > 2 else auto + 2
    page.select_option("#verdict select[name=grade]", str(new))
    page.fill("#verdict textarea[name=reason]", "The impression misses the pneumothorax.")
    page.fill("#verdict textarea[name=teaching_note]", "Check both apices.")
    page.click("#verdict button[type=submit]")
    page.wait_for_load_state()
    assert f"grade {new}" in page.inner_text("#current-verdict")
    with site["engine"].connect() as conn:
        label = conn.execute(select(verdicts).where(verdicts.c.pair_id == pair)
                             .order_by(verdicts.c.id.desc())).first()
    assert label.grade == new and label.auto_grade == auto and label.action == "change"
    assert gauge(site, "labels") == before + 1
    assert gauge(site, "agreement_exact") < exact_before or before == 0
    assert gauge(site, "agreement_within_one") < 1.0
    page.screenshot(path=str(screens / "pair-attending.png"), full_page=True)
    page.context.close()


def test_appeal_round_trip(browser, site):
    pair = site["cohort"].rita[0]
    rita = sign_in(browser, site, "rita")
    rita.goto(f"{site['url']}/pairs/{pair}")
    rita.fill("#appeal textarea[name=comment]", "I described the effusion as small: see prior.")
    rita.click("#appeal button[type=submit]")
    rita.wait_for_load_state()
    assert "I described the effusion as small" in rita.inner_text("main")
    alan = sign_in(browser, site, "alan")
    alan.click(f"ul.appeals a[href='/pairs/{pair}']")
    alan.wait_for_load_state()
    alan.fill(".answer-form textarea[name=answer]", "The final says large; the grade stands.")
    alan.click(".answer-form button[type=submit]")
    alan.wait_for_load_state()
    rita.reload()
    assert "the grade stands" in rita.inner_text("article.appeal")
    rita.context.close()
    alan.context.close()


def test_a_form_without_its_csrf_token_is_refused(browser, site):
    pair = site["cohort"].rita[2]
    page = sign_in(browser, site, "rita")
    page.goto(f"{site['url']}/pairs/{pair}")
    page.fill("#comment textarea[name=body]", "sent without a token")
    # DevTools-evaluated script is not subject to the page's CSP: it plays the attacker's
    # page that cannot know the token.
    page.evaluate("document.querySelector('#comment input[name=csrf_token]').remove()")
    with page.expect_response(f"**/pairs/{pair}/comments") as answer:
        page.click("#comment button[type=submit]")
    assert answer.value.status == 403
    assert "CSRF" in page.inner_text("main")
    with site["engine"].connect() as conn:
        assert not conn.execute(select(comments).where(comments.c.body.like("%without%"))).all()
    page.context.close()


def test_script_in_a_report_and_in_a_comment_stays_text(browser, site):
    pair = site["xss"]
    page = sign_in(browser, site, "rita")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{site['url']}/pairs/{pair}")
    for payload in PAYLOADS:
        page.fill("#comment textarea[name=body]", payload)
        page.click("#comment button[type=submit]")
        page.wait_for_load_state()
    frame = page.frame_locator("iframe.view")
    frame.locator("table").first.wait_for()
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.title().startswith("Pair ")
    main_text = page.inner_text("main")
    for payload in PAYLOADS:
        assert payload in main_text  # shown as the text it is, in the discussion
    for tag in ("script", "img", "svg", "iframe[src^='javascript']"):
        assert page.locator(f"main .comment {tag}").count() == 0
        assert frame.locator(f"body .report {tag}").count() == 0
    assert "onerror=" in frame.locator(".report").first.inner_text()
    page.context.close()


def test_director_and_admin_main_pages(browser, site, screens):
    for username, name in (("dora", "director"), ("adam", "admin")):
        page = sign_in(browser, site, username)
        assert page.url.endswith("/cohort")
        rows = page.locator("table.cohort tbody tr")
        assert rows.count() == 2  # Rita and Rob
        page.locator("img[alt='Distribution of automatic grades']").wait_for()
        assert page.evaluate(
            "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(screens / f"{name}.png"), full_page=True)
        page.context.close()


def test_oidc_sign_in_with_pkce_and_role_from_claim(browser, site, screens):
    context = browser.new_context()
    page = context.new_page()
    authorize: list[str] = []
    page.on("request", lambda r: authorize.append(r.url) if "/auth?" in r.url else None)
    page.goto(site["url"] + "/login")
    page.click("#oidc")
    page.wait_for_selector("input[name=login]")
    page.screenshot(path=str(screens / "oidc-provider-login.png"))
    page.fill("input[name=login]", "alan.oidc")
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/interaction/" in page.url:  # the provider's consent page
        page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/attending$"))
    assert "Alan via OIDC" in page.inner_text("header")
    links = {int(h.rsplit("/", 1)[1]) for h in
             page.eval_on_selector_all("table.pairs a", "els => els.map(e => e.href)")}
    assert set(site["cohort"].rita) <= links  # employee_id claim = Alan's practitioner id
    assert authorize and "code_challenge_method=S256" in authorize[0]
    assert "code_challenge=" in authorize[0]
    with sqlite3.connect(site["db"]) as db:
        row = db.execute("select role, practitioner_id, password_hash from review_users "
                         "where oidc_subject = 'alan.oidc'").fetchone()
    assert row == ("attending", ALAN.id, None)
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.goto(site["url"] + "/login/oidc")
    page.fill("input[name=login]", "nobody")
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/interaction/" in page.url:
        with page.expect_response(re.compile(r".*/auth/callback.*")) as answer:
            page.click("button[type=submit]")
        assert answer.value.status == 403
    assert "no radagree role" in page.inner_text("body")
    context.close()
