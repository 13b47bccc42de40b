"""Generated MLLP traffic for the fuzz test (short, in CI) and `bench/fuzz_long.py` (long).

Valid ORUs mutated byte-wise, random bytes, frames without their final CR, and garbage outside
any frame; `fire` sends them over real sockets and tallies how each was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from ingest.ack import build_ack
from ingest.config import MllpConfig
from ingest.errors import ParseError
from ingest.framing import frame
from ingest.header import peek
from ingest.message import parse_reports
from ingest.replay import read_ack
from support.hl7build import oru

SEEDS = [oru("F1", "P", "Small left effusion.\nNo pneumothorax."),
         oru("F2", "F", "Large effusion & edema | x ^ y ~ z \\ w", value_type="FT"),
         oru("F3", "C", "Épanchement", charset="8859/1", terminator="\n")]
# original mode AA/AE/AR; enhanced mode (MSH-15 set by a mutation) CA/CE/CR
ACK_CODES = ("AA", "AE", "AR", "CA", "CE", "CR")


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(out) + 1)
        if op < 0.3 and out:
            del out[pos:pos + rng.randint(1, 20)]
        elif op < 0.6:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        elif op < 0.8 and out:
            out[min(pos, len(out) - 1)] = rng.choice(b"|^~\\&\r\n\x0b\x1c\x00MSHOBR")
        else:
            out[pos:pos] = rng.choice([b"|", b"\r", b"\rOBR|", b"MSH|", b"\x1c", b"\\X0D\\"])
    return bytes(out)


def check_message(data: bytes, config: MllpConfig) -> None:
    """The MSH peek, the ACK builder and the full parser take any bytes without raising
    anything but their documented errors; a parse either fails cleanly or yields reports with
    an accession and text."""
    header, rejection = peek(data, config)
    ack = build_ack(header, "AR" if rejection else "AA", rejection)
    assert read_ack(ack).code in ("AA", "AR", "CA", "CR")
    if rejection is None:
        try:
            events = parse_reports(data, config)
        except ParseError:
            return
        assert all(e.accession and e.text for e in events)


def frames(rng: random.Random, n: int) -> list[tuple[bytes, bool]]:
    """(bytes on the wire, well-framed?) — mostly frames of mutated ORUs, some broken."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.7:
            payload = mutate(rng.choice(SEEDS), rng).replace(b"\x0b", b"").replace(b"\x1c", b"")
            out.append((frame(payload), True))
        elif kind < 0.85:
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            out.append((frame(raw.replace(b"\x0b", b"").replace(b"\x1c", b"")), True))
        elif kind < 0.95:
            out.append((b"\x0b" + rng.choice(SEEDS) + b"\x1c", True))  # no final CR
        else:
            # Not a frame: garbage, maybe a dangling start block. A well-formed frame follows
            # on the same write, so the listener must either close (bytes outside a frame) or
            # end the dangling frame at that frame's 0x1C and answer it.
            garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            out.append((garbage.replace(b"\x1c", b"") + frame(rng.choice(SEEDS)), False))
    return out


async def fire(port: int, wire: list[tuple[bytes, bool]], tally: dict[str, int],
               timeout: float = 10) -> None:
    """Send each item on one connection, reconnecting after the listener closed it; count
    `answered` (a parseable ACK with a valid code) and `closed` (closed cleanly)."""
    reader = writer = None
    for data, _well_framed in wire:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert reader is not None
        writer.write(data)
        await writer.drain()
        try:
            reply = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            tally["closed"] += 1  # closed cleanly: a new connection for the next
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            reader = writer = None
            continue
        code = read_ack(reply[1:-2]).code
        assert code in ACK_CODES, code
        tally["answered"] += 1
    if writer is not None:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
