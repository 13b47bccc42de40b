"""Property-based fuzzing (hypothesis) of MLLP framing and HL7 parsing.

In-process: the MSH peek, the ACK builder and the full parser take any bytes without raising
anything but their documented errors. Over a real socket: at least 10,000 generated frames
(valid ORUs mutated, random bytes, broken framing) against one listener — every frame is
answered AA/AE/AR or its connection is closed cleanly, nothing crashes, and the listener still
serves a well-formed message afterwards.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import MllpConfig, MllpServer
from ingest.replay import MllpClient
from support.fuzz import SEEDS, check_message, fire, frames, mutate
from support.hl7build import oru
from support.listener import run_listener

CONFIG = MllpConfig(max_message_bytes=64 * 1024)


payloads = st.one_of(
    st.binary(max_size=2048),
    st.builds(mutate, st.sampled_from(SEEDS), st.randoms(use_true_random=False)),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def test_peek_ack_and_parse_never_crash(data):
    check_message(data, CONFIG)


@pytest.mark.timeout(600)
@pytest.mark.slow  # ~15 s
def test_ten_thousand_frames_over_tcp(engine_sqlite):
    rng = random.Random(20261126)
    wire = frames(rng, 10_000)
    tally = {"answered": 0, "closed": 0}

    async def body(server: MllpServer) -> None:
        outcomes = await asyncio.gather(
            *(fire(server.port, wire[i::8], tally) for i in range(8)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(oru("AFTER", "F", "Still serving."))).code == "AA"
        await client.close()

    run_listener(engine_sqlite, body, max_message_bytes=CONFIG.max_message_bytes)
    assert tally["answered"] + tally["closed"] == len(wire)
    assert tally["answered"] > 8_000
