"""`radagree user add` creates argon2id accounts and refuses what it cannot create; every
review-app configuration key is documented in the README with its default."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from radagree.cli import main
from radagree.store import make_engine
from review.config import NotifyConfig, OidcConfig, SmtpConfig, WebConfig
from review.people import verify_password
from review.tables import audit, users

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'radagree.db'}"
    monkeypatch.setenv("RADAGREE_STORE__URL", url)
    return url


def add(*args: str, password: str = "a long enough password") -> object:
    return CliRunner().invoke(main, ["user", "add", *args, "--password-stdin"],
                              input=password + "\n")


def test_user_add_stores_an_argon2id_hash_and_an_audit_row(store):
    result = add("rita", "--role", "trainee", "--practitioner-id", "R123", "--name", "Rita")
    assert result.exit_code == 0, result.output
    engine = make_engine(store)
    with engine.connect() as conn:
        row = conn.execute(select(users)).one()
        logged = conn.execute(select(audit.c.action, audit.c.detail)).all()
    assert row.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in row.password_hash
    assert row.practitioner_id == "R123" and row.role == "trainee"
    assert verify_password(engine, "rita", "a long enough password").id == row.id
    assert verify_password(engine, "rita", "a wrong password!!") is None
    assert logged == [("user_added", f"account {row.id} role trainee")]


def test_user_add_refuses_duplicates_short_passwords_and_missing_ids(store):
    assert add("dora", "--role", "director").exit_code == 0
    again = add("dora", "--role", "director")
    assert again.exit_code == 1 and "exists" in again.output
    short = add("ann", "--role", "admin", password="short")
    assert short.exit_code == 1 and "12 characters" in short.output
    no_id = add("alan", "--role", "attending")
    assert no_id.exit_code == 2 and "--practitioner-id" in no_id.output


def test_user_list_and_role_show_and_change_accounts_audited(store):
    assert add("rita", "--role", "trainee", "--practitioner-id", "R123").exit_code == 0
    assert add("dora", "--role", "director").exit_code == 0
    listed = CliRunner().invoke(main, ["user", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert any("rita" in line and "trainee" in line and "R123" in line for line in lines)
    assert any("dora" in line and "director" in line for line in lines)
    changed = CliRunner().invoke(main, ["user", "role", "rita", "attending"])
    assert changed.exit_code == 0, changed.output
    assert "trainee -> attending" in changed.output
    missing = CliRunner().invoke(main, ["user", "role", "nobody", "admin"])
    assert missing.exit_code == 1 and "no user" in missing.output
    out = CliRunner().invoke(main, ["user", "signout", "dora"])
    assert out.exit_code == 0 and "0 session(s) ended" in out.output
    engine = make_engine(store)
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "rita")).one()
        logged = [r.action for r in conn.execute(select(audit.c.action).order_by(audit.c.id))]
    assert row.role == "attending" and row.session_epoch == 2  # set_role and end_all
    assert logged[-3:] == ["accounts", "role_changed", "logout_everywhere"]


@pytest.mark.parametrize("section,model", [("web", WebConfig), ("oidc", OidcConfig),
                                           ("smtp", SmtpConfig), ("notify", NotifyConfig)])
def test_every_key_is_in_the_readme(section, model):
    text = README.read_text()
    for key in model.model_fields:
        assert f"`{section}.{key}`" in text, f"{section}.{key} is not documented"


def test_user_disable_ends_sessions_and_refuses_sign_in(store, tmp_path):
    from support.review_app import app_for, signed_in

    assert add("rob", "--role", "trainee", "--practitioner-id", "R200").exit_code == 0
    engine = make_engine(store)
    app = app_for(engine, tmp_path)
    client = signed_in(app, "rob", "a long enough password")
    assert client.get("/api/pairs").status_code == 200
    result = CliRunner().invoke(main, ["user", "disable", "rob"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/pairs").status_code == 401  # the open session ended
    assert verify_password(engine, "rob", "a long enough password") is None
    assert CliRunner().invoke(main, ["user", "disable", "nobody"]).exit_code == 1
