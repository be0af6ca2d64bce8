"""Member names: what a name inside an archive may look like.

A member name is a relative POSIX path of UTF-8 components. Everything that
could make an extractor write outside its destination, or that means something
different on another operating system, is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable

from ..errors import UnsafeMemberError
from .digest_set import DigestSet

MAX_NAME_BYTES = 4096
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 64

_DRIVE = re.compile(r"^[A-Za-z]:")
# Names Windows reserves: a receiving office may copy the tree onto a Windows share.
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def validate_member_name(name: str) -> str:
    """Return ``name`` unchanged if it is a safe relative member path, else raise.

    Refused: empty names, absolute paths, drive letters, backslashes, ``.`` and
    ``..`` components, empty components, NUL and other control characters,
    Windows device names, and names or components over the length caps.
    """
    shown = _printable(name)
    if not name:
        raise UnsafeMemberError("unsafe member name: empty name")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UnsafeMemberError(f"unsafe member name {shown}: longer than {MAX_NAME_BYTES} bytes")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise UnsafeMemberError(f"unsafe member name {shown}: control character")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeMemberError(f"unsafe member name {shown}: absolute path")
    if "\\" in name:
        raise UnsafeMemberError(f"unsafe member name {shown}: backslash")
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafeMemberError(f"unsafe member name {shown}: nested deeper than {MAX_DEPTH}")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafeMemberError(f"unsafe member name {shown}: '{part}' component")
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise UnsafeMemberError(f"unsafe member name {shown}: component too long")
        if part.split(".")[0].upper() in _WINDOWS_RESERVED:
            raise UnsafeMemberError(f"unsafe member name {shown}: reserved device name")
    return name


class NameSet:
    """Member names seen so far, checked one at a time in O(depth).

    Refused: duplicates, including names that differ only by case or Unicode
    normalisation (they overwrite each other on NTFS and APFS, where receiving
    offices unpack), and any member inside something that is a file.

    Names are held as 16-byte BLAKE2b digests of their normalised form, keyed
    with a random key per set (so no archive can be built to collide), in a
    compact table rather than as strings: a million members cost tens of MiB.
    """

    def __init__(self) -> None:
        self._key = os.urandom(16)
        self._kinds = DigestSet()  # name -> is a directory
        self._parents = DigestSet()  # names that hold other members

    def _digest(self, key: str) -> bytes:
        return hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=16, key=self._key
        ).digest()

    def add(self, name: str, is_dir: bool) -> None:
        key = unicodedata.normalize("NFC", name).casefold()
        digest = self._digest(key)
        if self._kinds.get(digest) is not None:
            raise UnsafeMemberError(f"duplicate member name {_printable(name)}")
        if not is_dir and self._parents.get(digest) is not None:
            raise UnsafeMemberError(f"member {_printable(name)} is a file but holds other members")
        parent = key.rpartition("/")[0]
        while parent:
            pdigest = self._digest(parent)
            if self._kinds.get(pdigest) is False:
                raise UnsafeMemberError(f"member {_printable(name)} is inside a file")
            if self._parents.get(pdigest) is not None:
                # Its own parents were added (and checked) with it, and no file
                # of any of their names can come later (refused just above).
                break
            self._parents.add(pdigest, True)
            parent = parent.rpartition("/")[0]
        self._kinds.add(digest, is_dir)


def check_unique(entries: Iterable[tuple[str, bool]]) -> None:
    """Check ``(name, is_directory)`` pairs with :class:`NameSet` rules."""
    names = NameSet()
    for name, is_dir in entries:
        names.add(name, is_dir)


def _printable(name: str) -> str:
    """A quoted form of ``name`` that is safe to print on a terminal."""
    return repr(name)[:200]
