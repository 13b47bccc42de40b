"""Fixtures of the review app's tests: a seeded store (SQLite and PostgreSQL) and its app."""

from __future__ import annotations

import pytest

from support.review_app import add_accounts, app_for, seed_cohort


@pytest.fixture
def cohort(engine, scorer):
    seeded = seed_cohort(engine, scorer)
    add_accounts(engine)
    return seeded


@pytest.fixture
def app(engine, cohort, tmp_path):
    return app_for(engine, tmp_path)
