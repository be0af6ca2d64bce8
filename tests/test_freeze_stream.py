"""Format freeze, part "stream" (issue 10 items 2, 7, 8 and 14): the rules of
docs/FORMAT.md sections 2, 3.3, 5, 6.1 and 15.1 that the conformance vectors
cannot show alone (a vector is at most two chunks here; the walk's precedence
needs three), and the sizes of the smallest header and payload, built for real.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemedia.archive.compression import FRAME_CONTENT, ZstdFrameError, decompressor
from securemedia.archive.reader import ArchiveReader
from securemedia.archive.writer import ArchiveWriter
from securemedia.envelope import payload_key
from securemedia.errors import FormatError, IntegrityError, NoIdentityError
from securemedia.header import BODY_LENGTHS, MAC_SIZE, StanzaType, parse, read_header
from securemedia.keys import SecretKey
from securemedia.recipients.passphrase import (
    MAX_MEMORY_KIB,
    MAX_WORK_KIB,
    Argon2Params,
    PassphraseIdentity,
    PassphraseRecipient,
)
from securemedia.stream import CHUNK_SIZE, chunk_nonce

TESTKIT = Path(__file__).parent / "vectors" / "testkit"
CHEAP = Argon2Params(1, 8, 1)  # every cost at its lower bound
TAG = 16


class _Pipe(io.RawIOBase):
    """A non-seekable source over bytes, with short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data) - self._pos, 40_000)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _sources(data: bytes) -> list[io.BufferedIOBase]:
    return [io.BytesIO(data), io.BufferedReader(_Pipe(data))]


# -- item 2: the Argon2id caps are structural ----------------------------------------


def _argon2_header(t: int, m: int, p: int) -> bytes:
    body = os.urandom(16) + struct.pack(">III", t, m, p) + os.urandom(48)
    stanza = bytes([StanzaType.ARGON2ID]) + struct.pack(">H", len(body)) + body
    unsigned = b"securemedia\x00\x01" + b"\0\0\0\0" + os.urandom(16) + b"\x00\x01" + stanza
    total = len(unsigned) + MAC_SIZE
    return unsigned[:13] + struct.pack(">I", total) + unsigned[17:] + os.urandom(MAC_SIZE)


@pytest.mark.parametrize(
    ("t", "m", "p"), [(0, 1024, 1), (11, 1024, 1), (1, 7, 1), (1, 1024, 17), (5, 157287, 1)]
)
def test_argon2_caps_refused_by_the_header_parser_whoever_reads(t: int, m: int, p: int) -> None:
    raw = _argon2_header(t, m, p)
    with pytest.raises(FormatError, match="passphrase parameters are out of range"):
        read_header(io.BytesIO(raw))
    # No identity is tried: a reader holding only keys gets the same class.
    key = SecretKey.generate(classic=True).identity()
    with pytest.raises(FormatError, match="passphrase parameters are out of range"):
        ArchiveReader(io.BytesIO(raw + bytes(64)), [key])


@pytest.mark.parametrize(
    ("t", "m", "p"), [(1, 8, 1), (1, 128, 16), (4, MAX_MEMORY_KIB, 1), (10, MAX_WORK_KIB // 10, 4)]
)
def test_argon2_caps_are_inclusive(t: int, m: int, p: int) -> None:
    """At the caps the header parses; a key holder gets "no match" without any hashing."""
    raw = _argon2_header(t, m, p)
    header = parse(raw)
    with pytest.raises(NoIdentityError):
        ArchiveReader(io.BytesIO(raw + bytes(64)), [SecretKey.generate(classic=True).identity()])
    assert header.stanzas[0].type is StanzaType.ARGON2ID


# -- item 7: stored zstd bytes that end inside a frame --------------------------------


def _truncations(frame: bytes) -> list[bytes]:
    return [frame[:n] for n in (1, 3, 4, 5, 8, len(frame) // 2, len(frame) - 4, len(frame) - 1)]


def test_the_library_stream_reader_would_accept_a_cut_frame_ours_refuses() -> None:
    """python-zstandard's stream reader returns what it decoded from a frame cut
    short, without an error: the reason the reader splits frames itself."""
    content = os.urandom(1000) * 8
    frame = zstandard.ZstdCompressor(write_checksum=True).compress(content)
    lax = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(frame[:-2])).read()
    assert lax == content  # every byte, and no word about the missing checksum bytes
    for cut in _truncations(frame):
        for source in _sources(cut):
            with pytest.raises(ZstdFrameError):
                decompressor(source, len(content)).read()


def test_a_whole_frame_decodes_from_a_file_and_a_pipe() -> None:
    content = os.urandom(FRAME_CONTENT) + b"tail"
    stored = b"".join(
        zstandard.ZstdCompressor().compress(content[i : i + FRAME_CONTENT])
        for i in range(0, len(content), FRAME_CONTENT)
    )
    for source in _sources(stored):
        reader = decompressor(source, len(content))
        out = b""
        while piece := reader.read(1 << 20):
            out += piece
        assert out == content


# -- item 8: which class wins --------------------------------------------------------


def _three_chunk_archive() -> tuple[bytes, int, bytes]:
    """A passphrase archive of one 2.5 MiB file (three chunks, the index in the
    last); the header length and the payload key."""
    fk, nonce = os.urandom(32), os.urandom(16)
    sink = io.BytesIO()
    recipient = PassphraseRecipient(b"pw", CHEAP)
    with (
        ArchiveWriter(sink, [recipient], _file_key=fk, _payload_nonce=nonce) as w,
        w.open_member("big.bin", mode=0o644, mtime_ns=0) as out,
    ):
        out.write(os.urandom(CHUNK_SIZE * 5 // 2))
    data = sink.getvalue()
    hlen = struct.unpack(">I", data[13:17])[0]
    assert len(data) - hlen > 2 * (CHUNK_SIZE + TAG)
    return data, hlen, payload_key(fk, nonce)


def _reseal_chunk0(data: bytes, hlen: int, key: bytes, old: bytes, new: bytes) -> bytes:
    """The archive with chunk 0's plaintext changed (still authentic)."""
    chunk = data[hlen : hlen + CHUNK_SIZE + TAG]
    plain = AESGCM(key).decrypt(chunk_nonce(0, False), chunk, None)
    assert plain.count(old) == 1
    resealed = AESGCM(key).encrypt(chunk_nonce(0, False), plain.replace(old, new), None)
    return data[:hlen] + resealed + data[hlen + len(chunk) :]


def _flip_chunk1(data: bytes, hlen: int) -> bytes:
    at = hlen + CHUNK_SIZE + TAG + 100
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def _walk_all(source: io.BufferedIOBase) -> None:
    with ArchiveReader(source, [PassphraseIdentity(b"pw")]) as reader:
        for entry in reader.walk():
            if entry.data is not None:
                while entry.data.read(1 << 16):  # the caller reads, as unpack does
                    pass


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"mode":420', b'"mode":416'),  # the record's meta differs from its index entry
        (struct.pack(">I", 1 << 20), struct.pack(">I", (1 << 20) + 1)),  # frame over 1 MiB
    ],
    ids=["meta_in_walk", "frame_in_caller_read"],
)
def test_a_later_bad_chunk_outranks_a_record_fault(old: bytes, new: bytes) -> None:
    data, hlen, key = _three_chunk_archive()
    faulty = _reseal_chunk0(data, hlen, key, old, new)
    for source in _sources(faulty):  # one fault: index failure, exactly FormatError
        with pytest.raises(FormatError) as caught:
            _walk_all(source)
        assert type(caught.value) is FormatError
    both = _flip_chunk1(faulty, hlen)
    for source in _sources(both):  # and a chunk after it fails: payload failure
        with pytest.raises(IntegrityError):
            _walk_all(source)


def test_the_vectors_of_the_precedence_pin_what_the_reader_does() -> None:
    """The 1 MiB vector whose index is not JSON and whose chunk 0 is damaged: the
    index is read first (from the last chunk), but the damage is what is said."""
    body = (TESTKIT / "payload_bad_chunk0_and_index_not_json").read_bytes().partition(b"\n\n")[2]
    for source in _sources(body):
        with pytest.raises(IntegrityError):
            ArchiveReader(source, [PassphraseIdentity("correct horse battery staple")])


# -- item 14: the smallest header and payload ----------------------------------------


def test_smallest_valid_header_is_146_and_smallest_payload_55() -> None:
    sink = io.BytesIO()
    with ArchiveWriter(sink, [PassphraseRecipient(b"pw", CHEAP)]):
        pass  # no member at all
    data = sink.getvalue()
    header = read_header(io.BytesIO(data))
    assert len(header.raw) == 146 == 35 + 3 + BODY_LENGTHS[StanzaType.ARGON2ID].start + 32
    # 146 is the smallest: the passphrase body is the shortest body of any type.
    assert min(r.start for r in BODY_LENGTHS.values()) == 76
    reader = ArchiveReader(io.BytesIO(data), [PassphraseIdentity(b"pw")])
    assert reader.payload_size == 55 == 1 + len(b'{"version":1,"members":[]}') + 28
    assert len(data) == 146 + 55 + TAG
    vector = (TESTKIT / "success_empty_archive").read_bytes().partition(b"\n\n")[2]
    assert len(vector) == len(data)  # the vector is the smallest valid archive


def test_the_70_byte_minimum_header_is_structural_only() -> None:
    """70 bytes pass the length check (rule 3) but hold a stanza with an empty
    body, which no type allows (rule 5)."""
    for kind in StanzaType:
        raw = bytearray(b"securemedia\x00\x01" + struct.pack(">I", 70) + bytes(16) + b"\x00\x01")
        raw += bytes([kind]) + b"\x00\x00" + bytes(MAC_SIZE)
        assert len(raw) == 70
        with pytest.raises(FormatError, match=f"malformed {kind.name} stanza"):
            parse(bytes(raw))
    short = bytearray(raw)
    short[13:17] = struct.pack(">I", 69)
    with pytest.raises(FormatError, match="length 69 is out of range"):
        parse(bytes(short[:69]))
