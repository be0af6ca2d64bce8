"""The volume header: the one public, keyless record at the start of every volume.

Layout (one 2,048-byte sector, all integers little-endian)::

    offset size field
         0    8 magic            b"\\x89SMVOL\\r\\n"
         8    2 format version   1
        10    2 header size      2048
        12   16 set id           random per pack; every volume of one archive shares it
        28    4 volume number    1-based
        32    4 volume count     patched in when the writer closes
        36    8 payload offset   where this volume's slice starts in the archive
        44    8 payload length   bytes of archive that follow this header
        52    8 archive length   total archive bytes over all volumes (patched at close)
        60    4 flags            bit 0: this volume file carries recovery data
                                 bit 1: the disc image holding it carries recovery data
                                 bit 2: a spare volume (cross-volume parity)
                                 bit 3: a salvage copy follows the payload
        64    2 spares           m, the number of spare volumes in the set (0..255)
        66    2 zero
        68    8 stripe length    L: 0 without spares, else the largest data payload
        76    8 copy length      bytes of the salvage-copy block after the payload
        84 1960 reserved         zero
      2044    4 CRC32C           of bytes 0..2043

Data volumes are numbered 1..count; the ``spares`` spare volumes of a set are
numbered count+1..count+spares and carry Reed-Solomon parity over the data
volumes' payloads (``spares.py``), so any ``spares`` volumes may be lost.

The header is one whole sector so that the payload starts sector-aligned and so
that a reader can find the volume inside a damaged disc image by testing each
sector boundary for the magic and the CRC. It holds no names and no keys.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass

import google_crc32c

from ..errors import MediaError, UnsupportedVersionError
from .sizes import LARGEST_MEDIUM
from .sizes import SECTOR as SECTOR  # re-exported: volumes are laid out in sectors

MAGIC = b"\x89SMVOL\r\n"
VERSION = 1
HEADER_SIZE = 2048
SET_ID_SIZE = 16

MAX_VOLUMES = 999
"""Volumes per set: three-digit file suffixes, and a cap on what a reader accepts."""

MAX_PAYLOAD = LARGEST_MEDIUM
"""No volume holds more than the largest disc (BD-R DL): a cap on a header field."""

_FIELDS = struct.Struct("<8sHH16sIIQQQIHHQQ")

FLAG_VOLUME_PROTECTED = 1
FLAG_IMAGE_PROTECTED = 2
FLAG_SPARE = 4
FLAG_SALVAGE_COPY = 8
_KNOWN_FLAGS = FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED | FLAG_SPARE | FLAG_SALVAGE_COPY
MAX_SPARES = 255
MAX_CODED_VOLUMES = 256
"""Data plus spare volumes of a set with spares: Reed-Solomon over GF(2^8)."""
_CRC_AT = HEADER_SIZE - 4


@dataclass(frozen=True)
class VolumeHeader:
    """The decoded header of one volume."""

    set_id: bytes
    number: int
    count: int
    payload_offset: int
    payload_length: int
    archive_length: int
    flags: int = 0
    """Where recovery data was written: lets ``verify`` tell a disc that lost its
    recovery region (a short burn or read) from one that never had any; and
    whether this is a spare volume, and whether it carries a salvage copy."""
    spares: int = 0
    """Spare (parity) volumes in the set, numbered after the ``count`` data volumes."""
    stripe_length: int = 0
    """Length of every spare's payload, the longest data payload; 0 without spares."""
    copy_length: int = 0
    """Bytes of the salvage-copy block after the (sector-padded) payload; 0: none."""

    @property
    def is_spare(self) -> bool:
        """True for a spare (parity) volume."""
        return self.number > self.count

    @property
    def total(self) -> int:
        """All volumes of the set: data volumes and spares."""
        return self.count + self.spares

    @property
    def has_copy(self) -> bool:
        """True if a salvage copy of the archive's header and tail follows the payload."""
        return self.copy_length > 0

    @property
    def copy_offset(self) -> int:
        """Where the salvage-copy block starts in the volume file (sector-aligned)."""
        return HEADER_SIZE + -(-self.payload_length // SECTOR) * SECTOR

    @property
    def file_length(self) -> int:
        """Bytes of the volume file: header, payload, salvage copy (no recovery data)."""
        if self.copy_length:
            return self.copy_offset + self.copy_length
        return HEADER_SIZE + self.payload_length

    @property
    def set_hex(self) -> str:
        """The set id as hex, as shown to the operator."""
        return self.set_id.hex()

    def sibling(self, number: int) -> VolumeHeader:
        """The header volume ``number`` of this set has, in a set with spares.

        Every field follows from the set there: data volume ``i`` holds the
        stripe-length slice at ``(i - 1) * stripe`` (capped at the archive's end,
        so a forged header gives an empty slice, not a negative one), a spare
        holds offset 0 and one stripe. Readers and ``repair`` compare survivors
        with it and rebuild missing headers from it.
        """
        stripe, total = self.stripe_length, self.archive_length
        flags = self.flags & ~FLAG_SPARE
        if number > self.count:
            offset, length, flags = 0, stripe, flags | FLAG_SPARE
        else:
            offset = min((number - 1) * stripe, total)
            length = min(stripe, total - offset)
        return dataclasses.replace(
            self, number=number, payload_offset=offset, payload_length=length, flags=flags
        )

    def label(self) -> str:
        """``volume 2 of 3`` (``spare volume 1 of 2``): how messages name a volume."""
        if self.is_spare:
            return f"spare volume {self.number - self.count} of {self.spares}"
        return f"volume {self.number} of {self.count}"

    def pack(self) -> bytes:
        """Encode to exactly ``HEADER_SIZE`` bytes, CRC included."""
        body = _FIELDS.pack(
            MAGIC,
            VERSION,
            HEADER_SIZE,
            self.set_id,
            self.number,
            self.count,
            self.payload_offset,
            self.payload_length,
            self.archive_length,
            self.flags,
            self.spares,
            0,
            self.stripe_length,
            self.copy_length,
        )
        body = body.ljust(_CRC_AT, b"\0")
        return body + struct.pack("<I", google_crc32c.value(body))


def missing_phrases(numbers: list[int], count: int, spares: int) -> list[str]:
    """``volume 2 of 4 is missing``, one per volume; a run of three or more becomes
    ``volumes 1 to 254 of 255 are missing``, so that a forged count cannot make a
    message as long as the volumes it claims."""
    out: list[str] = []
    i = 0
    ordered = sorted(numbers)
    while i < len(ordered):
        j = i
        spare = ordered[i] > count
        while (
            j + 1 < len(ordered)
            and ordered[j + 1] == ordered[j] + 1
            and (ordered[j + 1] > count) == spare
        ):
            j += 1
        first, last = ordered[i], ordered[j]
        base, of, word = (count, spares, "spare volume") if spare else (0, count, "volume")
        if j - i >= 2:
            out.append(f"{word}s {first - base} to {last - base} of {of} are missing")
        else:
            out += [f"{word} {n - base} of {of} is missing" for n in ordered[i : j + 1]]
        i = j + 1
    return out


def looks_like_header(block: bytes) -> bool:
    """True if ``block`` starts with the volume magic (the CRC is not checked)."""
    return block[: len(MAGIC)] == MAGIC


def is_valid_header(block: bytes) -> bool:
    """True if ``block`` is a whole header with the magic and a matching CRC."""
    if len(block) < HEADER_SIZE or not looks_like_header(block):
        return False
    (crc,) = struct.unpack_from("<I", block, _CRC_AT)
    return bool(google_crc32c.value(block[:_CRC_AT]) == crc)


def parse_header(block: bytes, where: str) -> VolumeHeader:
    """Decode and check a header; ``where`` names the file in error messages.

    Every field is bounded, so a forged header cannot make a reader allocate,
    seek or loop without limit.
    """
    if len(block) < HEADER_SIZE or not looks_like_header(block):
        raise MediaError(f"{where}: not a securemedia volume")
    if not is_valid_header(block):
        raise MediaError(f"{where}: the volume header is damaged (checksum mismatch)")
    (
        magic,
        version,
        size,
        set_id,
        number,
        count,
        offset,
        length,
        total,
        flags,
        spares,
        zero,
        stripe,
        copy,
    ) = _FIELDS.unpack_from(block)
    del magic
    if version != VERSION:
        raise UnsupportedVersionError(f"{where}: volume format version {version} is not supported")
    if size != HEADER_SIZE or flags & ~_KNOWN_FLAGS or zero or any(block[_FIELDS.size : _CRC_AT]):
        raise MediaError(f"{where}: malformed volume header")
    if (
        not 1 <= count <= MAX_VOLUMES
        or spares > MAX_SPARES
        or count + spares > MAX_VOLUMES
        or (spares and count + spares > MAX_CODED_VOLUMES)
        or not 1 <= number <= count + spares
    ):
        raise MediaError(f"{where}: malformed volume header (volume {number} of {count}+{spares})")
    if length > MAX_PAYLOAD or offset + length > total or total > MAX_PAYLOAD * count:
        raise MediaError(f"{where}: malformed volume header (lengths out of range)")
    spare = number > count
    if (
        bool(flags & FLAG_SPARE) != spare
        or (spares == 0) != (stripe == 0)
        or stripe > MAX_PAYLOAD
        or (spare and (offset != 0 or length != stripe))
        or (spares and length > stripe)
    ):
        raise MediaError(f"{where}: malformed volume header (spare volume fields)")
    # A salvage copy holds at most the whole archive, in whole sectors, after one
    # sector of its own header: anything larger is a forged size.
    copy_cap = SECTOR + -(-total // SECTOR) * SECTOR
    if (
        bool(flags & FLAG_SALVAGE_COPY) != (copy > 0)
        or copy % SECTOR
        or copy > copy_cap
        or copy > MAX_PAYLOAD
    ):
        raise MediaError(f"{where}: malformed volume header (salvage copy fields)")
    return VolumeHeader(set_id, number, count, offset, length, total, flags, spares, stripe, copy)
