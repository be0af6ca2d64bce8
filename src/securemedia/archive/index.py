"""The index (manifest): every member with its size, time, mode and BLAKE3
digest, and where its record sits in the payload. UTF-8 JSON, signed with the
header when the archive is signed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import FormatError, UnsafeMemberError
from .paths import check_unique, validate_member_name

INDEX_VERSION = 1
MAX_MEMBERS = 10_000_000
COMPRESSIONS = ("none", "zstd")
FILE = "file"
DIRECTORY = "dir"


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


def encode_index(members: list[Member]) -> bytes:
    doc = {"version": INDEX_VERSION, "members": [asdict(m) for m in members]}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def decode_index(raw: bytes, members_end: int) -> list[Member]:
    """Parse and check an index: types, caps, safe unique names, and records
    that tile the payload exactly from 0 to ``members_end``."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FormatError("archive index is malformed") from None
    if not isinstance(doc, dict) or doc.get("version") != INDEX_VERSION:
        raise FormatError("archive index is malformed or of an unknown version")
    entries = doc.get("members")
    if not isinstance(entries, list) or len(entries) > MAX_MEMBERS:
        raise FormatError("archive index member list is malformed or over the limit")
    members = [_member(entry) for entry in entries]
    check_unique((m.path, m.is_dir) for m in members)
    position = 0
    for member in members:
        if member.offset != position:
            raise FormatError("archive index does not match the payload layout")
        position += member.length
    if position != members_end:
        raise FormatError("archive index does not match the payload layout")
    return members


def _member(entry: object) -> Member:
    if not isinstance(entry, dict):
        raise FormatError("archive index entry is malformed")
    _check_kind(entry.get("path"), entry.get("type"))
    try:
        member = Member(**entry)
    except TypeError:
        raise FormatError("archive index entry is malformed") from None
    ints = (member.size, member.mode, member.mtime_ns, member.offset, member.length)
    if (
        not isinstance(member.path, str)
        or member.type not in (FILE, DIRECTORY)
        or member.compression not in COMPRESSIONS
        or not all(type(v) is int and v >= 0 for v in ints)
        or not isinstance(member.blake3, str)
        or len(member.blake3) not in (0, 64)
    ):
        raise FormatError("archive index entry is malformed")
    validate_member_name(member.path)
    return member


def check_meta(meta: dict[str, Any]) -> None:
    """Check an in-line member record's metadata before acting on it."""
    path = meta.get("path")
    _check_kind(path, meta.get("type"))
    if not isinstance(path, str) or meta.get("type") not in (FILE, DIRECTORY):
        raise FormatError("archive member record is malformed")
    validate_member_name(path)
    if meta.get("compression") not in COMPRESSIONS:
        raise FormatError("archive member record is malformed")
    for key in ("mode", "mtime_ns"):
        value = meta.get(key)
        if type(value) is not int or value < 0:
            raise FormatError("archive member record is malformed")


def _check_kind(path: object, kind: object) -> None:
    """Name what is refused: links, devices, FIFOs, anything but a file or a directory."""
    if isinstance(path, str) and isinstance(kind, str) and kind not in (FILE, DIRECTORY):
        raise UnsafeMemberError(
            f"member {path[:200]!r} is of type {kind[:40]!r}: "
            "only files and directories are extracted"
        )
