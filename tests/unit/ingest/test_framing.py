"""MLLP framing, fed byte by byte the way a socket delivers it."""

from __future__ import annotations

import asyncio

import pytest

from ingest.errors import FrameTooLarge, FramingError
from ingest.framing import FrameReader, frame


def read_all(data: bytes, limit: int = 1024, chunks: int = 1) -> tuple[list[bytes], int]:
    async def run() -> tuple[list[bytes], int]:
        reader = asyncio.StreamReader()
        step = max(1, len(data) // chunks)
        for i in range(0, len(data), step):
            reader.feed_data(data[i : i + step])
        reader.feed_eof()
        frames = FrameReader(reader, limit)
        out = []
        while (payload := await frames.read()) is not None:
            out.append(payload)
        return out, frames.missing_final_cr

    return asyncio.run(run())


@pytest.mark.parametrize("chunks", [1, 3, 1000])
def test_frames_in_any_chunking(chunks):
    data = frame(b"MSH|one\r") + frame(b"MSH|two\r") + b"\r\n" + frame(b"MSH|three\r")
    assert read_all(data, chunks=chunks) == ([b"MSH|one\r", b"MSH|two\r", b"MSH|three\r"], 0)


def test_missing_final_cr_is_tolerated_and_counted():
    data = b"\x0bMSH|a\r\x1c" + b"\x0bMSH|b\r\x1c"
    assert read_all(data) == ([b"MSH|a\r", b"MSH|b\r"], 2)


def test_frame_is_returned_before_its_cr_arrives():
    """A sender that omits the CR waits for our ACK: the frame must not wait for more bytes."""

    async def run() -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"\x0bMSH|a\r\x1c")  # no CR, no EOF: the sender is waiting
        return await asyncio.wait_for(FrameReader(reader, 1024).read(), 1.0)

    assert asyncio.run(run()) == b"MSH|a\r"


def test_garbage_outside_a_frame_is_an_error():
    with pytest.raises(FramingError, match="outside an MLLP frame"):
        read_all(b"hello" + frame(b"MSH|a\r"))


def test_stream_cut_inside_a_frame_is_an_error():
    with pytest.raises(FramingError, match="ended inside a frame"):
        read_all(b"\x0bMSH|a\rOBR|")


@pytest.mark.parametrize("chunks", [1, 50])
def test_oversized_frame_keeps_its_head(chunks):
    big = b"MSH|^~\\&|A|B\r" + b"X" * 5000
    with pytest.raises(FrameTooLarge) as info:
        read_all(frame(big), limit=1024, chunks=chunks)
    assert info.value.head.startswith(b"MSH|^~\\&|A|B\r")
    assert len(info.value.head) <= 4096
