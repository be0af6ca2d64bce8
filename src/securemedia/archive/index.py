"""The index (manifest): every member with its size, time, mode and BLAKE3
digest, and where its record sits in the payload. UTF-8 JSON in one canonical
layout, signed with the header when the archive is signed.

The value rules live here once, in :func:`check_member_meta`, and both sides use
them: the writer before it writes a member's record, the reader for every record
and index entry. So ``pack`` cannot produce an archive its own reader refuses.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import FormatError, UnsafeMemberError
from .paths import validate_member_name

INDEX_VERSION = 1
MAX_MEMBERS = 10_000_000
COMPRESSIONS = ("none", "zstd")
FILE = "file"
DIRECTORY = "dir"
# Times are signed 64-bit nanoseconds since the Unix epoch: 1677-09-21 to
# 2262-04-11, every time a POSIX file system can stamp in nanoseconds (and every
# time of a 32-bit time_t, from 1901). Larger values do not fit a timespec.
MIN_MTIME_NS = -(1 << 63)
MAX_MTIME_NS = (1 << 63) - 1
MAX_MODE = 0o7777
# Sizes and offsets: non-negative signed 64-bit integers.
MAX_SIZE = (1 << 63) - 1
META_KEYS = ("path", "type", "mode", "mtime_ns", "compression")
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Member:
    """One archive member as the index describes it."""

    path: str
    type: str
    size: int
    mode: int
    mtime_ns: int
    compression: str
    blake3: str
    offset: int
    length: int

    @property
    def is_dir(self) -> bool:
        return self.type == DIRECTORY

    def meta(self) -> dict[str, Any]:
        """The part of the entry repeated in the member's own record."""
        return {
            "path": self.path,
            "type": self.type,
            "mode": self.mode,
            "mtime_ns": self.mtime_ns,
            "compression": self.compression,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


ENTRY_KEYS = tuple(f.name for f in fields(Member))


def encode_entry(member: Member) -> bytes:
    """One index entry in its canonical form (docs/FORMAT.md section 7)."""
    return json.dumps(asdict(member), ensure_ascii=False, separators=(",", ":")).encode()


def encode_index(members: list[Member]) -> bytes:
    doc = {"version": INDEX_VERSION, "members": [asdict(m) for m in members]}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


# The canonical index is INDEX_PREFIX, the entries (encode_entry) joined by
# ENTRY_SEPARATOR, then INDEX_SUFFIX: byte for byte what encode_index returns.
# The writer keeps only the encoded entries and streams the index in pieces, so
# its memory per member is the entry's bytes, not a Member plus a dict plus a str.
INDEX_PREFIX = b'{"version":%d,"members":[' % INDEX_VERSION
ENTRY_SEPARATOR = b","
INDEX_SUFFIX = b"]}"


def decode_entries(body: bytes | bytearray) -> list[Member]:
    """The members of ``body``: entries written by :func:`encode_entry`, joined
    by ENTRY_SEPARATOR (the writer's own, trusted, output; not checked again)."""
    if not body:
        return []
    return [Member(**entry) for entry in json.loads(b"[" + body + b"]")]


def refuse_constant(name: str) -> object:
    """``parse_constant`` of the JSON decoders: NaN, Infinity and -Infinity are
    not JSON (RFC 8259, I-JSON), though Python's parser takes them by default."""
    raise ValueError(f"{name} is not JSON")


def check_mtime_ns(value: object) -> int:
    """Return ``value`` if it is a modification time the format can hold: an
    integer in the signed 64-bit nanosecond range; else raise FormatError."""
    if type(value) is not int:
        raise FormatError("archive member time is not an integer")
    if not MIN_MTIME_NS <= value <= MAX_MTIME_NS:
        raise FormatError(
            "archive member time is outside the format's range "
            "(signed 64-bit nanoseconds: years 1677 to 2262)"
        )
    return value


def check_member_meta(meta: dict[str, Any]) -> None:
    """The one check of a member's metadata, for the writer and the reader.

    ``meta`` has exactly the keys of :data:`META_KEYS`: a safe name, type
    ``file`` or ``dir``, ``mode`` in 0..0o7777, ``mtime_ns`` in the signed 64-bit
    range, and a known compression (``none`` for a directory). Raises
    UnsafeMemberError for an unsafe name or type, FormatError for anything else.
    """
    path = meta.get("path")
    _check_kind(path, meta.get("type"))
    if not isinstance(path, str):
        raise FormatError("archive member record is malformed")
    validate_member_name(path)
    if set(meta) != set(META_KEYS):
        raise FormatError("archive member record is malformed")
    _check_values(meta)


def member_from_entry(entry: object) -> Member:
    """A :class:`Member` from one parsed index entry, every field checked."""
    if not isinstance(entry, dict):
        raise FormatError("archive index entry is malformed")
    path = entry.get("path")
    _check_kind(path, entry.get("type"))
    if isinstance(path, str):
        validate_member_name(path)  # an unsafe name is named as such, whatever else is wrong
    if tuple(entry) != ENTRY_KEYS or not isinstance(path, str):
        raise FormatError("archive index entry is malformed")
    _check_values(entry)
    if not all(type(entry[k]) is int and 0 <= entry[k] <= MAX_SIZE for k in _SIZES):
        raise FormatError("archive index entry is malformed")
    digest = entry["blake3"]
    if entry["type"] == DIRECTORY:
        # A directory has no content: nothing to size or digest (section 7).
        if entry["size"] != 0 or digest != "":
            raise FormatError("archive index entry of a directory has a size or a digest")
    elif not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        # A file always has its digest, of its content even when empty: "" does
        # not mean "unchecked", and the hex is lowercase so one digest has one spelling.
        raise FormatError("archive index entry has a malformed BLAKE3 digest")
    return Member(**entry)


_SIZES = ("size", "offset", "length")


def _check_values(meta: dict[str, Any]) -> None:
    """Type, mode, time and compression of a record's meta or an index entry
    (the name is checked by the callers)."""
    if meta["type"] not in (FILE, DIRECTORY):
        raise FormatError("archive member record is malformed")
    compression = meta["compression"]
    if compression not in COMPRESSIONS or (meta["type"] == DIRECTORY and compression != "none"):
        raise FormatError("archive member record has an unknown compression")
    mode = meta["mode"]
    if type(mode) is not int or not 0 <= mode <= MAX_MODE:
        raise FormatError("archive member mode is not an integer in 0..0o7777")
    check_mtime_ns(meta["mtime_ns"])


def _check_kind(path: object, kind: object) -> None:
    """Name what is refused: links, devices, FIFOs, anything but a file or a directory."""
    if isinstance(path, str) and isinstance(kind, str) and kind not in (FILE, DIRECTORY):
        raise UnsafeMemberError(
            f"member {path[:200]!r} is of type {kind[:40]!r}: "
            "only files and directories are extracted"
        )
