"""What every browser test shares: one headless Debian Chromium per module and a folder for
screenshots (signing in through the form: `support.browser.sign_in`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from support.browser import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def screens(tmp_path) -> Path:
    folder = Path(os.environ.get("RADAGREE_SCREENS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
