"""The review app's commands: `web` (its own process over the same store), `user add / list /
role / signout / disable`, and `calibrate --from-store`'s store side.

Kept apart from `daemon_cli` so that the daemon never imports the web stack.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from radagree.daemon_cli import CONFIG_OPTION, load_cli_settings


def app_config(settings: Any) -> Any:
    from review.web import AppConfig

    return AppConfig(web=settings.web, oidc=settings.oidc, smtp=settings.smtp,
                     notify=settings.notify,
                     max_grade=len(settings.scoring.grade_thresholds) + 1)


@click.command()
@CONFIG_OPTION
def web(config_path: Path | None) -> None:
    """Run the review app (trainees, attendings, program directors) on [web] host:port."""
    import uvicorn

    from radagree.logs import configure_from
    from radagree.store import open_store
    from review.web import create_app

    settings: Any = load_cli_settings(config_path)
    configure_from(settings.logging)
    engine = open_store(settings.store.url)
    app = create_app(app_config(settings), engine)
    click.echo(f"review app on http://{settings.web.host}:{settings.web.port} "
               f"(public URL {settings.web.public_url})", err=True)
    # No access log: URLs name pairs, and the audit log already says who opened which.
    # Proxy headers are the app's (create_app, from [web] forwarded_allow_ips only); uvicorn's
    # own would trust 127.0.0.1 whatever is configured.
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, proxy_headers=False,
                access_log=False, log_config=None, server_header=False)


@click.group()
def user() -> None:
    """Accounts of the review app."""


def _user_store(config_path: Path | None) -> Any:
    """The store of the configuration a `user` command names, migrated (`open_store`)."""
    from radagree.store import open_store

    settings: Any = load_cli_settings(config_path)
    return open_store(settings.store.url)


def _account_command(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """A `user` subcommand that acts on one account: USERNAME first (before any argument the
    command adds below this decorator), and --config."""

    def command(f: Callable[..., None]) -> click.Command:
        return user.command(name)(click.argument("username")(CONFIG_OPTION(f)))

    return command


def _audit(engine: Any, action: str, detail: str) -> None:
    """Record what a `user` command did in the review audit log, by the user "cli": account
    changes and listings made on the command line are audited as the app's are."""
    from review import audit

    with engine.begin() as conn:
        audit.record(conn, None, action, username="cli", detail=detail)


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["trainee", "attending", "director", "admin"]),
              required=True)
@click.option("--practitioner-id", default=None,
              help="The person's id as the RIS sends it in OBR-32/33 (trainees, attendings).")
@click.option("--name", "display_name", default="", help="Name shown in the app.")
@click.option("--email", default="", help="For notifications.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@CONFIG_OPTION
def user_add(username: str, role: str, practitioner_id: str | None, display_name: str,
             email: str, password_stdin: bool, config_path: Path | None) -> None:
    """Create a local account (argon2id-hashed password, at least 12 characters)."""
    from review import AccountError, add_user

    if role in ("trainee", "attending") and not practitioner_id:
        raise click.UsageError("trainees and attendings need --practitioner-id (OBR-32/33 id)")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = _user_store(config_path)
    try:
        account = add_user(engine, username, role, password, display_name=display_name,
                           email=email, practitioner_id=practitioner_id)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit(engine, "user_added", f"account {account.id} role {account.role}")
    click.echo(f"added {account.role} {account.username} (id {account.id})")


@_account_command("disable")
def user_disable(username: str, config_path: Path | None) -> None:
    """Deactivate an account: no further sign-in, its open sessions end at once."""
    from review import AccountError, deactivate

    engine = _user_store(config_path)
    try:
        account = deactivate(engine, username)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit(engine, "user_disabled", f"account {account.id}")
    click.echo(f"disabled {account.username} (id {account.id})")


@user.command("list")
@CONFIG_OPTION
def user_list(config_path: Path | None) -> None:
    """Every account: name, role, practitioner id, local/OIDC, active, last sign-in."""
    from review import people

    engine = _user_store(config_path)
    with engine.connect() as conn:
        rows = people.list_accounts(conn)
    _audit(engine, "accounts", f"{len(rows)} accounts")
    click.echo(f"{'id':>4}  {'username':<24} {'role':<10} {'practitioner':<14} "
               f"{'sign-in':<7} {'state':<8} last sign-in")
    for a in rows:
        last = a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at else "never"
        click.echo(f"{a.id:>4}  {a.username:<24} {a.role:<10} {a.practitioner_id or '-':<14} "
                   f"{'oidc' if a.oidc else 'local':<7} "
                   f"{'active' if a.active else 'disabled':<8} {last}")


def _account(engine: Any, username: str) -> Any:
    from review import people

    with engine.connect() as conn:
        found = people.by_name(conn, username)
    if found is None:
        raise click.ClickException(f"no user {username!r}")
    return found


@_account_command("role")
@click.argument("role", type=click.Choice(["trainee", "attending", "director", "admin"]))
def user_role(username: str, role: str, config_path: Path | None) -> None:
    """Give an account another role; its open sessions end at once (audited)."""
    from review import people, sessions

    engine = _user_store(config_path)
    account = _account(engine, username)
    old, new = people.set_role(engine, account.id, role)
    sessions.end_all(engine, account.id)
    _audit(engine, "role_changed", f"account {account.id} {old}->{new}")
    click.echo(f"{account.username} (id {account.id}): {old} -> {new}; sessions ended")


@_account_command("signout")
def user_signout(username: str, config_path: Path | None) -> None:
    """Sign an account out everywhere: every open session ends at once (audited)."""
    from review import sessions

    engine = _user_store(config_path)
    account = _account(engine, username)
    ended = sessions.end_all(engine, account.id)
    _audit(engine, "logout_everywhere", f"account {account.id} by cli, {ended} sessions")
    click.echo(f"{account.username} (id {account.id}): {ended} session(s) ended")


def calibrate_from_store(settings: Any, out_path: Path | None, max_grade: int,
                         min_per_modality: int) -> None:
    from radagree.store import open_store
    from radagree.store_calibration import fit_store, toml_snippet

    engine = open_store(settings.store.url)
    current = tuple(settings.scoring.grade_thresholds)
    by_modality = dict(settings.scoring.grade_thresholds_by_modality)
    if len(current) != max_grade - 1:  # another grade scale: nothing now in force applies
        current = tuple(round(i / max_grade, 4) for i in range(1, max_grade))
        by_modality = {}
    try:
        fits = fit_store(engine, current, max_grade, min_per_modality, by_modality)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for fit in fits:
        click.echo(f"{fit.modality:<8} labels {fit.before.n:>6}  "
                   f"before: exact {fit.before.exact:.1%} within +-1 {fit.before.within_one:.1%}"
                   f"  after: exact {fit.after.exact:.1%} within +-1 "
                   f"{fit.after.within_one:.1%}  thresholds {list(fit.fitted)}")
    snippet = toml_snippet(fits)
    if out_path is not None:
        out_path.write_text(snippet, encoding="utf-8")
        click.echo(f"wrote {out_path}")
    else:
        click.echo(snippet, nl=False)
