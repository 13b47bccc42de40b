"""`radagree outbox`: see what is waiting or dead, and send it again once the cause is fixed."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from radagree.daemon_cli import CONFIG_OPTION, load_cli_settings


def _engine(config_path: Path | None) -> object:
    from radagree.store import open_store

    return open_store(load_cli_settings(config_path).store.url)  # type: ignore[attr-defined]


@click.group()
def outbox() -> None:
    """Inspect and re-queue FHIR deliveries."""


@outbox.command("list")
@click.option("--state", type=click.Choice(["pending", "sending", "delivered", "dead",
                                            "superseded"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@CONFIG_OPTION
def list_(state: str | None, limit: int, config_path: Path | None) -> None:
    """One line per bundle, newest first: id, state, attempts, accession, last error."""
    from outbound.tables import outbox as table

    query = select(table.c.id, table.c.state, table.c.attempts, table.c.accession,
                   table.c.version, table.c.kind, table.c.sink, table.c.last_status,
                   table.c.last_error).order_by(table.c.id.desc()).limit(limit)
    if state:
        query = query.where(table.c.state == state)
    with _engine(config_path).connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(query).all()
    click.echo(f"{'id':>6}  {'state':<10} {'tries':>5}  {'sink':<6} {'accession':<20} "
               f"{'ver':>3} {'kind':<6} last error")
    for r in rows:
        error = (r.last_error or "").replace("\n", " ")[:80]
        click.echo(f"{r.id:>6}  {r.state:<10} {r.attempts:>5}  {r.sink:<6} {r.accession:<20} "
                   f"{r.version:>3} {r.kind:<6} {error}")


@outbox.command()
@click.argument("item_id", type=int)
@click.option("--bundle/--no-bundle", default=False, help="Also print the bundle JSON.")
@CONFIG_OPTION
def show(item_id: int, bundle: bool, config_path: Path | None) -> None:
    """Everything about one bundle: state, attempts, the server's OperationOutcome."""
    from outbound.tables import outbox as table

    with _engine(config_path).connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(select(table).where(table.c.id == item_id)).first()
    if row is None:
        raise click.ClickException(f"no outbox item {item_id}")
    data = {k: v for k, v in row._mapping.items() if k != "bundle"}
    click.echo(json.dumps(data, indent=2, default=str))
    if bundle:
        click.echo(json.dumps(row.bundle, indent=2))


@outbox.command()
@click.argument("item_ids", type=int, nargs=-1)
@click.option("--all-dead", is_flag=True, help="Re-queue every dead bundle.")
@CONFIG_OPTION
def retry(item_ids: tuple[int, ...], all_dead: bool, config_path: Path | None) -> None:
    """Put dead bundles back in the queue; the running daemon sends them on its next pass."""
    from outbound import requeue

    if bool(item_ids) == all_dead:
        raise click.UsageError("give bundle ids or --all-dead")
    n = requeue(_engine(config_path), None if all_dead else list(item_ids))  # type: ignore[arg-type]
    click.echo(f"re-queued {n} bundle(s)")
    if item_ids and n < len(item_ids):
        raise click.ClickException("some ids were not dead letters (only dead ones re-queue)")
