"""Parse and write the archive header and its recipient stanzas; the header MAC.

No payload work happens here, and no key unwrapping: a stanza is a type and an
opaque body whose length is checked against its type before anything else looks
at it. Byte layout (docs/FORMAT.md, all integers big-endian)::

    magic          12  b"securemedia\\x00"
    version         1  0x01
    header_length   4  total header bytes, magic to MAC inclusive
    payload_nonce  16  HKDF salt for the payload key
    stanza_count    2  1..MAX_STANZAS
    stanzas            type (1) | body_length (2) | body
    mac            32  HMAC-SHA256(header key, every byte before the MAC)
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import BinaryIO

from .errors import FormatError, IntegrityError, NotAnArchiveError, UnsupportedVersionError

MAGIC = b"securemedia\x00"
VERSION = 1
NONCE_SIZE = 16
MAC_SIZE = 32
MAX_STANZAS = 128
MAX_RSA_STANZAS = 16
"""RSA-OAEP stanzas per header. An identity tries every stanza of its own kind and
size, and an RSA-8192 private-key operation costs about 70-150 ms here against well
under 1 ms for the HPKE kinds: 16 keeps the worst forged header near 2 s
(docs/FORMAT.md, "What a forged header can cost")."""
MAX_HEADER_SIZE = 256 * 1024
# Argon2id caps of a passphrase stanza (and of a protected key file). A finder of
# a disc chooses these numbers, and Argon2 runs before anything can be
# authenticated, so they bound what a forged stanza can cost (docs/FORMAT.md,
# "What a forged header can cost"; benchmarks/header_cost.py): memory at most 3x
# the default (192 MiB), and time x memory at most 4x the default's 3 passes over
# 64 MiB (768 MiB-passes, about 1.5 s here with one lane). Structural: a header
# over them is refused by every reader, whatever identities it holds.
MAX_TIME_COST = 10
MAX_MEMORY_KIB = 192 * 1024
MAX_WORK_KIB = 768 * 1024
"""Cap on time_cost x memory_kib: Argon2's running time is proportional to it."""
MAX_PARALLELISM = 16

_PREFIX = struct.Struct(">12sBI")  # magic, version, header_length
_MIN_HEADER = _PREFIX.size + NONCE_SIZE + 2 + 3 + MAC_SIZE
_ARGON2_COSTS = struct.Struct(">16xIII")  # a passphrase stanza's salt (skipped), t, m, p


class StanzaType(IntEnum):
    """Recipient stanza kinds of format version 1."""

    X25519 = 1
    MLKEM768_X25519 = 2
    P256 = 3
    P384 = 4
    RSA_OAEP = 5
    ARGON2ID = 6


# Allowed body lengths per type: wrapped keys are fixed-length, so a length is
# checked before any decryption is attempted.
_HPKE_WRAPPED = 32 + 16  # file key + AES-GCM tag
BODY_LENGTHS: dict[StanzaType, range] = {
    StanzaType.X25519: range(32 + _HPKE_WRAPPED, 32 + _HPKE_WRAPPED + 1),
    StanzaType.MLKEM768_X25519: range(1120 + _HPKE_WRAPPED, 1120 + _HPKE_WRAPPED + 1),
    StanzaType.P256: range(65 + _HPKE_WRAPPED, 65 + _HPKE_WRAPPED + 1),
    StanzaType.P384: range(97 + _HPKE_WRAPPED, 97 + _HPKE_WRAPPED + 1),
    StanzaType.RSA_OAEP: range(384, 1024 + 1),  # RSA 3072 to 8192 bits
    StanzaType.ARGON2ID: range(76, 77),
}


@dataclass(frozen=True)
class Stanza:
    """One recipient's wrapped copy of the file key."""

    type: StanzaType
    body: bytes

    def __repr__(self) -> str:
        return f"Stanza({self.type.name}, {len(self.body)} bytes)"


@dataclass(frozen=True)
class Header:
    """A parsed header. ``raw`` is every byte of it, MAC included."""

    payload_nonce: bytes
    stanzas: tuple[Stanza, ...]
    mac: bytes
    raw: bytes

    @property
    def archive_id(self) -> str:
        """A public identifier: the first 16 bytes of SHA-256 over the header, in hex."""
        return hashlib.sha256(self.raw).hexdigest()[:32]

    @property
    def authenticated_part(self) -> bytes:
        return self.raw[:-MAC_SIZE]

    def verify_mac(self, header_key: bytes) -> None:
        """Raise IntegrityError unless the MAC matches (constant-time compare)."""
        expected = hmac.new(header_key, self.authenticated_part, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, self.mac):
            raise IntegrityError()


def encode_unsigned(payload_nonce: bytes, stanzas: list[Stanza]) -> bytes:
    """Every header byte before the MAC, with the final length already counted."""
    if len(payload_nonce) != NONCE_SIZE:
        raise ValueError("payload nonce must be 16 bytes")
    if not 1 <= len(stanzas) <= MAX_STANZAS:
        raise ValueError(f"between 1 and {MAX_STANZAS} recipients are allowed")
    body = bytearray(payload_nonce)
    body += struct.pack(">H", len(stanzas))
    for stanza in stanzas:
        if len(stanza.body) not in BODY_LENGTHS[stanza.type]:
            raise ValueError(f"bad {stanza.type.name} stanza length {len(stanza.body)}")
        body += struct.pack(">BH", stanza.type, len(stanza.body)) + stanza.body
    _check_costs(stanzas, ValueError)
    total = _PREFIX.size + len(body) + MAC_SIZE
    if total > MAX_HEADER_SIZE:
        raise ValueError("too many recipients: header over its size limit")
    return _PREFIX.pack(MAGIC, VERSION, total) + bytes(body)


def seal(unsigned: bytes, header_key: bytes) -> Header:
    """Append the MAC to an encoded header and return it parsed."""
    mac = hmac.new(header_key, unsigned, hashlib.sha256).digest()
    return parse(unsigned + mac)


def is_archive_file(path: Path) -> bool:
    """True if ``path`` starts with :data:`MAGIC`: an archive written as one file
    (not a disc volume or image). False also if it cannot be read: the caller's
    own open of it says why."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def read_header(source: BinaryIO) -> Header:
    """Read exactly one header from ``source``, checking every limit before
    reading or allocating anything it announces."""
    prefix = source.read(_PREFIX.size)
    _check_prefix(prefix)
    total = _PREFIX.unpack(prefix)[2]
    rest = source.read(total - _PREFIX.size)
    return parse(prefix + rest)


def parse(raw: bytes) -> Header:
    """Parse a complete header (MAC not checked: that needs the file key)."""
    _check_prefix(raw[: _PREFIX.size])
    total = _PREFIX.unpack_from(raw)[2]
    if len(raw) != total:
        raise FormatError("archive header is truncated")
    pos = _PREFIX.size
    nonce = raw[pos : pos + NONCE_SIZE]
    pos += NONCE_SIZE
    (count,) = struct.unpack_from(">H", raw, pos)
    pos += 2
    if not 1 <= count <= MAX_STANZAS:
        raise FormatError(
            f"archive header has {count} recipient stanzas (1 to {MAX_STANZAS} allowed)"
        )
    end = total - MAC_SIZE
    stanzas: list[Stanza] = []
    for _ in range(count):
        if pos + 3 > end:
            raise FormatError("archive header is malformed: stanza runs past its end")
        kind, length = struct.unpack_from(">BH", raw, pos)
        pos += 3
        try:
            stype = StanzaType(kind)
        except ValueError:
            raise FormatError(f"archive header has an unknown recipient type {kind}") from None
        if length not in BODY_LENGTHS[stype] or pos + length > end:
            raise FormatError(f"archive header has a malformed {stype.name} stanza")
        stanzas.append(Stanza(stype, raw[pos : pos + length]))
        pos += length
    if pos != end:
        raise FormatError("archive header is malformed: unexpected bytes after the stanzas")
    if any(s.type is StanzaType.ARGON2ID for s in stanzas) and len(stanzas) != 1:
        # A passphrase stanza must stand alone: with a public-key recipient beside
        # it, the passphrase holder could not trust who else can write the archive.
        raise FormatError("archive header mixes a passphrase with other recipients")
    _check_costs(stanzas, FormatError)
    for stanza in stanzas:
        if stanza.type is StanzaType.ARGON2ID:
            # Structural (FORMAT.md section 2, rule 9): refused here, before any
            # identity is tried, so the class does not depend on who reads.
            check_argon2_costs(*_ARGON2_COSTS.unpack_from(stanza.body))
    return Header(nonce, tuple(stanzas), raw[end:], raw)


def _check_costs(stanzas: list[Stanza], error: type[Exception]) -> None:
    """Refuse a header whose stanzas would cost a reader too much to try.

    Structural and public, so checked before any key is unwrapped; the writer
    checks the same rule so that it never writes what a reader refuses.
    """
    rsa = sum(1 for s in stanzas if s.type is StanzaType.RSA_OAEP)
    if rsa > MAX_RSA_STANZAS:
        raise error(f"archive header has {rsa} RSA recipients (at most {MAX_RSA_STANZAS})")


def argon2_costs_allowed(time_cost: int, memory_kib: int, parallelism: int) -> bool:
    """True if Argon2id costs are inside the caps (FORMAT.md section 3.3)."""
    return (
        1 <= time_cost <= MAX_TIME_COST
        and 1 <= parallelism <= MAX_PARALLELISM
        and 8 * parallelism <= memory_kib <= MAX_MEMORY_KIB
        and time_cost * memory_kib <= MAX_WORK_KIB
    )


def check_argon2_costs(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Refuse (FormatError) Argon2id costs outside the caps, before any hashing."""
    if not argon2_costs_allowed(time_cost, memory_kib, parallelism):
        raise FormatError(
            "passphrase parameters are out of range (time cost "
            f"{time_cost}, memory {memory_kib} KiB, parallelism {parallelism})"
        )


def _check_prefix(prefix: bytes) -> None:
    if len(prefix) < _PREFIX.size or not prefix.startswith(MAGIC):
        raise NotAnArchiveError("not a securemedia archive")
    _, version, total = _PREFIX.unpack(prefix)
    if version != VERSION:
        raise UnsupportedVersionError(
            f"archive format version {version} is not supported "
            f"(this securemedia reads version {VERSION})"
        )
    if not _MIN_HEADER <= total <= MAX_HEADER_SIZE:
        raise FormatError(f"archive header length {total} is out of range")
