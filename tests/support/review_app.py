"""The review app in tests: a seeded store, accounts for each role, signed-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from radagree.store import make_engine, migrate
from review import add_user
from review.config import WebConfig
from review.web import AppConfig, create_app
from support.review_store import PairSpec, Person, scored, seed

PASSWORD = "correct horse battery staple"
RITA = Person("R100", "Rita Resident")
ROB = Person("R200", "Rob Resident")
ALAN = Person("A100", "Alan Attending")
ANNE = Person("A200", "Anne Attending")
PRELIM = "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Small effusion."
FINAL = ("FINDINGS: Large left pleural effusion. Small right pneumothorax.\n"
         "IMPRESSION: Large effusion and right pneumothorax.")
GOOD = "FINDINGS: No pleural effusion. No pneumothorax.\nIMPRESSION: Normal chest."
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    rita: list[int] = field(default_factory=list)  # Rita's pairs (Alan signed them)
    rob: list[int] = field(default_factory=list)   # Rob's pairs (Anne signed them)


def seed_cohort(engine: Any, scorer: Any) -> Seeded:
    """Rita: 3 pairs over two months (one major), signed by Alan; Rob: 2 pairs by Anne."""
    bad, good = scored(scorer, PRELIM, FINAL), scored(scorer, GOOD, GOOD)
    now = datetime.now(UTC)
    out = Seeded()
    out.rita = seed(engine, [
        PairSpec(PRELIM, FINAL, bad, RITA, ALAN, now - timedelta(days=40), modality="XR",
                 region="chest"),
        PairSpec(GOOD, GOOD, good, RITA, ALAN, now - timedelta(days=2), modality="CT",
                 region="chest"),
        PairSpec(PRELIM, FINAL, bad, RITA, ALAN, now - timedelta(hours=1), modality="XR",
                 region="chest"),
    ])
    out.rob = seed(engine, [
        PairSpec(GOOD, GOOD, good, ROB, ANNE, now - timedelta(days=3), modality="XR",
                 region="chest"),
        PairSpec(PRELIM, FINAL, bad, ROB, ANNE, now - timedelta(hours=2), modality="MR",
                 region="head"),
    ])
    return out


def seeded_store(folder: Path, scorer: Any) -> tuple[Any, Seeded]:
    """A migrated SQLite store at `folder`/radagree.db with the cohort seeded: where a served
    app's site (the browser tests) starts."""
    engine = make_engine(f"sqlite:///{folder / 'radagree.db'}")
    migrate(engine)
    return engine, seed_cohort(engine, scorer)


def add_accounts(engine: Any, emails: bool = False) -> None:
    def mail(name: str) -> str:
        return f"{name}@hospital.test" if emails else ""

    add_user(engine, "rita", "trainee", PASSWORD, display_name="Rita Resident",
             practitioner_id=RITA.id, email=mail("rita"))
    add_user(engine, "rob", "trainee", PASSWORD, display_name="Rob Resident",
             practitioner_id=ROB.id, email=mail("rob"))
    add_user(engine, "alan", "attending", PASSWORD, display_name="Alan Attending",
             practitioner_id=ALAN.id)
    add_user(engine, "anne", "attending", PASSWORD, display_name="Anne Attending",
             practitioner_id=ANNE.id)
    add_user(engine, "dora", "director", PASSWORD, display_name="Dora Director")
    add_user(engine, "adam", "admin", PASSWORD, display_name="Adam Admin")


def app_for(engine: Any, tmp_path: Any, **web: Any) -> Any:
    settings = {"secret_key": "test-secret-key-0123456789", "secure_cookies": False, **web}
    config = AppConfig(web=WebConfig(**settings))
    return create_app(config, engine)


def token_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def signed_in(app: Any, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    page = client.get("/login")
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": token_of(page.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def post_form(client: TestClient, path: str, page: str, **fields: str) -> Any:
    """Post a form the way the page would: with the token the page carries."""
    token = token_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
