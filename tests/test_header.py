"""The header parser: layout, limits, hostile inputs refused early and cheaply,
and fuzzing that may only ever raise securemedia's own errors."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_ARGON2, make_archive
from securemedia.archive.reader import ArchiveReader
from securemedia.envelope import open_header, seal_header
from securemedia.errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    SecureMediaError,
    UnsupportedVersionError,
    UsageError,
)
from securemedia.header import (
    BODY_LENGTHS,
    MAC_SIZE,
    MAGIC,
    MAX_HEADER_SIZE,
    MAX_STANZAS,
    Header,
    Stanza,
    StanzaType,
    encode_unsigned,
    parse,
    read_header,
)
from securemedia.keys import SecretKey
from securemedia.recipients.passphrase import (
    MAX_MEMORY_KIB,
    MAX_TIME_COST,
    PassphraseIdentity,
    PassphraseRecipient,
)

NONCE = bytes(range(16))


def stanza(kind: StanzaType, fill: int = 0xAB) -> Stanza:
    return Stanza(kind, bytes([fill]) * BODY_LENGTHS[kind].start)


def raw_header(stanzas: list[Stanza], nonce: bytes = NONCE) -> bytes:
    """A well-formed header with a MAC no key produced."""
    return encode_unsigned(nonce, stanzas) + b"\x5a" * MAC_SIZE


def prefix(version: int = 1, length: int = 100) -> bytes:
    return MAGIC + struct.pack(">BI", version, length)


def argon2_body(t: int, m: int, p: int) -> bytes:
    return os.urandom(16) + struct.pack(">III", t, m, p) + bytes(48)


@pytest.fixture(scope="module")
def valid_header(pq_key: SecretKey, classic_key: SecretKey) -> bytes:
    header, _ = seal_header([pq_key.public.recipient(), classic_key.public.recipient()])
    return header.raw


# -- layout -------------------------------------------------------------------------


def test_layout_of_a_sealed_header(valid_header: bytes) -> None:
    header = parse(valid_header)
    assert valid_header.startswith(MAGIC + b"\x01")
    assert struct.unpack(">I", valid_header[13:17])[0] == len(valid_header)
    assert header.payload_nonce == valid_header[17:33]
    assert struct.unpack(">H", valid_header[33:35])[0] == 2
    assert [s.type for s in header.stanzas] == [StanzaType.MLKEM768_X25519, StanzaType.X25519]
    assert header.mac == valid_header[-MAC_SIZE:]
    assert header.authenticated_part + header.mac == valid_header
    assert len(header.archive_id) == 32
    int(header.archive_id, 16)
    assert read_header(io.BytesIO(valid_header + b"payload")).raw == valid_header


def test_read_header_leaves_the_source_at_the_payload(valid_header: bytes) -> None:
    source = io.BytesIO(valid_header + b"PAYLOAD")
    read_header(source)
    assert source.read() == b"PAYLOAD"


@pytest.mark.parametrize("kind", list(StanzaType))
def test_every_stanza_kind_parses_at_its_allowed_lengths(kind: StanzaType) -> None:
    lengths = BODY_LENGTHS[kind]
    for length in {lengths.start, lengths.stop - 1}:
        # A passphrase stanza's costs are checked by parse too: t=1, m=257, p=1.
        body = b"\x01" * 16 + struct.pack(">III", 1, 257, 1) + b"\x01" * (length - 28)
        raw = raw_header([Stanza(kind, body)])
        assert parse(raw).stanzas == (Stanza(kind, body),)
    for bad in (lengths.start - 1, lengths.stop):
        # encode refuses to write it; a hand-made one is refused by parse.
        with pytest.raises(ValueError):
            encode_unsigned(NONCE, [Stanza(kind, b"\x01" * bad)])
        good = raw_header([Stanza(kind, b"\x01" * lengths.start)])
        body = b"\x01" * bad
        hand = bytearray(good[:35] + struct.pack(">BH", kind, bad) + body + bytes(MAC_SIZE))
        hand[13:17] = struct.pack(">I", len(hand))
        with pytest.raises(FormatError, match="malformed"):
            parse(bytes(hand))


def test_stanza_repr_shows_no_body() -> None:
    s = Stanza(StanzaType.X25519, b"\xee" * 80)
    assert "ee" not in repr(s).lower()
    assert "80 bytes" in repr(s)


def test_mac_covers_every_header_byte(pq_key: SecretKey) -> None:
    header, _ = seal_header([pq_key.public.recipient()])
    identity = pq_key.identity()
    open_header(header, [identity])
    # Flip each byte after the stanza (nonce, count, lengths are structural and
    # are covered by test_tamper): the nonce and the MAC itself.
    for offset in [*range(17, 33), *range(len(header.raw) - MAC_SIZE, len(header.raw))]:
        raw = bytearray(header.raw)
        raw[offset] ^= 0x80
        with pytest.raises(IntegrityError):
            open_header(parse(bytes(raw)), [identity])


def test_passphrase_stanza_must_stand_alone() -> None:
    mixed = encode_unsigned(NONCE, [stanza(StanzaType.X25519), stanza(StanzaType.ARGON2ID)])
    with pytest.raises(FormatError, match="mixes a passphrase"):
        parse(mixed + bytes(MAC_SIZE))
    two = encode_unsigned(NONCE, [stanza(StanzaType.ARGON2ID), stanza(StanzaType.ARGON2ID, 1)])
    with pytest.raises(FormatError, match="mixes a passphrase"):
        parse(two + bytes(MAC_SIZE))


def test_seal_header_refuses_passphrase_with_a_public_key(classic_key: SecretKey) -> None:
    with pytest.raises(UsageError, match="cannot be combined"):
        seal_header([PassphraseRecipient(b"pw", FAST_ARGON2), classic_key.public.recipient()])
    with pytest.raises(UsageError):
        seal_header([])


# -- hostile headers ----------------------------------------------------------------


def test_not_an_archive() -> None:
    for data in (b"", b"securemedia", b"PK\x03\x04" + bytes(100), b"x" * 500):
        with pytest.raises(FormatError, match="not a securemedia archive"):
            read_header(io.BytesIO(data))


def test_unknown_version() -> None:
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        read_header(io.BytesIO(prefix(version=2) + bytes(100)))


@pytest.mark.parametrize("length", [0, 17, 69, MAX_HEADER_SIZE + 1, 0xFFFFFFFF])
def test_header_length_out_of_range(length: int) -> None:
    with pytest.raises(FormatError, match="out of range"):
        read_header(io.BytesIO(prefix(length=length) + bytes(200)))


class CountingSource(io.BytesIO):
    """Records the largest read request."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None else -1)
        return super().read(size)


def test_huge_header_length_refused_before_reading_or_allocating() -> None:
    data = prefix(length=0xFFFFFFFF) + b"\x00\x00\x00"  # 20 bytes claiming 4 GiB
    assert len(data) == 20
    source = CountingSource(data)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError):
            read_header(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.largest == 17  # only the fixed prefix was asked for
    assert peak < 64 * 1024


def test_largest_allowed_header_length_reads_at_most_its_limit() -> None:
    source = CountingSource(prefix(length=MAX_HEADER_SIZE) + bytes(3))
    with pytest.raises(FormatError, match="truncated"):
        read_header(source)
    assert source.largest <= MAX_HEADER_SIZE


@pytest.mark.parametrize("count", [0, MAX_STANZAS + 1, 65535])
def test_stanza_count_out_of_range(count: int) -> None:
    raw = bytearray(raw_header([stanza(StanzaType.X25519)]))
    raw[33:35] = struct.pack(">H", count)
    with pytest.raises(FormatError, match="recipient stanzas"):
        parse(bytes(raw))


def test_stanza_count_larger_than_the_stanzas_present() -> None:
    raw = bytearray(raw_header([stanza(StanzaType.X25519)]))
    raw[33:35] = struct.pack(">H", 2)
    with pytest.raises(FormatError, match="malformed"):
        parse(bytes(raw))


def test_oversized_stanza_body() -> None:
    raw = bytearray(raw_header([stanza(StanzaType.X25519)]))
    raw[36:38] = struct.pack(">H", 65535)
    with pytest.raises(FormatError, match="malformed X25519"):
        parse(bytes(raw))


def test_unknown_stanza_type() -> None:
    raw = bytearray(raw_header([stanza(StanzaType.X25519)]))
    raw[35] = 99
    with pytest.raises(FormatError, match="unknown recipient type 99"):
        parse(bytes(raw))


def test_bytes_after_the_stanzas() -> None:
    good = raw_header([stanza(StanzaType.X25519)])
    raw = bytearray(good[:-MAC_SIZE] + b"\x00" + good[-MAC_SIZE:])
    raw[13:17] = struct.pack(">I", len(raw))
    with pytest.raises(FormatError, match="after the stanzas"):
        parse(bytes(raw))


def test_header_longer_than_the_file() -> None:
    good = raw_header([stanza(StanzaType.X25519)])
    for cut in range(len(good)):
        with pytest.raises(FormatError):
            read_header(io.BytesIO(good[:cut]))


def test_header_at_the_stanza_limit() -> None:
    raw = raw_header([stanza(StanzaType.X25519, i) for i in range(MAX_STANZAS)])
    assert len(parse(raw).stanzas) == MAX_STANZAS
    with pytest.raises(ValueError):
        encode_unsigned(NONCE, [stanza(StanzaType.X25519)] * (MAX_STANZAS + 1))


@pytest.mark.parametrize(
    ("t", "m", "p"),
    [
        (1, 4 * 1024 * 1024, 1),  # 4 GiB of memory
        (1, 0xFFFFFFFF, 1),
        (1000, 1024, 1),
        (MAX_TIME_COST + 1, 1024, 1),
        (1, MAX_MEMORY_KIB + 1, 1),
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (1, 1024, 0),
        (1, 1024, 255),
        (0, 1024, 1),
        (1, 7, 1),  # under 8 KiB per lane: argon2 itself would refuse
    ],
)
def test_hostile_argon2_parameters_refused_before_hashing(t: int, m: int, p: int) -> None:
    header = raw_header([Stanza(StanzaType.ARGON2ID, argon2_body(t, m, p))])
    archive = header + bytes(64)
    started = time.perf_counter()
    with pytest.raises(FormatError, match="passphrase parameters are out of range"):
        ArchiveReader(io.BytesIO(archive), [PassphraseIdentity(b"anything")])
    assert time.perf_counter() - started < 2.0


def test_argon2_parameters_at_the_caps_are_accepted_by_the_check() -> None:
    # Parameters inside the caps go on to hashing: with a cheap setting that
    # means a wrong-passphrase answer, not a parameter error.
    header = raw_header([Stanza(StanzaType.ARGON2ID, argon2_body(1, 1024, 1))])
    with pytest.raises(NoIdentityError):
        ArchiveReader(io.BytesIO(header + bytes(64)), [PassphraseIdentity(b"anything")])


# -- fuzzing ------------------------------------------------------------------------

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def parse_only_our_errors(data: bytes) -> Header | None:
    """``read_header`` and ``parse`` either succeed or raise a SecureMediaError."""
    result = None
    with contextlib.suppress(SecureMediaError):
        result = read_header(io.BytesIO(data))
    with contextlib.suppress(SecureMediaError):
        parse(data)
    return result


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    parse_only_our_errors(data)


@FUZZ
@given(
    version=st.integers(0, 255),
    length=st.integers(0, 0xFFFFFFFF) | st.integers(80, 600),
    rest=st.binary(max_size=600),
)
def test_fuzz_behind_a_valid_magic(version: int, length: int, rest: bytes) -> None:
    parse_only_our_errors(MAGIC + struct.pack(">BI", version, length) + rest)


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            del data[pos:]
    return bytes(data)


def _many_kinds_header() -> bytes:
    kinds = [
        StanzaType.X25519,
        StanzaType.MLKEM768_X25519,
        StanzaType.P256,
        StanzaType.P384,
        StanzaType.RSA_OAEP,
    ]
    return raw_header([stanza(k, i + 1) for i, k in enumerate(kinds)])


MANY_KINDS = _many_kinds_header()
PASSPHRASE_ONLY = raw_header([Stanza(StanzaType.ARGON2ID, argon2_body(1, 1024, 1))])


@FUZZ
@given(st.one_of(mutated(MANY_KINDS), mutated(PASSPHRASE_ONLY)))
def test_fuzz_mutated_headers(data: bytes) -> None:
    header = parse_only_our_errors(data + b"payload")
    if header is not None:
        # Anything accepted re-encodes to exactly the bytes that were read.
        assert encode_unsigned(header.payload_nonce, list(header.stanzas)) + header.mac == (
            header.raw
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_sealed_headers_through_open(
    data: st.DataObject, valid_header: bytes, pq_key: SecretKey, classic_key: SecretKey
) -> None:
    raw = data.draw(mutated(valid_header))
    identities = [pq_key.identity(), classic_key.identity()]
    try:
        header = read_header(io.BytesIO(raw))
        open_header(header, identities)
    except SecureMediaError:
        return
    # Only the untouched header (or a mutation that changed nothing) opens.
    assert raw.startswith(valid_header)


def test_fuzz_corpus_of_a_real_archive(pq_key: SecretKey) -> None:
    """Every prefix of a real archive's header parses or is refused cleanly."""
    archive = make_archive([("a.txt", b"hello")], [pq_key.public.recipient()])
    header = read_header(io.BytesIO(archive))
    for cut in range(len(header.raw) + 1):
        parse_only_our_errors(archive[:cut])
