"""The chunked AES-256-GCM STREAM on its own: exact chunk boundaries, random
access, and every way of rearranging chunks."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_archive
from securemedia.archive.reader import ArchiveReader
from securemedia.archive.writer import ArchiveWriter
from securemedia.errors import IntegrityError
from securemedia.header import read_header
from securemedia.keys import SecretKey
from securemedia.stream import (
    CHUNK_SIZE,
    CIPHER_CHUNK_SIZE,
    TAG_SIZE,
    StreamReader,
    StreamWriter,
    chunk_count,
    chunk_nonce,
    payload_plaintext_size,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
# A random block reused by every test: os.urandom of 3 MiB once, not per case.
DATA = os.urandom(3 * CHUNK_SIZE + 7)

BOUNDARY_SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE - 1,
    2 * CHUNK_SIZE,
    2 * CHUNK_SIZE + 1,
    3 * CHUNK_SIZE,
    3 * CHUNK_SIZE + 7,
]


def encrypt(data: bytes, key: bytes = KEY, *, piece: int | None = None) -> bytes:
    sink = io.BytesIO()
    writer = StreamWriter(key, sink)
    if piece is None:
        writer.write(data)
    else:
        for start in range(0, len(data), piece):
            writer.write(data[start : start + piece])
    writer.close()
    return sink.getvalue()


def decrypt_all(ct: bytes, key: bytes = KEY) -> bytes:
    return b"".join(StreamReader(key, io.BytesIO(ct)).chunks())


def split_chunks(ct: bytes) -> list[bytes]:
    return [ct[i : i + CIPHER_CHUNK_SIZE] for i in range(0, len(ct), CIPHER_CHUNK_SIZE)]


class Trickle(io.RawIOBase):
    """A pipe-like source that returns at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out, self._data = bytes(self._data[:n]), self._data[n:]
        return out


def expected_chunks(size: int) -> int:
    return max(1, -(-size // CHUNK_SIZE))


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_round_trip_at_chunk_boundaries(size: int) -> None:
    data = DATA[:size]
    ct = encrypt(data)
    count = expected_chunks(size)
    assert len(ct) == size + count * TAG_SIZE
    assert chunk_count(len(ct)) == count
    assert payload_plaintext_size(len(ct)) == size

    pieces = list(StreamReader(KEY, io.BytesIO(ct)).chunks())
    assert b"".join(pieces) == data
    assert len(pieces) == count
    assert all(len(p) == CHUNK_SIZE for p in pieces[:-1])

    reader = StreamReader(KEY, io.BytesIO(ct), size=len(ct))
    assert reader.plaintext_size == size
    # Random access in a scrambled order.
    order = list(range(count))[::-1]
    got = {i: reader.chunk(i) for i in order}
    assert b"".join(got[i] for i in range(count)) == data
    assert reader.chunks_decrypted == count
    with pytest.raises(IndexError):
        reader.chunk(count)


@pytest.mark.parametrize("size", [CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE])
@pytest.mark.parametrize("piece", [1000, CHUNK_SIZE - 1, CHUNK_SIZE + 3])
def test_write_granularity_does_not_change_ciphertext(size: int, piece: int) -> None:
    data = DATA[:size]
    assert encrypt(data, piece=piece) == encrypt(data)


def test_random_access_with_offset_into_a_larger_file() -> None:
    data = DATA[: 2 * CHUNK_SIZE + 5]
    prefix = b"H" * 123
    ct = encrypt(data)
    source = io.BytesIO(prefix + ct + b"ignored")
    reader = StreamReader(KEY, source, start=len(prefix), size=len(ct))
    assert reader.chunk(2) == data[2 * CHUNK_SIZE :]
    assert reader.chunk(0) == data[:CHUNK_SIZE]


@pytest.mark.parametrize("step", [1, 4097, CIPHER_CHUNK_SIZE - 1])
def test_short_reads_from_a_pipe(step: int) -> None:
    data = DATA[: CHUNK_SIZE + 10] if step > 1 else DATA[:300]
    ct = encrypt(data)
    assert b"".join(StreamReader(KEY, Trickle(ct, step)).chunks()) == data  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=3 * CHUNK_SIZE),
    piece=st.integers(min_value=1, max_value=2 * CHUNK_SIZE),
)
def test_round_trip_random_sizes(size: int, piece: int) -> None:
    data = DATA[:size]
    ct = encrypt(data, piece=piece)
    assert decrypt_all(ct) == data
    reader = StreamReader(KEY, io.BytesIO(ct), size=len(ct))
    count = chunk_count(len(ct))
    assert b"".join(reader.chunk(i) for i in range(count)) == data


def test_nonce_layout() -> None:
    assert chunk_nonce(0, False) == bytes(12)
    assert chunk_nonce(0, True) == bytes(11) + b"\x01"
    assert chunk_nonce(258, False) == bytes(9) + b"\x01\x02\x00"
    assert chunk_nonce((1 << 88) - 1, True) == b"\xff" * 11 + b"\x01"
    with pytest.raises(OverflowError):
        chunk_nonce(1 << 88, False)
    with pytest.raises(OverflowError):
        chunk_nonce(-1, False)


def test_writer_refuses_writes_after_close() -> None:
    writer = StreamWriter(KEY, io.BytesIO())
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError):
        writer.write(b"x")


# -- tampering --------------------------------------------------------------------

THREE = DATA[: 2 * CHUNK_SIZE + 100]  # three chunks, the last one short


def assert_rejected(ct: bytes, key: bytes = KEY) -> None:
    """Both sequential and random-access readers refuse ``ct``."""
    with pytest.raises(IntegrityError):
        decrypt_all(ct, key)
    with pytest.raises(IntegrityError):
        reader = StreamReader(key, io.BytesIO(ct), size=len(ct))
        for i in range(chunk_count(len(ct))):
            reader.chunk(i)


@pytest.fixture(scope="module")
def three() -> bytes:
    return encrypt(THREE)


def test_wrong_key(three: bytes) -> None:
    assert_rejected(three, OTHER_KEY)


@pytest.mark.parametrize("drop", [0, 1, 2])
def test_dropped_chunk(three: bytes, drop: int) -> None:
    chunks = split_chunks(three)
    del chunks[drop]
    assert_rejected(b"".join(chunks))


@pytest.mark.parametrize("dup", [0, 1, 2])
def test_duplicated_chunk(three: bytes, dup: int) -> None:
    chunks = split_chunks(three)
    chunks.insert(dup, chunks[dup])
    assert_rejected(b"".join(chunks))


@pytest.mark.parametrize(("a", "b"), [(0, 1), (1, 2), (0, 2)])
def test_swapped_chunks(three: bytes, a: int, b: int) -> None:
    chunks = split_chunks(three)
    chunks[a], chunks[b] = chunks[b], chunks[a]
    assert_rejected(b"".join(chunks))


def test_spliced_chunk_from_another_stream(three: bytes) -> None:
    # Archives never share a payload key (it is derived from a fresh file key and
    # payload nonce); a chunk from another payload key fails at any position.
    other = split_chunks(encrypt(THREE, OTHER_KEY))
    for i in range(3):
        chunks = split_chunks(three)
        chunks[i] = other[i]
        assert_rejected(b"".join(chunks))


@pytest.mark.parametrize(
    "cut", [0, 1, TAG_SIZE - 1, TAG_SIZE, CIPHER_CHUNK_SIZE, 2 * CIPHER_CHUNK_SIZE, -1]
)
def test_truncation(three: bytes, cut: int) -> None:
    assert_rejected(three[:cut])


def test_truncation_at_a_chunk_boundary_of_an_exact_multiple() -> None:
    # Two full chunks: cutting after the first leaves a valid-looking non-final chunk.
    ct = encrypt(DATA[: 2 * CHUNK_SIZE])
    assert_rejected(ct[:CIPHER_CHUNK_SIZE])
    # An empty final chunk appended by hand (the writer never makes one) is refused.
    ct1 = encrypt(DATA[:CHUNK_SIZE])
    assert_rejected(ct1 + ct1[-TAG_SIZE:])


@pytest.mark.parametrize("extra", [b"\x00", b"x" * TAG_SIZE, b"y" * CIPHER_CHUNK_SIZE])
def test_appended_data(three: bytes, extra: bytes) -> None:
    assert_rejected(three + extra)


def test_empty_stream_is_not_an_empty_source() -> None:
    assert decrypt_all(encrypt(b"")) == b""
    assert_rejected(b"")


@pytest.mark.parametrize("offset", [0, 5, CHUNK_SIZE, CIPHER_CHUNK_SIZE + 9, -TAG_SIZE, -1])
def test_bit_flip(three: bytes, offset: int) -> None:
    damaged = bytearray(three)
    damaged[offset] ^= 0x01
    assert_rejected(bytes(damaged))


def test_final_flag_is_bound() -> None:
    """A stream cut after a chunk, then re-flagged, is impossible without the key:
    the non-final first chunk does not open as final."""
    ct = encrypt(DATA[: CHUNK_SIZE + 1])
    first = ct[:CIPHER_CHUNK_SIZE]
    with pytest.raises(IntegrityError):
        decrypt_all(first)


def test_sequential_reader_yields_only_authenticated_chunks(three: bytes) -> None:
    """Damage in chunk 2 is found only after chunks 0 and 1 were returned intact."""
    damaged = bytearray(three)
    damaged[2 * CIPHER_CHUNK_SIZE + 3] ^= 0xFF
    got = []
    with pytest.raises(IntegrityError):
        for piece in StreamReader(KEY, io.BytesIO(bytes(damaged))).chunks():
            got.append(piece)
    assert got == [THREE[:CHUNK_SIZE], THREE[CHUNK_SIZE : 2 * CHUNK_SIZE]]


@pytest.mark.parametrize(
    "size",
    [1, TAG_SIZE - 1, CIPHER_CHUNK_SIZE + 1, CIPHER_CHUNK_SIZE + TAG_SIZE - 1],
)
def test_impossible_lengths(size: int) -> None:
    with pytest.raises(IntegrityError):
        payload_plaintext_size(size)


def test_impossible_length_empty_final_after_data() -> None:
    with pytest.raises(IntegrityError):
        payload_plaintext_size(CIPHER_CHUNK_SIZE + TAG_SIZE)
    assert payload_plaintext_size(CIPHER_CHUNK_SIZE + TAG_SIZE + 1) == CHUNK_SIZE + 1


# -- the same boundaries one level up: ArchiveWriter.open_member / ArchiveReader --------


def archive_round_trip(members: list[tuple[str, bytes]], *, compress: bool = False) -> bytes:
    key = _ARCHIVE_KEY
    archive = make_archive(members, [key.public.recipient()], compress=compress)
    expected = dict(members)
    # Random access (seekable): each member decrypts only the chunks it spans.
    reader = ArchiveReader(io.BytesIO(archive), [key.identity()])
    assert [m.path for m in reader.members] == [name for name, _ in members]
    for name, content in members:
        with reader.open_member(name) as handle:
            assert handle.read() == content
        assert reader.member(name).size == len(content)
    # Sequential (a pipe): everything in order, then the index is checked.
    walker = ArchiveReader(Trickle(archive, 70_000), [key.identity()])  # type: ignore[arg-type]
    walked = {}
    for entry in walker.walk():
        assert entry.data is not None
        walked[entry.path] = b"".join(iter(lambda d=entry.data: d.read(300_000), b""))
    assert walked == expected
    return archive


_ARCHIVE_KEY = SecretKey.generate(classic=True)


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_archive_member_round_trip_at_chunk_boundaries(size: int) -> None:
    archive_round_trip([("m.bin", DATA[:size])])


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 1])
def test_archive_member_round_trip_compressed(size: int) -> None:
    archive_round_trip([("m.bin", DATA[:size]), ("zeros", bytes(size))], compress=True)


def payload_size(archive: bytes) -> int:
    hlen = len(read_header(io.BytesIO(archive)).raw)
    return payload_plaintext_size(len(archive) - hlen)


@pytest.mark.parametrize(
    "target", [CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 1]
)
def test_archive_whose_whole_payload_ends_at_a_chunk_boundary(target: int) -> None:
    """Records + index + trailer sized so the payload is exactly ``target`` bytes:
    the trailer and index then straddle or end at a chunk edge."""
    recipient = _ARCHIVE_KEY.public.recipient()
    n = target - 400
    for _ in range(10):
        got = payload_size(make_archive([("m.bin", DATA[:n])], [recipient]))
        if got == target:
            break
        n += target - got
    else:
        pytest.fail("could not size the member")
    archive = archive_round_trip([("m.bin", DATA[:n])])
    assert payload_size(archive) == target


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 2 * CHUNK_SIZE + 5), min_size=1, max_size=3),
    compress=st.booleans(),
)
def test_archive_round_trip_random_sizes(sizes: list[int], compress: bool) -> None:
    members = [(f"m{i}.bin", DATA[i : i + size]) for i, size in enumerate(sizes)]
    archive_round_trip(members, compress=compress)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(0, 2 * CHUNK_SIZE), piece=st.integers(1, CHUNK_SIZE + 1))
def test_archive_member_written_in_pieces(size: int, piece: int) -> None:
    data = DATA[:size]
    sink = io.BytesIO()
    writer = ArchiveWriter(sink, [_ARCHIVE_KEY.public.recipient()])
    with writer, writer.open_member("pieces.bin") as out:
        for start in range(0, size, piece):
            out.write(data[start : start + piece])
    reader = ArchiveReader(io.BytesIO(sink.getvalue()), [_ARCHIVE_KEY.identity()])
    with reader.open_member("pieces.bin") as handle:
        assert handle.read() == data
