"""Replaying HL7 files: split them into messages, then send each over MLLP (or store it).

Files in the wild hold one message, or many: MLLP-framed captures, messages separated by blank
lines, or simply one MSH after another (HAPI's test files also carry `//` and `/* */` comment
lines). All of these are split here the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass

from ingest.escaping import DEFAULT
from ingest.framing import END_BLOCK, START_BLOCK, FrameReader, frame
from ingest.header import BOM, Msh

# Comment lines and blocks, only where a line starts: HL7 text itself may contain slashes.
_COMMENT = re.compile(rb"^[ \t]*(//[^\n]*|/\*.*?\*/)", re.MULTILINE | re.DOTALL)


def split_messages(data: bytes) -> list[bytes]:
    """The messages in a file's bytes, each with CR segment terminators."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if START_BLOCK in data and END_BLOCK in data:
        parts = re.findall(rb"\x0b(.*?)\x1c", data, flags=re.DOTALL)
        return [p for p in parts if p.strip()]
    data = _COMMENT.sub(b"", data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    messages: list[list[bytes]] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        if line.startswith(b"MSH") or line.startswith(BOM + b"MSH") or not messages:
            messages.append([])
        messages[-1].append(line.rstrip())
    return [b"\r".join(lines) + b"\r" for lines in messages if lines]


@dataclass(frozen=True, slots=True)
class AckReply:
    code: str
    control_id: str
    text: str
    error: str
    raw: bytes

    @property
    def reason(self) -> str:
        """The fullest human reason: ERR-8 (2.5+, untruncated), else MSA-3."""
        return self.error or self.text


def read_ack(payload: bytes) -> AckReply:
    """MSA-1/2/3 and the ERR segment of an ACK, enough to report a NAK to a person."""
    segments = payload.replace(b"\n", b"\r").split(b"\r")
    try:
        delimiters = Msh.parse(segments[0].decode("latin-1")).delimiters
    except ValueError:  # not an ACK at all: read it with the standard delimiters
        delimiters = DEFAULT
    sep = delimiters.field
    msa: list[str] = []
    err: list[str] = []
    for seg in segments:
        line = seg.decode("latin-1", errors="replace")
        if line.startswith("MSA"):
            msa = line.split(sep)
        elif line.startswith("ERR"):
            err = line.split(sep)
    get = lambda n: delimiters.unescape_text(msa[n]) if len(msa) > n else ""  # noqa: E731
    detail = delimiters.unescape_text(err[8]) if len(err) > 8 else ""
    return AckReply(get(1), get(2), get(3), detail, payload)


class MllpClient:
    """One MLLP connection that sends a message and waits for its ACK (like a sender does)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._frames = FrameReader(reader, 16 * 1024 * 1024)
        self._writer = writer

    @classmethod
    async def connect(
        cls, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> MllpClient:
        reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context)
        return cls(reader, writer)

    async def send(self, message: bytes, timeout: float = 30.0) -> AckReply:
        self._writer.write(frame(message))
        await self._writer.drain()
        payload = await asyncio.wait_for(self._frames.read(), timeout)
        if payload is None:
            raise ConnectionError("connection closed before the ACK arrived")
        return read_ack(payload)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self._writer.wait_closed()
