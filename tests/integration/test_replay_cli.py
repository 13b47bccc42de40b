"""`radagree replay`: files of one or many messages, to a live listener or straight into the
store; every refusal reported with its reason; exit code 1 when anything was refused."""

from __future__ import annotations

import asyncio
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ingest import MessageStore, MllpConfig, MllpServer
from ingest.tables import messages
from radagree.cli import main
from radagree.store import make_engine, migrate
from support.hl7build import oru


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "pair.hl7"
    good.write_bytes(oru("R1", "P", "prelim") + b"\n" + oru("R1", "F", "final"))
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"\x0b" + oru("R2", "F", "x", message_type="ADT^A01") + b"\x1c\r")
    return good, bad


def test_replay_direct(tmp_path, files, monkeypatch):
    url = f"sqlite:///{tmp_path / 'direct.db'}"
    monkeypatch.setenv("RADAGREE_STORE__URL", url)
    good, bad = files
    result = CliRunner().invoke(main, ["replay", "--direct", str(good), str(bad)])
    assert result.exit_code == 1
    assert "replayed 3 message(s) from 2 file(s): AA 2, AR 1" in result.output
    assert "bad.hl7 #1: AR" in result.output and "ADT^A01" in result.output
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 3
    ok = CliRunner().invoke(main, ["replay", "--direct", str(good)])
    assert ok.exit_code == 0, ok.output  # the same messages again: duplicates, AA


def test_replay_to_a_live_listener(tmp_path, files):
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    migrate(engine)
    ready = threading.Event()
    port: list[int] = []
    control: dict = {}

    def serve() -> None:
        async def main_() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            control["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
            store = MessageStore(engine)
            store.start()
            server = MllpServer(MllpConfig(port=0), store)
            await server.start()
            port.append(server.port)
            ready.set()
            await stop.wait()
            await server.stop(1)
            await store.stop()

        asyncio.run(main_())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    good, bad = files
    result = CliRunner().invoke(main, ["replay", "--to", f"127.0.0.1:{port[0]}", str(good),
                                       str(bad)])
    assert result.exit_code == 1, result.output
    assert "AA 2, AR 1" in result.output and "ADT^A01" in result.output
    unreachable = CliRunner().invoke(main, ["replay", "--to", "127.0.0.1:9", str(good)])
    assert unreachable.exit_code == 1 and "cannot reach 127.0.0.1:9" in unreachable.output
    usage = CliRunner().invoke(main, ["replay", str(good)])
    assert usage.exit_code == 2 and "--to HOST:PORT or --direct" in usage.output
    control["stop"]()
    thread.join(10)
    assert not thread.is_alive()
