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
        64 1980 reserved         zero
      2044    4 CRC32C           of bytes 0..2043

The header is one whole sector so that the payload starts sector-aligned and so
that a reader can find the volume inside a damaged disc image by testing each
sector boundary for the magic and the CRC. It holds no names and no keys.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import google_crc32c

from ..errors import MediaError, UnsupportedVersionError
from .sizes import LARGEST_MEDIUM

MAGIC = b"\x89SMVOL\r\n"
VERSION = 1
HEADER_SIZE = 2048
SET_ID_SIZE = 16

MAX_VOLUMES = 999
"""Volumes per set: three-digit file suffixes, and a cap on what a reader accepts."""

MAX_PAYLOAD = LARGEST_MEDIUM
"""No volume holds more than the largest disc (BD-R DL): a cap on a header field."""

_FIELDS = struct.Struct("<8sHH16sIIQQQI")

FLAG_VOLUME_PROTECTED = 1
FLAG_IMAGE_PROTECTED = 2
_KNOWN_FLAGS = FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED
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
    recovery region (a short burn or read) from one that never had any."""

    @property
    def set_hex(self) -> str:
        """The set id as hex, as shown to the operator."""
        return self.set_id.hex()

    def label(self) -> str:
        """``volume 2 of 3``: how messages name a volume."""
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
        )
        body = body.ljust(_CRC_AT, b"\0")
        return body + struct.pack("<I", google_crc32c.value(body))


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
    magic, version, size, set_id, number, count, offset, length, total, flags = _FIELDS.unpack_from(
        block
    )
    del magic
    if version != VERSION:
        raise UnsupportedVersionError(f"{where}: volume format version {version} is not supported")
    if size != HEADER_SIZE or flags & ~_KNOWN_FLAGS or any(block[_FIELDS.size : _CRC_AT]):
        raise MediaError(f"{where}: malformed volume header")
    if not 1 <= count <= MAX_VOLUMES or not 1 <= number <= count:
        raise MediaError(f"{where}: malformed volume header (volume {number} of {count})")
    if length > MAX_PAYLOAD or offset + length > total or total > MAX_PAYLOAD * count:
        raise MediaError(f"{where}: malformed volume header (lengths out of range)")
    return VolumeHeader(set_id, number, count, offset, length, total, flags)
