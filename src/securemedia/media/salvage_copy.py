"""The salvage copy: the archive's header and encrypted tail, repeated on every volume.

The index lives at the end of the payload, so without the last disc nothing of
a set could be read, and without the first one the archive header is gone. So
each volume carries, after its (sector-padded) payload, a *salvage copy block*
(docs/MEDIA.md, "Salvage copies"), all integers little-endian::

    offset size field
         0    8 magic            b"\\x89SMCPY\\r\\n"
         8    8 header length H  archive bytes [0, H) follow
        16    8 tail offset T    archive bytes [T, A) follow: from the STREAM chunk
                                 holding the index record's first byte to the end
        24    8 archive length A must equal the volume header's
        32   16 set id           must equal the volume header's
        48 1996 zero
      2044    4 CRC32C           of bytes 0..2043
      2048      archive[0:H] then archive[T:A], zero-padded to a whole sector

The bytes are ciphertext that the archive authenticates itself (header MAC,
chunk tags bound to their position, the signature over the index), so a copy
needs no trust of its own: a wrong one fails authentication.

The writer must keep room for the block in every volume before it writes the
first one, when the tail does not exist yet: :func:`salvage_reserve` bounds it
from the member names, which ``pack`` knows before it writes.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import google_crc32c

from .. import signature
from ..archive.index import MAX_MTIME_NS, MAX_SIZE, MIN_MTIME_NS, Member, encode_entry
from ..archive.records import TRAILER
from ..errors import MediaError
from ..header import MAX_HEADER_SIZE
from ..stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE, TAG_SIZE
from .header import SECTOR, SET_ID_SIZE, VolumeHeader
from .sizes import LARGEST_MEDIUM

COPY_MAGIC = b"\x89SMCPY\r\n"
COPY_HEADER_SIZE = 2048
_FIELDS = struct.Struct("<8sQQQ16s")
_CRC_AT = COPY_HEADER_SIZE - 4
_READ = 1 << 20

RESERVE_FRACTION = 8
"""A copy is written only if its reserve is at most 1/8 of a volume's payload room."""

# The longest entry a member with an empty name can have: every number at its
# widest (sizes and offsets up to 2^63-1, the most negative time), a BLAKE3
# digest, "file" and "zstd". A name adds its JSON-escaped length minus the two
# quotes already counted here.
_WIDEST_ENTRY = len(
    encode_entry(
        Member(
            path="",
            type="file",
            size=MAX_SIZE,
            mode=0o7777,
            mtime_ns=min(MIN_MTIME_NS, -MAX_MTIME_NS),
            compression="zstd",
            blake3="f" * 64,
            offset=MAX_SIZE,
            length=MAX_SIZE,
        )
    )
)
_INDEX_FRAME = len(b'{"version":1,"members":[]}')
_ESCAPE = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class CopyInfo:
    """What a salvage copy block's header says."""

    header_length: int
    tail_offset: int
    archive_length: int
    set_id: bytes

    @property
    def content_length(self) -> int:
        """Archive bytes the block holds: the header and the tail."""
        return self.header_length + self.archive_length - self.tail_offset

    @property
    def block_length(self) -> int:
        """Bytes of the whole block: its header sector and the sector-padded bytes."""
        return copy_length(self.header_length, self.tail_offset, self.archive_length)

    def pack(self) -> bytes:
        """The block's first sector, CRC included."""
        body = _FIELDS.pack(
            COPY_MAGIC, self.header_length, self.tail_offset, self.archive_length, self.set_id
        ).ljust(_CRC_AT, b"\0")
        return body + struct.pack("<I", google_crc32c.value(body))


def copy_length(header_length: int, tail_offset: int, archive_length: int) -> int:
    """``copy_length`` of a volume header: 2048 + the copied bytes in whole sectors."""
    content = header_length + archive_length - tail_offset
    return COPY_HEADER_SIZE + -(-content // SECTOR) * SECTOR


def tail_offset(header_length: int, index_offset: int) -> int:
    """Archive offset T of the STREAM chunk holding plaintext byte ``index_offset``."""
    return header_length + (index_offset // CHUNK_SIZE) * CIPHER_CHUNK_SIZE


def parse_copy_header(block: bytes, where: str) -> CopyInfo:
    """Decode and bound-check a copy block's first sector (MediaError if it is not one)."""
    if len(block) < COPY_HEADER_SIZE or block[: len(COPY_MAGIC)] != COPY_MAGIC:
        raise MediaError(f"{where}: no salvage copy where the header says")
    (crc,) = struct.unpack_from("<I", block, _CRC_AT)
    if google_crc32c.value(block[:_CRC_AT]) != crc:
        raise MediaError(f"{where}: the salvage copy is damaged (checksum mismatch)")
    _, length, tail, total, set_id = _FIELDS.unpack_from(block)
    if (
        any(block[_FIELDS.size : _CRC_AT])
        or not 0 < length <= MAX_HEADER_SIZE
        or not length <= tail <= total
        or total > LARGEST_MEDIUM * 999
        or length + total - tail > LARGEST_MEDIUM
    ):
        raise MediaError(f"{where}: malformed salvage copy header")
    return CopyInfo(length, tail, total, set_id)


def index_bound(names: Iterable[str]) -> int:
    """An upper bound on the index length for members named ``names``.

    Each entry costs at most its widest fixed part plus its JSON-escaped name;
    one separator between entries; the ``{"version":1,"members":[...]}`` frame.
    """
    total = _INDEX_FRAME
    count = 0
    for name in names:
        escaped = len(_ESCAPE(name).encode("utf-8", "surrogatepass"))
        total += _WIDEST_ENTRY - 2 + escaped
        count += 1
    return total + max(count - 1, 0)


def salvage_reserve(names: Iterable[str], header_length: int = MAX_HEADER_SIZE) -> int:
    """Bytes to keep free in every volume for a copy block of this archive.

    The tail is the index record (tag and index), the signature block and the
    trailer, plus up to one whole chunk of member data before the index in the
    chunk the tail starts with; its ciphertext adds a tag per chunk. The result
    is in whole sectors, the block's own header sector included.
    """
    plain = CHUNK_SIZE + 1 + index_bound(names) + signature.MAX_BLOCK_SIZE + TRAILER.size
    chunks = -(-plain // CHUNK_SIZE) + 1
    content = header_length + plain + chunks * TAG_SIZE
    return COPY_HEADER_SIZE + -(-content // SECTOR) * SECTOR


def reserve_fits(reserve: int, payload_capacity: int) -> bool:
    """True if a reserve is small enough to be worth it (at most 1/8 of the room)."""
    return 0 < reserve * RESERVE_FRACTION <= payload_capacity


__all__ = [
    "COPY_HEADER_SIZE",
    "COPY_MAGIC",
    "SET_ID_SIZE",
    "CopyInfo",
    "append_block",
    "copy_length",
    "index_bound",
    "parse_copy_header",
    "reserve_fits",
    "salvage_reserve",
    "staged_pieces",
    "tail_offset",
    "write_block",
]


def write_block(info: CopyInfo, pieces: Iterable[bytes], out: BinaryIO) -> None:
    """Write the whole block: its header sector, then ``pieces`` (archive[0:H]
    then archive[T:A], in order), then zeros to the sector boundary."""
    out.write(info.pack())
    written = 0
    for piece in pieces:
        out.write(piece)
        written += len(piece)
    if written != info.content_length:
        raise MediaError("salvage copy: the archive bytes read back are not what was written")
    out.write(bytes(-written % SECTOR))


def staged_pieces(info: CopyInfo, volumes: Sequence[tuple[Path, int, int]]) -> Iterator[bytes]:
    """The block's content, archive[0:H] then archive[T:A], read back from the
    written volume files (path, payload length, offset of the volume file in
    it; in volume order, payloads after a header sector)."""
    for start, end in ((0, info.header_length), (info.tail_offset, info.archive_length)):
        first = 0
        for path, length, front in volumes:
            low, high = max(start, first), min(end, first + length)
            if low < high:
                with path.open("rb") as fp:
                    fp.seek(front + SECTOR + low - first)
                    while low < high:
                        piece = fp.read(min(_READ, high - low))
                        if not piece:
                            raise MediaError(f"{path.name}: shorter than what was written")
                        yield piece
                        low += len(piece)
            first += length


def append_block(
    fp: BinaryIO, header: VolumeHeader, source: BinaryIO, offset: int, *, front: int = 0
) -> None:
    """Append the copy block (``header.copy_length`` bytes of ``source`` from
    ``offset``) to the volume file ``fp`` (header and payload written; it
    starts at ``front`` of the file) at ``header.copy_offset``, after the
    payload's zero padding. Copied in pieces: memory stays bounded whatever
    length a header announces. A short source is a truncated volume (MediaError)."""
    end = fp.seek(0, io.SEEK_END) - front
    fp.write(bytes(header.copy_offset - end))
    source.seek(offset)
    left = header.copy_length
    while left:
        piece = source.read(min(_READ, left))
        if not piece:
            raise MediaError(f"{header.label()}: its salvage copy is truncated")
        fp.write(piece)
        left -= len(piece)
