"""The MLLP listener over real TCP sockets: ACK paths, duplicates, concurrency, limits, TLS."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from structlog.testing import capture_logs

from ingest import MllpServer
from ingest.framing import frame
from ingest.replay import MllpClient, read_ack
from ingest.tables import messages
from radagree.store import make_engine
from support.hl7build import oru
from support.listener import run_listener

pytestmark = pytest.mark.timeout(60)


def count(engine, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages).where(*where)).scalar()


def test_ack_paths_and_duplicates(engine):
    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        ok = oru("A1", "F", "No effusion.", control_id="M1")
        assert (await client.send(ok)).code == "AA"
        assert (await client.send(ok)).code == "AA"  # resend after a lost ACK
        refused = await client.send(oru("A1", "F", "x", message_type="ADT^A08", control_id="M2"))
        assert refused.code == "AR" and "200" in refused.error.split("^")[0] + refused.raw.decode()
        assert "ADT^A08" in refused.reason
        # the connection stays usable after a refusal
        assert (await client.send(oru("A2", "P", "y", control_id="M3"))).code == "AA"
        await client.close()

    run_listener(engine, body)
    assert count(engine) == 3  # M1 once, M2 stored as rejected, M3
    assert count(engine, messages.c.state == "rejected") == 1


def test_sixteen_connections_at_once(engine):
    async def body(server: MllpServer) -> None:
        async def sender(n: int) -> list[str]:
            client = await MllpClient.connect("127.0.0.1", server.port)
            codes = [(await client.send(oru(f"S{n}-{i}", "P", "text", control_id=f"C{n}-{i}"))
                      ).code for i in range(25)]
            await client.close()
            return codes

        results = await asyncio.gather(*(sender(n) for n in range(16)))
        assert all(code == "AA" for codes in results for code in codes)

    run_listener(engine, body)
    assert count(engine) == 16 * 25


def test_missing_final_cr_is_accepted(engine):
    async def body(server: MllpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x0b" + oru("A1", "F", "x") + b"\x1c")  # no CR
        await writer.drain()
        ack = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 5)
        assert read_ack(ack[1:-2]).code == "AA"
        writer.close()

    run_listener(engine, body)
    assert count(engine) == 1


def test_oversized_message_is_refused_stored_and_closed(engine):
    async def body(server: MllpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(frame(oru("A1", "F", "x", pdf_bytes=200_000)))
        await writer.drain()
        ack = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 5)
        reply = read_ack(ack[1:-2])
        assert reply.code == "AR" and "limit" in reply.reason
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()

    run_listener(engine, body, max_message_bytes=64 * 1024)
    with engine.connect() as conn:
        row = conn.execute(select(messages.c.state, messages.c.size, messages.c.raw)).one()
    assert row.state == "rejected" and row.size > 64 * 1024 and len(row.raw) <= 4096


def test_garbage_closes_the_connection_and_the_server_keeps_serving(engine):
    async def body(server: MllpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("A1", "F", "x"))).code == "AA"
        await client.close()

    run_listener(engine, body)


def test_idle_connection_is_closed(engine):
    async def body(server: MllpServer) -> None:
        reader, _writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""

    run_listener(engine, body, idle_timeout_s=0.3)


def test_connection_cap_and_allow_list(engine):
    async def body(server: MllpServer) -> None:
        first = await MllpClient.connect("127.0.0.1", server.port)
        assert (await first.send(oru("A1", "F", "x"))).code == "AA"
        reader, _ = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # over the cap: closed
        await first.close()

    run_listener(engine, body, max_connections=1)

    async def refused(server: MllpServer) -> None:
        reader, _ = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""

    run_listener(engine, refused, allow_networks=[ip_network("10.0.0.0/8")])


def test_store_down_answers_ae_and_stores_nothing(tmp_path):
    # A real PostgreSQL URL on a port where nothing listens: every commit fails.
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        reply = await client.send(oru("A1", "F", "x"))
        assert reply.code == "AE" and "207" in reply.raw.decode()
        await client.close()

    with capture_logs() as logs:
        run_listener(engine, body)
    failures = [e for e in logs if e["event"].startswith("store_")]
    assert failures == [{"event": "store_unavailable", "error": "OperationalError",
                         "count": 1, "log_level": "error"}]  # once, with its real type


def test_a_defect_in_the_commit_is_not_logged_as_an_outage(engine, monkeypatch):
    """A bug in the commit (here: a wrong type where a value belongs) still answers AE and
    stores nothing, but is logged as what it is, once for its group, not as a store that is
    down; the next message is stored as usual."""
    import ingest.store

    real = ingest.store.store_messages
    calls = []

    def broken_once(conn, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            return real(conn, [*batch[:-1], "not an Incoming"])  # AttributeError inside
        return real(conn, batch)

    monkeypatch.setattr(ingest.store, "store_messages", broken_once)

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("B1", "F", "x"))).code == "AE"
        assert (await client.send(oru("B2", "F", "y"))).code == "AA"
        await client.close()

    with capture_logs() as logs:
        run_listener(engine, body)
    failures = [e for e in logs if e["event"].startswith("store_")]
    assert [(e["event"], e["error"], e["count"]) for e in failures] == [
        ("store_commit_failed", "AttributeError", 1)]
    assert count(engine) == 1


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    import trustme

    folder = tmp_path_factory.mktemp("tls")
    ca, other_ca = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert("sender.example").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "client.pem"))
    other_ca.issue_cert("intruder.example").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "intruder.pem"))
    expired = ca.issue_cert("sender.example", not_before=datetime(2020, 1, 1, tzinfo=UTC),
                            not_after=datetime(2021, 1, 1, tzinfo=UTC))
    expired.private_key_and_cert_chain_pem.write_to_path(str(folder / "expired.pem"))
    other_ca.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    return folder


def _client_context(folder, cert: str | None, ca: str = "ca.pem") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(folder / ca))
    if cert:
        context.load_cert_chain(str(folder / cert))
    return context


async def tls_refusals(registry: CollectorRegistry, n: float) -> None:
    """The server side of a refused handshake ends a moment after the client's."""
    for _ in range(500):
        refused = registry.get_sample_value("radagree_mllp_connections_refused_total",
                                            {"reason": "tls"}) or 0.0
        if refused >= n:
            return
        await asyncio.sleep(0.01)


def test_tls_and_mutual_tls(engine, tls_files):
    """Refused, each with its reason in the log: plain TCP on the TLS port, a client that does
    not trust our CA, and with mutual TLS no certificate, an unknown CA's, an expired one."""
    tls = {"tls_cert": tls_files / "server.pem", "tls_key": tls_files / "server.pem"}

    async def plain_tls(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port,
                                          _client_context(tls_files, None))
        assert (await client.send(oru("T1", "F", "x"))).code == "AA"
        await client.close()
        # a plain-TCP sender gets nothing from a TLS port
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(frame(oru("T2", "F", "x")))
        await writer.drain()
        assert b"MSA" not in await asyncio.wait_for(reader.read(), 5)
        # a sender configured with the wrong CA refuses our certificate
        with pytest.raises(ssl.SSLCertVerificationError):
            await MllpClient.connect("127.0.0.1", server.port,
                                     _client_context(tls_files, None, "other-ca.pem"))
        await tls_refusals(registry, 2)

    registry = CollectorRegistry()
    with capture_logs() as logs:
        run_listener(engine, plain_tls, registry=registry, **tls)
    refused = [e["reason"] for e in logs if e["event"] == "mllp_tls_refused"]
    assert len(refused) == 2 and any("WRONG_VERSION" in r or "HTTP" in r for r in refused)

    async def mutual(server: MllpServer) -> None:
        good = await MllpClient.connect("127.0.0.1", server.port,
                                        _client_context(tls_files, "client.pem"))
        assert (await good.send(oru("T3", "F", "x"))).code == "AA"
        await good.close()
        for cert in (None, "intruder.pem", "expired.pem"):
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                bad = await MllpClient.connect("127.0.0.1", server.port,
                                               _client_context(tls_files, cert))
                await bad.send(oru("T4", "F", "x"), timeout=5)
        await tls_refusals(registry, 3)

    registry = CollectorRegistry()
    with capture_logs() as logs:
        run_listener(engine, mutual, registry=registry, tls_client_ca=tls_files / "ca.pem", **tls)
    refused = [e["reason"] for e in logs if e["event"] == "mllp_tls_refused"]
    assert len(refused) == 3, refused
    assert any("EXPIRED" in r.upper() for r in refused), refused
    assert count(engine) == 2


def test_metrics_count_answers_and_latency(engine):
    registry = CollectorRegistry()

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        await client.send(oru("M1", "F", "x"))
        await client.send(oru("M2", "F", "x", message_type="ADT^A01"))
        await client.close()

    run_listener(engine, body, registry=registry)
    get = registry.get_sample_value
    assert get("radagree_messages_total", {"type": "ORU^R01", "result": "accepted",
                                           "ack": "AA"}) == 1
    assert get("radagree_messages_total", {"type": "ADT^A01", "result": "rejected",
                                           "ack": "AR"}) == 1
    assert get("radagree_ack_latency_seconds_count") == 2


def test_strict_validation_refuses_bad_data_types_and_names_the_field(engine):
    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("V1", "F", "x"))).code == "AA"
        bad = oru("V2", "F", "x").replace(b"|19700101|", b"|1970-01-01|")
        reply = await client.send(bad)
        assert reply.code == "AR" and "PID-7" in reply.reason
        assert "|PID^1^7|102^Data type error^HL70357|E|" in reply.raw.decode()
        await client.close()

    run_listener(engine, body, validation="strict")
    assert count(engine, messages.c.state == "rejected") == 1


def test_a_resent_strict_refusal_gets_the_answer_the_first_copy_got(engine):
    bad = oru("V3", "F", "x", control_id="STRICT1").replace(b"|19700101|", b"|1970-01-01|")

    def err_and_msa(raw: bytes) -> list[str]:
        return [s for s in raw.decode().split("\r") if s[:3] in ("MSA", "ERR")]

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        first = await client.send(bad)
        again = await client.send(bad)  # the sender never saw the first ACK
        await client.close()
        assert first.code == again.code == "AR"
        assert "|PID^1^7|102^Data type error^HL70357|E|" in again.raw.decode()
        assert err_and_msa(again.raw) == err_and_msa(first.raw)

    run_listener(engine, body, validation="strict")
    assert count(engine) == 1


def test_a_reused_control_id_is_accepted(engine, shared_data):
    """The two LinuxForHealth fixtures share MSGID00231 with other bytes: the second used to
    get AR 205, which tells a sender never to send it again. (The processor counts and logs
    the reuse: tests/integration/test_store_pairing.py.)"""
    folder = shared_data / "hl7-samples"
    samples = [(folder / f"lfh_ORU_R01_v26_imaging_multiline_{kind}_lf.hl7").read_bytes()
               for kind in ("TX", "mixed")]

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        codes = [(await client.send(m)).code for m in samples]
        await client.close()
        assert codes == ["AA", "AA"]

    run_listener(engine, body)
    assert count(engine, messages.c.state == "received") == 2


def test_strict_validation_runs_outside_the_listeners_process(engine, monkeypatch):
    """hl7apy holds the GIL for 25-70 ms a message: on the listener's event loop (even on a
    thread of its process) that delayed every other connection's ACK. It runs in a process
    pool, so the listener's own copy of the validator is never called."""
    import ingest.strict

    calls: list[str] = []
    real = ingest.strict.validate_strict

    def in_this_process(text, header):
        calls.append(header.control_id)
        return real(text, header)

    monkeypatch.setattr(ingest.strict, "validate_strict", in_this_process)

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("V4", "F", "x"))).code == "AA"
        bad = oru("V5", "F", "x").replace(b"|19700101|", b"|1970-01-01|")
        assert (await client.send(bad)).code == "AR"
        await client.close()

    run_listener(engine, body, validation="strict")
    assert calls == []


def test_a_dead_validation_pool_answers_ae_and_stores_nothing(engine):
    """A validation process that died is the daemon's fault, not the message's: AE (resend),
    never AR, and the connection stays usable."""
    from concurrent.futures import ThreadPoolExecutor

    dead = ThreadPoolExecutor(1)
    dead.shutdown()

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        for _ in range(2):
            reply = await client.send(oru("V6", "F", "x"))
            assert reply.code == "AE" and "resend" in reply.reason
        await client.close()

    run_listener(engine, body, validation="strict", validation_pool=dead)
    assert count(engine) == 0
