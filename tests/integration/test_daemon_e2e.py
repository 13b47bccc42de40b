"""`radagree serve` as a user runs it: real processes, real ports, the whole mission.

One P and one F over MLLP -> the bundle reaches the FHIR server (Medplum) or the folder;
/metrics counts it; /readyz says ready; the log contains no report text, patient id or name
(fixtures use unique strings so a leak cannot hide); two replicas on one PostgreSQL never
score a pair twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ingest import MllpConfig, peek
from ingest.replay import AckReply, MllpClient
from ingest.tables import messages as messages_table
from ingest.tables import pairs
from outbound.tables import outbox
from radagree.store import make_engine
from support.fhir import free_port
from support.hl7build import oru
from support.openai_fake import FakeOpenAI, echo_valid

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class Serve:
    def __init__(self, folder: Path, **env: str) -> None:
        self.folder = folder
        self.mllp, self.http = free_port(), free_port()
        self.log_path = folder / f"serve-{self.mllp}.log"
        environment = os.environ | {
            "RADAGREE_MLLP__PORT": str(self.mllp), "RADAGREE_HTTP__PORT": str(self.http),
            "RADAGREE_LOGGING__FORMAT": "json", "RADAGREE_WORKERS__POLL_INTERVAL_S": "0.2",
        } | env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radagree.cli", "serve"], cwd=folder, env=environment,
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http}{path}"

    def wait_ready(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                response = httpx.get(self.url("/readyz"), timeout=2)
                if response.status_code == 200:
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("not ready in time")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]


def replies(port: int, *messages: bytes) -> list[AckReply]:
    """One sender: each message, then its ACK."""

    async def run() -> list[AckReply]:
        client = await MllpClient.connect("127.0.0.1", port)
        try:
            return [await client.send(m) for m in messages]
        finally:
            await client.close()

    return asyncio.run(run())


def send(port: int, *messages: bytes) -> list[str]:
    return [reply.code for reply in replies(port, *messages)]


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def unique_case() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10].upper()
    return {
        "accession": f"ACC{tag}",
        "patient_id": f"PID{tag}",
        "patient_name": f"Zyx{tag}^Qwv{tag}",
        "prelim": f"Small left pleural effusion. Marker{tag}alpha sentence.",
        "final": f"Large left pleural effusion. Marker{tag}omega sentence.",
    }


def case_messages(case: dict[str, str]) -> tuple[bytes, bytes]:
    common = {"patient_id": case["patient_id"], "patient_name": case["patient_name"]}
    return (oru(case["accession"], "P", case["prelim"], **common),
            oru(case["accession"], "F", case["final"], **common))


def test_end_to_end_to_the_fhir_server_with_metrics_health_and_clean_logs(
        tmp_path, fhir_server):
    fhir_server.reset()
    case = unique_case()
    serve = Serve(tmp_path, RADAGREE_FHIR__BASE_URL=fhir_server.base_url)
    try:
        ready = serve.wait_ready()
        assert ready["checks"]["store"]["ok"] and ready["checks"]["models"]["ok"]
        assert httpx.get(serve.url("/healthz")).json() == {"status": "alive"}
        assert send(serve.mllp, *case_messages(case)) == ["AA", "AA"]
        system = "https://radagree.org/fhir/sid/report-agreement/observation"
        wait_for(lambda: fhir_server.search("Observation", f"{system}|{case['accession']}"))
        (obs,) = fhir_server.search("Observation", f"{system}|{case['accession']}")
        assert obs["component"][1]["valueInteger"] >= 0
        assert obs["subject"]["identifier"]["value"] == case["patient_id"]
        # quality-improvement work product, restricted: the RIS keeps it out of the chart
        assert {c["code"] for c in obs["meta"]["security"]} >= {"R", "HQUALIMP"}
        metrics = httpx.get(serve.url("/metrics")).text
        assert 'radagree_pairing_events_total{event="paired"} 1.0' in metrics
        wait_for(lambda: 'radagree_deliveries_total{outcome="delivered",sink="fhir"} 1.0'
                 in httpx.get(serve.url("/metrics")).text)
    finally:
        assert serve.stop() == 0
    text = serve.log_path.read_text()
    lines = serve.log_lines()
    assert {"daemon_started", "pair_scored", "daemon_stopped"} <= {x["event"] for x in lines}
    for secret in (case["accession"], case["patient_id"], *case["patient_name"].split("^"),
                   "Marker", "effusion"):
        assert secret not in text, f"{secret!r} leaked into the log"
    scored = next(x for x in lines if x["event"] == "pair_scored")
    assert scored["component"] == "radagree.workers" and len(scored["accession_hash"]) == 16
    # the trainee and the attending are kept on the pair and named in what was delivered
    with sqlite3.connect(tmp_path / "radagree.db") as db:
        people = db.execute("select trainee_id, trainee_name, attending_id, attending_name "
                            "from pairs").fetchone()
        (bundle,) = db.execute("select bundle from outbox where state = 'delivered'").fetchone()
    assert people == ("R123", "Rita Resident", "A456", "Alan Attending")
    provenance = next(e["resource"] for e in json.loads(bundle)["entry"]
                      if e["resource"]["resourceType"] == "Provenance")
    assert [e["agent"][0]["who"]["identifier"]["value"] for e in provenance["entity"]] == \
        ["R123", "A456"]
    for name in ("Rita", "Alan"):
        assert name not in text, f"{name!r} leaked into the log"


def test_defaults_write_bundles_to_the_folder(tmp_path):
    case = unique_case()
    serve = Serve(tmp_path)
    try:
        serve.wait_ready()
        assert send(serve.mllp, *case_messages(case)) == ["AA", "AA"]
        wait_for(lambda: list((tmp_path / "fhir-out").glob("*.json")))
    finally:
        assert serve.stop() == 0
    (path,) = (tmp_path / "fhir-out").glob("*.json")
    bundle = json.loads(path.read_text())
    assert bundle["type"] == "transaction" and case["accession"] in path.name
    assert (tmp_path / "radagree.db").exists()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # SQLite: one daemon
def test_two_replicas_on_postgresql_never_score_a_pair_twice(tmp_path, store_url):
    env = {"RADAGREE_STORE__URL": store_url, "RADAGREE_WORKERS__SCORING_BATCH": "2"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = Serve(tmp_path / "a", **env), Serve(tmp_path / "b", **env)
    messages = [m for i in range(120) for m in case_messages(
        {**unique_case(), "accession": f"R{i:04d}"})]
    try:
        first.wait_ready()
        second.wait_ready()

        async def both() -> None:
            async def to(port: int, part: list[bytes]) -> None:
                client = await MllpClient.connect("127.0.0.1", port)
                for m in part:
                    assert (await client.send(m)).code == "AA"
                await client.close()

            await asyncio.gather(to(first.mllp, messages[0::2]), to(second.mllp, messages[1::2]))

        asyncio.run(both())
        engine = make_engine(store_url)

        def settled() -> bool:
            with engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(outbox)
                                    .where(outbox.c.state == "delivered")).scalar()
            return done == 120

        wait_for(settled, 120)
    finally:
        assert first.stop() == 0 and second.stop() == 0
    with engine.connect() as conn:
        states = dict(conn.execute(select(pairs.c.state, func.count())
                                   .group_by(pairs.c.state)).all())
        per_pair = conn.execute(select(outbox.c.pair_id, func.count())
                                .group_by(outbox.c.pair_id)).all()
    assert states == {"scored": 120}
    assert len(per_pair) == 120 and all(n == 1 for _, n in per_pair)
    scored_by = [sum(1 for x in s.log_lines() if x["event"] == "pair_scored")
                 for s in (first, second)]
    assert sum(scored_by) == 120 and min(scored_by) > 0, scored_by  # both shared the work
    files = list((tmp_path / "a" / "fhir-out").glob("*.json")) + list(
        (tmp_path / "b" / "fhir-out").glob("*.json"))
    assert len(files) == 120
    engine.dispose()


def slow_llm(seconds: float) -> FakeOpenAI:
    """An OpenAI-protocol server that takes `seconds` over every answer (vLLM cannot be made
    slow on demand); the answers themselves are well-formed."""

    def answer(body: dict, _n: int) -> tuple:
        time.sleep(seconds)
        return echo_valid(body)

    return FakeOpenAI(answer)


def held_llm() -> tuple[FakeOpenAI, threading.Event]:
    """An OpenAI-protocol server that answers only once the returned event is set (50 s at
    most, within the daemon's 60 s LLM timeout): a batch held for as long as a test needs."""
    release = threading.Event()
    answered: list[int] = []

    def answer(body: dict, n: int) -> tuple:
        release.wait(50)
        answered.append(n)
        return echo_valid(body)

    server = FakeOpenAI(answer)
    server.answered = answered  # type: ignore[attr-defined]
    return server, release


def llm_env(llm: FakeOpenAI) -> dict[str, str]:
    return {"RADAGREE_SCORING__CLASSIFIER": "llm", "RADAGREE_LLM__BASE_URL": llm.base_url,
            "RADAGREE_LLM__MODEL": "fake", "RADAGREE_LLM__TIMEOUT_S": "60"}


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_batch_slower_than_its_lease_is_renewed_not_taken_again(tmp_path, store_url):
    """Two replicas, a 3 s lease (both release stale claims every second), an LLM that
    answers in 6 s: every batch outlives its lease. Its worker renews the claims, so the other
    replica never takes them: each pair is claimed once, asked of the LLM once, scored once."""
    llm = slow_llm(6.0)
    env = {"RADAGREE_STORE__URL": store_url, "RADAGREE_WORKERS__SCORING_BATCH": "4",
           "RADAGREE_WORKERS__CLAIM_LEASE_S": "3", **llm_env(llm)}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = Serve(tmp_path / "a", **env), Serve(tmp_path / "b", **env)
    cases = [unique_case() for _ in range(8)]
    engine = make_engine(store_url)
    try:
        first.wait_ready()
        second.wait_ready()
        assert send(first.mllp, *[m for c in cases[:4] for m in case_messages(c)]) == ["AA"] * 8
        assert send(second.mllp, *[m for c in cases[4:] for m in case_messages(c)]) == ["AA"] * 8

        def delivered() -> bool:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(outbox)
                                    .where(outbox.c.state == "delivered")).scalar() == 8

        # (claims taken from a live worker pass from replica to replica and never settle:
        # the attempts below then say so)
        deadline = time.monotonic() + 120
        while not delivered() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        assert first.stop() == 0 and second.stop() == 0
        llm.close()
    with engine.connect() as conn:
        attempts = conn.execute(select(pairs.c.state, pairs.c.attempts)).all()
    engine.dispose()
    assert sorted(tuple(a) for a in attempts) == [("scored", 1)] * 8
    assert len(llm.requests) == 8  # no pair was asked twice
    events = [x["event"] for s in (first, second) for x in s.log_lines()]
    assert events.count("pair_scored") == 8 and "claims_released" not in events


def test_parsing_does_not_wait_behind_an_llm_batch(tmp_path):
    """While the scoring worker waits for the LLM (held until the test lets it answer), a new
    message is still validated (strict mode: hl7apy in a process of its own), stored and
    parsed: parsing has a process of its own too. Were parsing queued behind the batch, it
    could not finish before the LLM is released and `wait_for` would run out."""
    llm, release = held_llm()
    serve = Serve(tmp_path, RADAGREE_MLLP__VALIDATION="strict", **llm_env(llm))
    engine = make_engine(f"sqlite:///{tmp_path / 'radagree.db'}")
    try:
        serve.wait_ready()
        assert send(serve.mllp, *case_messages(unique_case())) == ["AA", "AA"]
        wait_for(lambda: len(llm.requests) == 1, 30)  # the batch is now with the LLM
        assert send(serve.mllp, oru("LATE1", "P", "Small left pleural effusion.",
                                    control_id="LATE1")) == ["AA"]

        def parsed() -> bool:
            with engine.connect() as conn:
                return conn.execute(select(messages_table.c.state).where(
                    messages_table.c.control_id == "LATE1")).scalar() == "parsed"

        wait_for(parsed, 40)
        assert not release.is_set()  # parsed while the LLM still held the batch
        bad = oru("BAD1", "F", "x").replace(b"|19700101|", b"|1970-01-01|")
        (reply,) = replies(serve.mllp, bad)
        assert reply.code == "AR" and "PID-7" in reply.reason
    finally:
        release.set()
        assert serve.stop() == 0
        llm.close()
        engine.dispose()
    # the scoring process closed its LLM client (one, shared) on its way out
    assert any(line["event"] == "llm_clients_closed" for line in serve.log_lines())


def _stopping(serve: Serve) -> bool:
    return any(line["event"] == "daemon_stopping" for line in serve.log_lines())


@pytest.mark.parametrize("how", ["second_signal", "grace"])
def test_a_long_llm_batch_cannot_hold_the_daemon(tmp_path, how):
    """An LLM batch in hand that will not end (held for 50 s): a second SIGTERM forces the
    daemon down at once (uvicorn's force_exit); a single one within the shutdown grace (3 s
    here), the scoring process being killed when it runs out. Either way the daemon is gone
    before the LLM answers anything."""
    llm, release = held_llm()
    grace = "120" if how == "second_signal" else "3"
    serve = Serve(tmp_path, RADAGREE_WORKERS__SHUTDOWN_GRACE_S=grace, **llm_env(llm))
    try:
        serve.wait_ready()
        assert send(serve.mllp, *case_messages(unique_case())) == ["AA", "AA"]
        wait_for(lambda: len(llm.requests) == 1, 60)  # the batch is with the LLM
        serve.proc.send_signal(signal.SIGTERM)
        if how == "second_signal":
            wait_for(lambda: _stopping(serve), 30)
            serve.proc.send_signal(signal.SIGTERM)
        # a hang guard: unforced, the batch would hold the daemon until the LLM answers
        assert serve.proc.wait(45) == 0
        assert llm.answered == []  # type: ignore[attr-defined]
    finally:
        release.set()
        if serve.proc.poll() is None:
            serve.proc.kill()
        llm.close()
    lines = serve.log_lines()
    forced = [line for line in lines if line["event"] == "pool_forced_down"]
    reason = "force_exit" if how == "second_signal" else "grace"
    assert [(line["stage"], line["reason"]) for line in forced] == [("scoring", reason)]
    assert ("daemon_force_exit" in [line["event"] for line in lines]) == (
        how == "second_signal")
    assert lines[-1]["event"] == "daemon_stopped"


def test_sigterm_mid_stream_answers_what_it_took_and_exits_cleanly(tmp_path):
    serve = Serve(tmp_path, RADAGREE_WORKERS__SHUTDOWN_GRACE_S="5")
    acked: set[str] = set()
    cases = [unique_case() for _ in range(150)]
    messages = [(f"{c['accession']}-{kind}", m) for c in cases
                for kind, m in zip("PF", case_messages(c), strict=True)]
    try:
        serve.wait_ready()

        async def stream(part: list[tuple[str, bytes]]) -> None:
            try:
                client = await MllpClient.connect("127.0.0.1", serve.mllp)
                for key, message in part:
                    assert (await client.send(message, timeout=10)).code == "AA"
                    acked.add(key)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                pass  # the daemon closed the connection: the sender would resend later

        async def run() -> float:
            tasks = [asyncio.create_task(stream(messages[i::4])) for i in range(4)]
            while len(acked) < 80:
                await asyncio.sleep(0.005)
            started = time.monotonic()
            serve.proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*tasks)
            await asyncio.to_thread(serve.proc.wait, 30)
            return time.monotonic() - started

        took = asyncio.run(run())
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
    # A hang guard only (several times the 5 s grace): how fast it stops is no assertion.
    assert serve.proc.returncode == 0 and took < 60
    assert 80 <= len(acked) < len(messages)
    engine = make_engine(f"sqlite:///{tmp_path / 'radagree.db'}")
    with engine.connect() as conn:
        stored = {_key(raw) for raw in conn.execute(select(messages_table.c.raw)).scalars()}
        claimed = conn.execute(select(func.count()).select_from(pairs)
                               .where(pairs.c.state == "scoring")).scalar()
    assert acked <= stored and claimed == 0
    assert serve.log_lines()[-1]["event"] == "daemon_stopped"


def _key(raw: bytes) -> str:
    """accession-status of a stored message, as the senders keyed what they sent."""
    header, _ = peek(raw, MllpConfig())
    accession, status = header.reports[0]
    return f"{accession}-{status}"
