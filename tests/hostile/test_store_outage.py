"""The store going away under the listener: PostgreSQL restarted, SQLite's disk full.
While the store is down every answer is AE (never AA: nothing unstored is acknowledged);
when it is back, the listener carries on without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest import MllpServer
from ingest.replay import MllpClient
from ingest.tables import messages
from radagree.store import make_engine, migrate
from support.fhir import free_port
from support.hl7build import oru
from support.listener import run_listener

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def pg_available() -> bool:
    return os.geteuid() == 0 and bool(list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")))


@pytest.mark.skipif(not pg_available(), reason="needs root and Debian's PostgreSQL binaries")
def test_postgresql_restarted_mid_stream(tmp_path):
    # The server runs as Debian's `postgres` user: its folder must not sit under pytest's
    # root-only tmp_path.
    folder = Path(tempfile.mkdtemp(prefix="radagree-pg-"))
    folder.chmod(0o755)
    port = free_port()
    script = str(ROOT / ".ci" / "postgres.sh")
    out = subprocess.run(["bash", script, "start", str(folder), str(port)], check=True,
                         capture_output=True, text=True).stdout
    url = out.strip().split("=", 1)[1]
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]

    def pg(action: str) -> None:
        extra = ["-m", "immediate"] if action == "stop" else [
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "-l",
            str(folder / "server.log")]
        subprocess.run(["runuser", "-u", "postgres", "--", str(pg_ctl), "-D",
                        str(folder / "data"), "-w", action, *extra], check=True,
                       capture_output=True)

    engine = make_engine(url)
    migrate(engine)
    codes: list[str] = []

    async def body(server: MllpServer) -> None:
        async def send(n: int) -> str:
            client = await MllpClient.connect("127.0.0.1", server.port)
            reply = await client.send(oru(f"PG{n}", "F", "x", control_id=f"PG{n}"), timeout=30)
            await client.close()
            return reply.code

        codes.append(await send(1))
        await asyncio.to_thread(pg, "stop")
        codes.append(await send(2))
        codes.append(await send(3))
        await asyncio.to_thread(pg, "start")
        codes.append(await send(4))
        codes.append(await send(2))  # the sender resends what got AE

    try:
        run_listener(engine, body)
        with engine.connect() as conn:
            stored = set(conn.execute(select(messages.c.control_id)).scalars())
    finally:
        engine.dispose()
        subprocess.run(["bash", script, "stop", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    assert codes == ["AA", "AE", "AE", "AA", "AA"]
    assert stored == {"PG1", "PG4", "PG2"}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None,
                    reason="needs root to mount a small tmpfs")
def test_sqlite_disk_full_answers_ae_and_recovers(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount tmpfs here: " + mounted.stderr.decode()[-200:])
    codes: list[str] = []
    try:
        engine = make_engine(f"sqlite:///{disk / 'radagree.db'}")
        migrate(engine)
        filler = disk / "filler"

        async def body(server: MllpServer) -> None:
            client = await MllpClient.connect("127.0.0.1", server.port)
            codes.append((await client.send(oru("D1", "F", "x"))).code)
            # fill the volume to the last byte
            with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as handle:
                while True:
                    handle.write(b"\0" * 4096)
            big = "Large effusion. " * 8000  # ~128 KB: cannot fit
            codes.append((await client.send(oru("D2", "F", big))).code)
            filler.unlink()  # space returns
            codes.append((await client.send(oru("D3", "F", "x"))).code)
            await client.close()

        run_listener(engine, body)
        with engine.connect() as conn:
            stored = set(conn.execute(select(messages.c.control_id)).scalars())
            check = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            count = conn.execute(select(func.count()).select_from(messages)).scalar()
        engine.dispose()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    assert codes == ["AA", "AE", "AA"]
    assert check == "ok" and count == 2 and len(stored) == 2
