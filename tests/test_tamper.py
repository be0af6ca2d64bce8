"""Tampering with whole archives: every byte flipped, every truncation, chunks
dropped, duplicated, swapped and spliced, data appended, and mutation fuzzing.
Each must be refused with NoIdentityError or a FormatError, never accepted and
never another exception type."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_ARGON2, make_archive
from securemedia.archive.reader import ArchiveReader
from securemedia.errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    SecureMediaError,
    UnsupportedVersionError,
)
from securemedia.header import read_header
from securemedia.keys import SecretKey
from securemedia.recipients import Identity, Recipient
from securemedia.recipients.passphrase import PassphraseIdentity, PassphraseRecipient
from securemedia.stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE

SMALL = [("a.csv", b"id,name\n1,alice\n2,bob\n" * 8), ("b.txt", os.urandom(40))]
BIG = os.urandom(2 * CHUNK_SIZE + 12345)


class Pipe(io.RawIOBase):
    """A non-seekable source, like standard input."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def read_all(data: bytes, identities: Sequence[Identity], *, pipe: bool) -> dict[str, bytes]:
    """Open ``data`` and read every member, both ways the reader offers."""
    reader = ArchiveReader(Pipe(data) if pipe else io.BytesIO(data), identities)  # type: ignore[arg-type]
    out: dict[str, bytes] = {}
    if not pipe:
        for member in reader.members:
            with reader.open_member(member.path) as handle:
                out[member.path] = handle.read()
    walked = {}
    for entry in reader.walk():
        if entry.data is not None:
            walked[entry.path] = b"".join(iter(lambda d=entry.data: d.read(65536), b""))
    if not pipe:
        assert walked == out
    return walked


def refusal(data: bytes, identities: Sequence[Identity]) -> type[SecureMediaError]:
    """The error both readers (file and pipe) give for ``data``: it must be the
    same kind both ways, and one of NoIdentityError or FormatError."""
    kinds = []
    for pipe in (False, True):
        try:
            read_all(data, identities, pipe=pipe)
        except (NoIdentityError, FormatError) as exc:
            kinds.append(type(exc))
        else:
            pytest.fail(f"tampered archive accepted ({'pipe' if pipe else 'file'})")
    assert kinds[0] is kinds[1] or {IntegrityError, FormatError} >= set(kinds)
    return kinds[0]


@pytest.fixture(scope="module")
def keys() -> dict[str, SecretKey]:
    return {"classic": SecretKey.generate(classic=True), "pq": SecretKey.generate()}


def small_archive(kind: str, keys: dict[str, SecretKey]) -> tuple[bytes, list[Identity]]:
    recipients: list[Recipient]
    if kind == "passphrase":
        recipients = [PassphraseRecipient(b"tamper test", FAST_ARGON2)]
        identities: list[Identity] = [PassphraseIdentity(b"tamper test")]
        signer = None
    else:
        recipients = [keys[kind].public.recipient()]
        identities = [keys[kind].identity()]
        signer = keys["classic"]
    archive = make_archive(SMALL, recipients, signer=signer)
    assert read_all(archive, identities, pipe=False) == dict(SMALL)
    assert read_all(archive, identities, pipe=True) == dict(SMALL)
    return archive, identities


@pytest.mark.parametrize("kind", ["classic", "pq", "passphrase"])
def test_every_single_byte_change_is_caught(kind: str, keys: dict[str, SecretKey]) -> None:
    archive, identities = small_archive(kind, keys)
    header = read_header(io.BytesIO(archive))
    hlen = len(header.raw)
    stanza_start = 12 + 1 + 4 + 16 + 2
    assert len(archive) < 2500
    for offset in range(len(archive)):
        damaged = bytearray(archive)
        damaged[offset] ^= 0x01 if offset % 2 else 0xFF
        got = refusal(bytes(damaged), identities)
        # Which check fires follows from where the byte is.
        if offset < 17:
            assert issubclass(got, FormatError), offset  # magic, version, length
            if offset == 12:
                assert got is UnsupportedVersionError
        elif offset < 33 or hlen - 32 <= offset < hlen or offset >= hlen:
            assert got is IntegrityError, offset  # nonce, MAC, payload
        elif offset < stanza_start + 3:
            assert got is FormatError, offset  # stanza count, type, length
        else:
            assert got in (NoIdentityError, FormatError), offset  # stanza body
            if kind != "passphrase" or offset < stanza_start + 3 + 16:
                assert got is NoIdentityError, offset


@pytest.mark.parametrize("kind", ["classic", "pq"])
def test_truncation_at_every_offset_is_caught(kind: str, keys: dict[str, SecretKey]) -> None:
    archive, identities = small_archive(kind, keys)
    for cut in range(len(archive)):
        assert issubclass(refusal(archive[:cut], identities), FormatError), cut


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(16), os.urandom(CIPHER_CHUNK_SIZE)])
def test_appended_data_is_caught(extra: bytes, keys: dict[str, SecretKey]) -> None:
    archive, identities = small_archive("classic", keys)
    assert refusal(archive + extra, identities) is IntegrityError


# -- chunk-level rearrangement of a multi-chunk archive ----------------------------------


def big_archive(
    key: SecretKey,
    *,
    file_key: bytes | None = None,
    nonce: bytes | None = None,
    content: bytes = BIG,
) -> tuple[bytes, list[bytes]]:
    archive = make_archive(
        [("big.bin", content)], [key.public.recipient()], file_key=file_key, payload_nonce=nonce
    )
    hlen = len(read_header(io.BytesIO(archive)).raw)
    payload = archive[hlen:]
    chunks = [payload[i : i + CIPHER_CHUNK_SIZE] for i in range(0, len(payload), CIPHER_CHUNK_SIZE)]
    return archive[:hlen], chunks


@pytest.fixture(scope="module")
def big(keys: dict[str, SecretKey]) -> tuple[bytes, list[bytes]]:
    header, chunks = big_archive(keys["classic"])
    assert len(chunks) == 3
    assert read_all(header + b"".join(chunks), [keys["classic"].identity()], pipe=True) == {
        "big.bin": BIG
    }
    return header, chunks


def assert_caught(header: bytes, chunks: list[bytes], keys: dict[str, SecretKey]) -> None:
    assert refusal(header + b"".join(chunks), [keys["classic"].identity()]) is IntegrityError


@pytest.mark.parametrize("i", [0, 1, 2])
def test_dropped_chunk(i: int, big: tuple[bytes, list[bytes]], keys: dict[str, SecretKey]) -> None:
    header, chunks = big
    assert_caught(header, chunks[:i] + chunks[i + 1 :], keys)


@pytest.mark.parametrize("i", [0, 1, 2])
def test_duplicated_chunk(
    i: int, big: tuple[bytes, list[bytes]], keys: dict[str, SecretKey]
) -> None:
    header, chunks = big
    assert_caught(header, [*chunks[: i + 1], chunks[i], *chunks[i + 1 :]], keys)


@pytest.mark.parametrize(("i", "j"), [(0, 1), (1, 2), (0, 2)])
def test_swapped_chunks(
    i: int, j: int, big: tuple[bytes, list[bytes]], keys: dict[str, SecretKey]
) -> None:
    header, chunks = big
    swapped = list(chunks)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert_caught(header, swapped, keys)


def test_spliced_chunks_from_another_archive_with_the_same_file_key(
    big: tuple[bytes, list[bytes]], keys: dict[str, SecretKey]
) -> None:
    file_key = os.urandom(32)
    header, chunks = big_archive(keys["classic"], file_key=file_key)
    _, others = big_archive(keys["classic"], file_key=file_key)  # a fresh payload nonce
    for i in range(len(chunks)):
        for j in range(len(others)):
            spliced = list(chunks)
            spliced[i] = others[j]
            assert_caught(header, spliced, keys)
    # Splicing in whole headers instead: the other header's nonce gives another key.
    other_header, _ = big_archive(keys["classic"], file_key=file_key)
    assert_caught(other_header, chunks, keys)


def test_spliced_chunk_with_the_same_payload_key_fails_the_member_digest(
    keys: dict[str, SecretKey],
) -> None:
    """Even if a writer reused a file key *and* payload nonce (the seams make it
    possible; the library never does), a chunk from the other archive carries
    other content and the member's BLAKE3 digest catches it."""
    file_key, nonce = os.urandom(32), os.urandom(16)
    header, chunks = big_archive(keys["classic"], file_key=file_key, nonce=nonce)
    changed = bytearray(BIG)
    changed[CHUNK_SIZE + 10] ^= 1
    _, others = big_archive(keys["classic"], file_key=file_key, nonce=nonce, content=bytes(changed))
    assert chunks[0] == others[0] and chunks[1] != others[1]
    assert_caught(header, [chunks[0], others[1], chunks[2]], keys)


def test_damage_in_a_later_chunk_of_a_pipe_is_found_before_any_plaintext(
    big: tuple[bytes, list[bytes]], keys: dict[str, SecretKey]
) -> None:
    # A pipe is held (ciphertext) in a temporary file and its index read first:
    # damage in the last chunk stops the read before a byte of plaintext goes out.
    header, chunks = big
    last = bytearray(chunks[2])
    last[5] ^= 1
    got = bytearray()
    with pytest.raises(IntegrityError):
        reader = ArchiveReader(
            Pipe(header + chunks[0] + chunks[1] + bytes(last)),  # type: ignore[arg-type]
            [keys["classic"].identity()],
        )
        for entry in reader.walk():
            assert entry.data is not None
            while piece := entry.data.read(65536):
                got += piece
    assert got == b""


# -- fuzzing the reader ------------------------------------------------------------------


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[str, int, bytes]]:
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "overwrite"]))
        ops.append((op, draw(st.integers(0, size - 1)), draw(st.binary(min_size=1, max_size=6))))
    return ops


def apply(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for op, pos, blob in ops:
        pos = min(pos, len(out))
        if op == "flip" and pos < len(out):
            out[pos] ^= blob[0] or 1
        elif op == "insert":
            out[pos:pos] = blob
        elif op == "delete":
            del out[pos : pos + len(blob)]
        elif op == "truncate":
            del out[pos:]
        else:
            out[pos : pos + len(blob)] = blob
    return bytes(out)


FUZZ_ARCHIVES: dict[str, tuple[bytes, list[Identity]]] = {}


def _fuzz_archive(kind: str) -> tuple[bytes, list[Identity]]:
    if kind not in FUZZ_ARCHIVES:
        key = SecretKey.generate(classic=kind == "classic")
        archive = make_archive(SMALL, [key.public.recipient()], signer=key, compress=True)
        FUZZ_ARCHIVES[kind] = (archive, [key.identity()])
    return FUZZ_ARCHIVES[kind]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["classic", "pq"]), data=st.data())
def test_fuzz_reader_on_mutated_archives(kind: str, data: st.DataObject) -> None:
    archive, identities = _fuzz_archive(kind)
    mutated = apply(archive, data.draw(mutations(len(archive))))
    for pipe in (False, True):
        try:
            contents = read_all(mutated, identities, pipe=pipe)
        except SecureMediaError:
            continue
        # Accepted: only if the mutation was a no-op on the archive's bytes.
        assert mutated == archive
        assert contents == dict(SMALL)
