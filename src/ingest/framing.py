"""MLLP framing: `0x0B` message `0x1C 0x0D`, read leniently, bounded in size.

python-hl7's `MLLPStreamReader.readblock` is strict (a missing final CR is an error) and clears
its buffer on overrun, so the frame that was too big cannot be answered. Senders in the field
do drop the final CR (Apache Camel documents it), so this reader accepts `0x1C` followed by EOF
or by the next `0x0B`, and counts it.
"""

from __future__ import annotations

import asyncio

from ingest.errors import FrameTooLarge, FramingError

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\x0d"
_CHUNK = 64 * 1024


def frame(payload: bytes) -> bytes:
    """Wrap one message for the wire."""
    return START_BLOCK + payload + END_BLOCK + CARRIAGE_RETURN


class FrameReader:
    """Reads frames from an `asyncio.StreamReader`, one at a time, at most `limit` bytes each.

    A frame is complete at its `0x1C`: waiting for the CR would deadlock with a sender that
    omits it and waits for the ACK. The CR is consumed when the next frame is read, and when it
    is not there `missing_final_cr` goes up. Whitespace between frames is ignored (some senders
    send a keep-alive newline); anything else before a start block is a framing error.
    """

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader = reader
        self._limit = limit
        self._buf = bytearray()
        self._eof = False
        self._after_frame = False
        self.missing_final_cr = 0

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def read(self) -> bytes | None:
        """The next frame's payload, or None at a clean end of stream.

        Raises `FrameTooLarge` as soon as the limit is passed (memory stays bounded; the
        caller answers AR and closes) or `FramingError` for garbage or a stream cut inside a
        frame.
        """
        await self._skip_to_start()
        if not self._buf:
            return None
        scanned = 1
        while True:
            end = self._buf.find(END_BLOCK, scanned)
            if end >= 0:
                if end - 1 > self._limit:
                    head = bytes(self._buf[1 : 1 + 4096])
                    del self._buf[: end + 1]
                    self._after_frame = True
                    raise FrameTooLarge(self._limit, head)
                payload = bytes(self._buf[1:end])
                del self._buf[: end + 1]
                self._after_frame = True
                return payload
            scanned = len(self._buf)
            if scanned - 1 > self._limit:
                head = bytes(self._buf[1 : 1 + 4096])
                self._buf.clear()
                raise FrameTooLarge(self._limit, head)
            if not await self._fill():
                raise FramingError("stream ended inside a frame (no 0x1C end block)")

    async def _skip_to_start(self) -> None:
        """Leave the buffer starting at a start block, or empty at end of stream."""
        while not self._buf and await self._fill():
            pass
        if self._after_frame and self._buf:
            self._after_frame = False
            if self._buf.startswith(CARRIAGE_RETURN):
                del self._buf[:1]
            else:
                self.missing_final_cr += 1
        elif self._after_frame and self._eof:
            self._after_frame = False
            self.missing_final_cr += 1
        while True:
            start = self._buf.find(START_BLOCK)
            garbage = self._buf if start < 0 else self._buf[:start]
            if garbage.strip():
                raise FramingError("bytes outside an MLLP frame (expected the 0x0B start block)")
            if start >= 0:
                del self._buf[:start]
                return
            self._buf.clear()
            if not await self._fill():
                return
