"""Compressed members as independent zstd frames of 2 MiB of content each
(FORMAT.md 6.1): the writer's layout, the reader's refusals (each rule, and the
rule it was refused for) and bounded read-ahead. What a reader of a whole
archive makes of each broken rule (a payload failure) is in the conformance
vectors (tests/vectors, payload_zstd_*)."""

from __future__ import annotations

import io
import os

import pytest
import zstandard

from securemedia.archive.compression import (
    FRAME_CONTENT,
    MAX_STORED_FRAME,
    Compression,
    FrameDecoder,
    ZstdError,
    decompressor,
)

F = FRAME_CONTENT
TEXT = b"securemedia zstd frames, row after row of a registry\n" * 100


def frames_of(content: bytes, *, step: int = F, **kw: object) -> bytes:
    """Stored bytes built from the rules, not from the library's writer."""
    zc = zstandard.ZstdCompressor(level=3, **kw)  # type: ignore[arg-type]
    return b"".join(zc.compress(content[i : i + step]) for i in range(0, len(content), step))


def written(content: bytes, threads: int, pieces: int = 1_000_003) -> bytes:
    """Stored bytes from the library's writer, fed in odd-sized writes."""
    sink = io.BytesIO()
    compression = Compression(threads=threads)
    out = compression.compressor(sink)
    for i in range(0, len(content), pieces):
        out.write(content[i : i + pieces])
    out.close()
    return sink.getvalue()


def decoded(stored: bytes, size: int, piece: int = 1 << 20) -> bytes:
    reader = decompressor(io.BytesIO(stored), size)
    return b"".join(iter(lambda: reader.read(piece), b""))


def contents(size: int) -> bytes:
    unit = TEXT + os.urandom(64)  # compressible, but not to nothing
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("size", [0, 1, F - 1, F, F + 1, 2 * F + 7])
def test_writer_layout_is_the_rule(size: int) -> None:
    content = contents(size)
    stored = written(content, threads=1)
    # Byte for byte the frames the rule describes: one per F bytes, sizes declared.
    assert stored == frames_of(content)
    assert written(content, threads=2) == stored  # worker threads change nothing
    assert decoded(stored, size) == content
    assert decoded(stored, size, piece=7919) == content
    starts = [i for i in range(len(stored)) if stored.startswith(b"\x28\xb5\x2f\xfd", i)]
    assert len(starts) >= -(-size // F)
    if size:
        first = zstandard.get_frame_parameters(stored)
        assert first.content_size == min(F, size) and first.dict_id == 0
        assert not first.has_checksum


def refusal(stored: bytes, size: int) -> str:
    with pytest.raises(ZstdError) as caught:
        decoded(stored, size)
    return str(caught.value)


def test_each_rule_is_refused_for_its_own_reason() -> None:
    size = len(TEXT)
    good = frames_of(TEXT)
    skippable = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"skip"
    big = contents(F + 1000)
    cases = {
        "end before the member's content": (b"", size),
        "after the member's last frame": (zstandard.ZstdCompressor().compress(b""), 0),
        "end inside a zstd frame": (good[:-3], size),
        "not a zstd frame": (skippable + good, size),
        "does not declare its content size": (frames_of(TEXT, write_content_size=False), size),
        "content size is not the one required": (frames_of(big, step=F + 1000), len(big)),
    }
    assert "end inside a zstd frame" in refusal(good[:5], size)
    assert "after the member's last frame" in refusal(good + skippable, size)
    assert "after the member's last frame" in refusal(good + b"garbage", size)
    # A frame claiming one byte more than the member has left, and a short frame first.
    assert "not the one required" in refusal(frames_of(TEXT + b"!"), size)
    split = frames_of(big[:1000]) + frames_of(big[1000:])
    assert "not the one required" in refusal(split, len(big))
    # A dictionary ID in the header (one byte, value 7).
    at = 5 if good[4] & 0x20 else 6
    with_dict = good[:4] + bytes([good[4] | 1]) + good[5:at] + b"\x07" + good[at:]
    assert "dictionary" in refusal(with_dict, size)
    for reason, (stored, declared) in cases.items():
        assert reason in refusal(stored, declared), reason


def test_a_bomb_is_refused_from_its_header() -> None:
    """64 MiB of zeros in one frame, declared as 10 bytes: refused without decoding."""
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(64 << 20))
    assert len(bomb) < 10_000
    assert "not the one required" in refusal(bomb, 10)
    assert "not the one required" in refusal(bomb, 64 << 20)  # more than a frame may hold


def test_an_overlong_frame_is_refused_before_it_is_held() -> None:
    """Raw blocks of zero length never end a frame; the stored-size cap does."""
    header = zstandard.ZstdCompressor().compress(b"x" * 100)[:6]  # magic, descriptor, size
    endless = header + b"\x00\x00\x00" * (MAX_STORED_FRAME // 3 + 10)
    assert "longer than its content allows" in refusal(endless, 100)


class Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.most = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.most = max(self.most, self.tell())
        return out


def test_read_ahead_is_bounded() -> None:
    """Frames are pulled as output is consumed: a handful ahead, never the member."""
    content = os.urandom(12 * F)  # incompressible: each frame is about F stored bytes
    stored = frames_of(content)
    source = Counting(stored)
    reader = decompressor(source, len(content))
    assert isinstance(reader, FrameDecoder)
    assert reader.read(1) == content[:1]
    assert source.most <= 5 * MAX_STORED_FRAME < len(stored) // 2
    rest = b"".join(iter(lambda: reader.read(1 << 20), b""))
    assert content[:1] + rest == content
