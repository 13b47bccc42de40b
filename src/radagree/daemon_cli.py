"""The operational commands: `serve`, `migrate`, `replay`.

Kept apart from the scoring commands in `cli.py` so that scoring from the command line never
imports the store, the listener or the scheduler.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    envvar="RADAGREE_CONFIG", help="TOML configuration file (default: built-in defaults).",
)


def load_cli_settings(config_path: Path | None) -> object:
    from radagree.settings import load_settings

    try:
        return load_settings(config_path)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]
        click.echo("invalid configuration:\n" + "\n".join(lines), err=True)
        sys.exit(2)
    except tomllib.TOMLDecodeError as exc:
        click.echo(f"invalid configuration: {config_path}: {exc}", err=True)
        sys.exit(2)


@click.command()
@CONFIG_OPTION
def serve(config_path: Path | None) -> None:
    """Run the daemon: MLLP listener, ingest, scoring workers and /metrics."""
    from radagree.daemon import Daemon
    from radagree.logs import configure_from

    settings = load_cli_settings(config_path)
    configure_from(settings.logging)  # type: ignore[attr-defined]
    try:
        asyncio.run(Daemon(settings).serve())  # type: ignore[arg-type]
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc


@click.command("check-config")
@CONFIG_OPTION
def check_config(config_path: Path | None) -> None:
    """Print the effective configuration (file + environment + defaults), secrets masked.

    Exit code 2 naming every invalid key and why.
    """
    settings = load_cli_settings(config_path)
    data = settings.model_dump(mode="json")  # type: ignore[attr-defined]
    source = config_path or os.environ.get("RADAGREE_CONFIG") or "(built-in defaults)"
    click.echo(f"# effective configuration from {source} and RADAGREE_* environment")
    click.echo(json.dumps(data, indent=2))


@click.command()
@CONFIG_OPTION
def migrate(config_path: Path | None) -> None:
    """Create or upgrade the store schema (serve does this at every start)."""
    from radagree.store import open_store

    settings = load_cli_settings(config_path)
    engine = open_store(settings.store.url)  # type: ignore[attr-defined]
    click.echo(f"store schema is current ({engine.dialect.name})")


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="--to")
    return host or "127.0.0.1", int(port)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "target", default=None, help="Send to a running daemon at HOST:PORT.")
@click.option("--direct", is_flag=True, help="Write straight into the store instead.")
@click.option("--tls-ca", type=click.Path(path_type=Path), default=None,
              help="Use TLS, trusting this CA file.")
@click.option("--tls-cert", type=click.Path(path_type=Path), default=None,
              help="Client certificate (mutual TLS).")
@click.option("--tls-key", type=click.Path(path_type=Path), default=None,
              help="Key of the client certificate.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: when stderr is a terminal).")
@CONFIG_OPTION
def replay(files: tuple[Path, ...], target: str | None, direct: bool, tls_ca: Path | None,
           tls_cert: Path | None, tls_key: Path | None, progress: bool | None,
           config_path: Path | None) -> None:
    """Send the HL7 messages in FILES (one or many per file) and report every refusal.

    Exit code 1 if any message was refused (AR/AE), 2 for a usage error.
    """
    from ingest.replay import split_messages

    if (target is None) == (not direct):
        raise click.UsageError("give exactly one of --to HOST:PORT or --direct")
    messages: list[tuple[str, int, bytes]] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"{path}: {exc.strerror}") from exc
        for n, message in enumerate(split_messages(data), start=1):
            messages.append((str(path), n, message))
    show = sys.stderr.isatty() if progress is None else progress
    if direct:
        outcomes = _replay_direct(messages, load_cli_settings(config_path), show)
    else:
        context = None
        if tls_ca is not None or tls_cert is not None:
            context = ssl.create_default_context(cafile=str(tls_ca) if tls_ca else None)
            if tls_cert is not None:
                context.load_cert_chain(tls_cert, tls_key)
        host, port = _host_port(target or "")
        try:
            outcomes = asyncio.run(_replay_mllp(messages, host, port, context, show))
        except (OSError, TimeoutError) as exc:
            raise click.ClickException(f"cannot reach {host}:{port}: {exc}") from exc
    tally = Counter(code for code, _ in outcomes)
    summary = ", ".join(f"{code} {n}" for code, n in sorted(tally.items()))
    click.echo(f"replayed {len(outcomes)} message(s) from {len(files)} file(s): {summary}")
    if any(code != "AA" and code != "CA" for code, _ in outcomes):
        sys.exit(1)


def _report(where: str, code: str, text: str) -> None:
    if code not in ("AA", "CA"):
        click.echo(f"{where}: {code} {text}", err=True)


async def _replay_mllp(
    messages: list[tuple[str, int, bytes]], host: str, port: int,
    context: ssl.SSLContext | None, show: bool,
) -> list[tuple[str, str]]:
    from tqdm import tqdm

    from ingest.replay import MllpClient

    client = await MllpClient.connect(host, port, context)
    out: list[tuple[str, str]] = []
    try:
        for path, n, message in tqdm(messages, disable=not show, unit="msg"):
            ack = await client.send(message)
            _report(f"{path} #{n}", ack.code, ack.reason)
            out.append((ack.code, ack.text))
    finally:
        await client.close()
    return out


def _replay_direct(
    messages: list[tuple[str, int, bytes]], settings: object, show: bool
) -> list[tuple[str, str]]:
    from tqdm import tqdm

    from ingest import Incoming, peek, store_messages
    from radagree.store import open_store

    engine = open_store(settings.store.url)  # type: ignore[attr-defined]
    config = settings.mllp  # type: ignore[attr-defined]
    out: list[tuple[str, str]] = []
    for path, n, message in tqdm(messages, disable=not show, unit="msg"):
        header, rejection = peek(message, config)
        item = Incoming(message, header, rejection, peer="replay", received_at=datetime.now(UTC))
        with engine.begin() as conn:
            stored = store_messages(conn, [item])[0]
        text = str(stored.rejection) if stored.rejection else ""
        _report(f"{path} #{n}", stored.ack_code, text)
        out.append((stored.ack_code, text))
    return out
