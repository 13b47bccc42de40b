"""The HTML visualisation in a real headless Chromium: report text carrying script and
attribute-injection payloads stays text. A payload that ran would retitle the page or add an
element; the dumped DOM shows neither, and shows the payload as visible text."""

from __future__ import annotations

import re
import subprocess

import pytest

from scoring import render_html
from support.browser import chromium_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
PAYLOADS = [
    "<script>document.title='PWNED-script'</script>",
    "\"><img src=x onerror=\"document.title='PWNED-img'\">",
    "<svg onload=\"document.title='PWNED-svg'\"></svg>",
    "' onmouseover='alert(1)' x='",
    "</span></p><iframe src=\"javascript:document.title='PWNED-iframe'\"></iframe>",
]


def test_payloads_render_inert_and_visible(scorer, tmp_path):
    prelim = "FINDINGS: Small left pleural effusion. " + " ".join(PAYLOADS)
    final = "FINDINGS: Large left pleural effusion " + PAYLOADS[1] + ". No pneumothorax."
    result = scorer.score(prelim, final)
    page = tmp_path / "view.html"
    page.write_text(render_html(result, prelim, final), encoding="utf-8")
    dom = subprocess.run(
        [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=True).stdout
    assert "<title>radagree: preliminary vs final</title>" in dom
    assert "PWNED" not in dom.split("<body")[0]  # no payload retitled the page
    body = dom.split("<body", 1)[1]
    for tag in ("<script", "<img", "<svg", "<iframe"):
        assert tag not in body.lower(), f"{tag} became an element"
    # visible text (our own entity markup may wrap words inside it: read the text only)
    text = re.sub(r"<[^>]+>", "", body)
    assert "&lt;script&gt;document.title='PWNED-script'&lt;/script&gt;" in text
    assert "onerror=" in text  # as text, escaped around it
