"""kill -9 in the middle of a stream: every ACKed message is stored and processed once.

A real `radagree serve` subprocess on a temp store; four senders stream P/F pairs; the server
is killed without warning; it restarts, the senders resend what was never acknowledged (as an
integration engine does), and the store and the FHIR folder are checked: every pair scored
once, every bundle written once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.replay import MllpClient
from ingest.tables import messages, pairs, reports
from outbound.tables import outbox
from radagree.store import make_engine
from support.hl7build import oru

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(folder: Path, store_url: str, mllp: int, http: int) -> subprocess.Popen:
    env = os.environ | {
        "RADAGREE_STORE__URL": store_url,
        "RADAGREE_MLLP__PORT": str(mllp),
        "RADAGREE_HTTP__PORT": str(http),
        # a short lease so a killed replica's claims on PostgreSQL come back within the test
        "RADAGREE_WORKERS__CLAIM_LEASE_S": "3",
    }
    log = (folder / "serve.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "radagree.cli", "serve"], cwd=folder,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((folder / "serve.log").read_text())
        try:
            socket.create_connection(("127.0.0.1", mllp), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not start listening")


def make_messages(n_pairs: int) -> dict[str, bytes]:
    out = {}
    for i in range(n_pairs):
        out[f"P{i}"] = oru(f"K{i}", "P", "Small left pleural effusion.", control_id=f"P{i}")
        out[f"F{i}"] = oru(f"K{i}", "F", "Small right pleural effusion.", control_id=f"F{i}")
    return out


async def stream(port: int, items: list[tuple[str, bytes]], acked: set[str]) -> None:
    """One sender: send, wait for the ACK, record it; stop quietly when the server dies."""
    try:
        client = await MllpClient.connect("127.0.0.1", port)
        for control_id, message in items:
            reply = await client.send(message, timeout=10)
            assert reply.code == "AA", reply.reason
            acked.add(control_id)
        await client.close()
    except (ConnectionError, asyncio.IncompleteReadError, OSError, TimeoutError):
        pass


def child_pids(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever inherited it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(tmp_path, store_url):
    mllp, http = free_port(), free_port()
    all_messages = make_messages(600)
    order = list(all_messages.items())
    senders = [order[i::4] for i in range(4)]
    acked: set[str] = set()

    proc = start_serve(tmp_path, store_url, mllp, http)

    children: list[int] = []

    async def run_and_kill() -> None:
        tasks = [asyncio.create_task(stream(mllp, part, acked)) for part in senders]
        while len(acked) < 300:
            await asyncio.sleep(0.01)
        children.extend(child_pids(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.gather(*tasks)

    asyncio.run(run_and_kill())
    proc.wait(10)
    assert 300 <= len(acked) < len(all_messages), "the kill must land mid-stream"
    # its worker and delivery processes end with it (they used to wait for work for ever)
    assert len(children) >= 2  # the resource tracker, the scoring worker (and delivery)
    deadline = time.monotonic() + 10
    while any(map(alive, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if alive(c)], "orphans left behind"

    engine = make_engine(store_url)
    with engine.connect() as conn:
        stored = set(conn.execute(select(messages.c.control_id)).scalars())
    assert acked <= stored, f"ACKed but lost: {sorted(acked - stored)[:5]}"

    proc = start_serve(tmp_path, store_url, mllp, http)
    try:
        # The senders resend everything not acknowledged, as integration engines do.
        resend = [(c, m) for c, m in order if c not in acked]
        asyncio.run(stream(mllp, resend, acked))
        assert acked == set(all_messages)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(pairs)
                                    .where(pairs.c.state != "scored")).scalar()
                unparsed = conn.execute(select(func.count()).select_from(messages)
                                        .where(messages.c.state == "received")).scalar()
                n_pairs = conn.execute(select(func.count()).select_from(pairs)).scalar()
                undelivered = conn.execute(select(func.count()).select_from(outbox)
                                           .where(outbox.c.state != "delivered")).scalar()
            if left == 0 and unparsed == 0 and n_pairs == 600 and undelivered == 0:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 1200
        per_message = conn.execute(
            select(reports.c.message_id, func.count()).group_by(reports.c.message_id)
        ).all()
        states = dict(conn.execute(select(pairs.c.state, func.count())
                                   .group_by(pairs.c.state)).all())
        results = conn.execute(select(pairs.c.result)).scalars().all()
    assert len(per_message) == 1200 and all(n == 1 for _, n in per_message)
    assert states == {"scored": 600}
    assert all(r and 0 <= r["esas"] <= 1 for r in results)
    # one FHIR bundle per pair in the folder sink: none lost, none doubled
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(outbox.c.state, func.count())
                                  .group_by(outbox.c.state)).all())
    assert kinds == {"delivered": 600}
    files = list((tmp_path / "fhir-out").glob("*.json"))
    assert len(files) == 600
    accessions = {json.loads(f.read_bytes())["entry"][0]["resource"]["basedOn"][0]
                  ["identifier"]["value"] for f in files}
    assert accessions == {f"K{i}" for i in range(600)}
    engine.dispose()
