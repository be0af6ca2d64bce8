"""The byte layout of the payload plaintext: member records, frames, the index
record, the signature block and the trailer. Parsing only; no cryptography.

    member record   'M' | u32 meta_length | meta (UTF-8 JSON)
                    then, for a file: frames  u32 length (1..MAX_FRAME) | data
                    ended by a u32 zero
    index record    'I' | index (UTF-8 JSON)
    signature       0, 97, 129, 130 or 1313 bytes (signature.py)
    trailer         u64 index_offset | u64 index_length | u32 signature_length | "SMEND001"

Records come one after another from offset 0: a reader that cannot seek parses
them in order; one that can reads the trailer, then the index, then jumps to the
member it wants.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from ..errors import FormatError, IntegrityError
from ..stream import SequentialSource

MEMBER_TAG = b"M"
INDEX_TAG = b"I"
MAX_META = 64 * 1024
MAX_FRAME = 1 << 20
MAX_INDEX = 512 * 1024 * 1024
TRAILER = struct.Struct(">QQI8s")
TRAILER_MAGIC = b"SMEND001"
U32 = struct.Struct(">I")


def encode_meta(meta: dict[str, Any]) -> bytes:
    raw = json.dumps(meta, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    if len(raw) > MAX_META:
        raise ValueError("member metadata too long")
    return MEMBER_TAG + U32.pack(len(raw)) + raw


def encode_trailer(index_offset: int, index_length: int, signature_length: int) -> bytes:
    return TRAILER.pack(index_offset, index_length, signature_length, TRAILER_MAGIC)


def decode_trailer(raw: bytes, plaintext_size: int) -> tuple[int, int, int]:
    """Return (index_offset, index_length, signature_length), checked against the
    payload size so every byte of the payload is accounted for."""
    if len(raw) != TRAILER.size:
        raise IntegrityError()
    index_offset, index_length, sig_length, magic = TRAILER.unpack(raw)
    if magic != TRAILER_MAGIC:
        raise FormatError("archive payload has no valid trailer")
    if index_length > MAX_INDEX:
        raise FormatError("archive index is larger than the limit")
    if index_offset + 1 + index_length + sig_length + TRAILER.size != plaintext_size:
        raise FormatError("archive trailer does not match the payload size")
    return index_offset, index_length, sig_length


def read_exact(source: SequentialSource, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        # Inside an authenticated payload this can only be a malformed writer.
        raise FormatError("archive payload ends inside a record")
    return data


def read_meta(source: SequentialSource) -> dict[str, Any]:
    """Read the rest of a member record header (after its tag)."""
    (length,) = U32.unpack(read_exact(source, 4))
    if length > MAX_META:
        raise FormatError("archive member metadata is larger than the limit")
    try:
        meta = json.loads(read_exact(source, length))
    except (ValueError, RecursionError):  # not UTF-8 or JSON, digit limits, nesting
        raise FormatError("archive member metadata is malformed") from None
    if not isinstance(meta, dict):
        raise FormatError("archive member metadata is malformed")
    return meta


class FrameReader:
    """A file-like view of one member's framed data, ending at its zero frame."""

    def __init__(self, source: SequentialSource) -> None:
        self._source = source
        self._left = 0
        self._done = False
        self.stored_bytes = 0

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        if self._left == 0:
            (self._left,) = U32.unpack(read_exact(self._source, 4))
            self.stored_bytes += 4
            if self._left == 0:
                self._done = True
                return b""
            if self._left > MAX_FRAME:
                raise FormatError("archive frame is larger than the limit")
        take = self._left if size < 0 else min(size, self._left)
        data = read_exact(self._source, take)
        self._left -= take
        self.stored_bytes += take
        return data

    def drain(self) -> None:
        """Skip to the end of the member's frames."""
        while self.read(MAX_FRAME):
            pass
