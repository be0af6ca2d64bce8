"""The frame splitter reads stored bytes ahead in READ_AHEAD pieces: frames and
blocks that straddle the source's pieces (as the 1 MiB payload chunks and the
archive's record frames cut them) decode the same, and the refusals at the end
of a member still hold when the splitter holds bytes read ahead."""

from __future__ import annotations

import os

import pytest
import zstandard

from securemedia.archive.compression import FRAME_CONTENT, READ_AHEAD, FrameDecoder, ZstdError

F = FRAME_CONTENT


class Choppy:
    """A source that hands out at most ``most`` bytes per read, as a member's
    record frames and payload chunks do."""

    def __init__(self, data: bytes, most: int) -> None:
        self._data = data
        self._pos = 0
        self._most = most
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        take = self._most if size < 0 else min(size, self._most)
        out = self._data[self._pos : self._pos + take]
        self._pos += len(out)
        return out


def stored_frames(content: bytes) -> bytes:
    zc = zstandard.ZstdCompressor(level=3, write_content_size=True)
    return b"".join(zc.compress(content[i : i + F]) for i in range(0, len(content), F))


def content_of(size: int) -> bytes:
    unit = b"row after row of a registry, 2026-12-03;" + os.urandom(24)
    return (unit * (size // len(unit) + 1))[:size]


def decode(stored: bytes, size: int, most: int, threads: bool = False) -> bytes:
    from securemedia.archive.compression import IN_FLIGHT, _pool

    pool = _pool(2) if threads else None
    reader = FrameDecoder(Choppy(stored, most), size, pool, IN_FLIGHT * 2)
    return b"".join(iter(lambda: reader.read(1 << 20), b""))


@pytest.mark.parametrize("most", [1, 3, 4099, READ_AHEAD - 1, READ_AHEAD + 5, 1 << 20])
def test_frames_straddling_the_pieces_decode(most: int) -> None:
    content = content_of(2 * F + 12_345)
    stored = stored_frames(content)
    if most < 64:  # one byte at a time is slow: a short member suffices
        content = content[: F + 999]
        stored = stored_frames(content)
    assert decode(stored, len(content), most, threads=most > 64) == content


def test_fewer_reads_than_blocks() -> None:
    """What the read-ahead is for: not one source read per block header."""
    content = content_of(3 * F)
    stored = stored_frames(content)
    source = Choppy(stored, 1 << 30)
    reader = FrameDecoder(source, len(content), None, 1)
    assert b"".join(iter(lambda: reader.read(1 << 20), b"")) == content
    assert source.reads <= len(stored) // READ_AHEAD + 3 * 3


@pytest.mark.parametrize("most", [1, 4099, 1 << 20])
def test_bytes_after_the_last_frame_are_refused(most: int) -> None:
    content = content_of(F + 10)
    stored = stored_frames(content)
    with pytest.raises(ZstdError, match="after the member's last frame"):
        decode(stored + bytes(8), len(content), most)


@pytest.mark.parametrize("most", [1, 4099, 1 << 20])
def test_a_cut_frame_is_refused(most: int) -> None:
    content = content_of(F + 10)
    stored = stored_frames(content)
    with pytest.raises(ZstdError, match="end inside a zstd frame"):
        decode(stored[:-3], len(content), most)
    with pytest.raises(ZstdError, match="end before the member's content"):
        decode(stored_frames(content[:F]), len(content), most)
