"""The unique-name rules of docs/FORMAT.md section 8, checked over an index of
any size in memory that does not grow with the member count.

:class:`~securemedia.archive.paths.NameSet` checks names one at a time but
keeps every name's digest. Here every name, and every ancestor it implies, is
reduced to a record (a 16-byte BLAKE2b digest of the normalised name under a
random key that lives only in this object, a kind, the member's number) and
the records are partitioned by digest. Partitions stay in memory while they
are small and are spilled to anonymous temporary files (unlinked at once;
without the key the digests say nothing about the names) when they grow; at
the end each partition is checked on its own, since every conflict is between
records of one digest:

* two names with one digest: a duplicate (case and normalisation folded);
* a file's digest among the ancestors of any member: a member inside a file.

The conflict reported is the one a one-at-a-time check would meet first (the
smallest member number at which a conflict exists), named by member.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from ..errors import OperationalError, UnsafeMemberError
from .paths import folded_name, quoted_name

PARTITIONS = 64
SPILL_BYTES = 4 << 20  # records held in memory before partitions go to disk
_RECORD = struct.Struct(">16sBI")  # digest, kind, member number
_FILE, _DIR, _PARENT = 0, 1, 2


class NameConflictError(UnsafeMemberError):
    """Two names that cannot both be members: ``number`` is the member at which
    the conflict was met, ``rule`` one of ``duplicate``, ``inside``, ``holds``."""

    def __init__(self, message: str, number: int, rule: str) -> None:
        super().__init__(message)
        self.number = number
        self.rule = rule


class NameCheck:
    """Collects ``(number, name, is_dir)`` for members numbered 0, 1, 2... in
    order; :meth:`finish` raises UnsafeMemberError for the first conflict."""

    def __init__(self) -> None:
        self._key = os.urandom(16)
        self._buffers = [bytearray() for _ in range(PARTITIONS)]
        self._held = 0
        self._files: list[BinaryIO] | None = None
        # Ancestors of the last name added, all recorded already: names come in
        # walk order, so most ancestors repeat, and only the first (smallest)
        # number implying a parent matters (see _check). Without this, every
        # member of a tree added one record for the top directory, all in one
        # partition: 21 MiB read back at once for a million members.
        self._recent: set[str] = set()

    def add(self, number: int, name: str, is_dir: bool) -> None:
        key = folded_name(name)
        self._put(self._digest(key), _DIR if is_dir else _FILE, number)
        parent = key.rpartition("/")[0]
        ancestors = set()
        while parent:
            ancestors.add(parent)
            if parent in self._recent:
                # Recorded with a smaller number, and so were its own ancestors.
                ancestors.update(p for p in self._recent if parent.startswith(p + "/"))
                break
            self._put(self._digest(parent), _PARENT, number)
            parent = parent.rpartition("/")[0]
        self._recent = ancestors

    def finish(self, name_of: Callable[[int], str]) -> None:
        """Check every partition; ``name_of(number)`` names a member in the message."""
        first: tuple[int, str] | None = None  # (at which member, which rule)
        try:
            for p in range(PARTITIONS):
                found = _check(self._partition(p))
                if found is not None and (first is None or _order(found) < _order(first)):
                    first = found
        finally:
            self.close()
        if first is None:
            return
        at, what = first
        shown = quoted_name(name_of(at))
        if what == "duplicate":
            raise NameConflictError(f"duplicate member name {shown}", at, what)
        if what == "inside":
            raise NameConflictError(f"member {shown} is inside a file", at, what)
        raise NameConflictError(f"member {shown} is a file but holds other members", at, what)

    def close(self) -> None:
        for handle in self._files or []:
            handle.close()
        self._files = None
        self._buffers = [bytearray() for _ in range(PARTITIONS)]

    def _digest(self, key: str) -> bytes:
        data = key.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, digest_size=16, key=self._key).digest()

    def _put(self, digest: bytes, kind: int, number: int) -> None:
        self._buffers[digest[0] % PARTITIONS] += _RECORD.pack(digest, kind, number)
        self._held += _RECORD.size
        if self._held >= SPILL_BYTES:
            self._spill()

    def _spill(self) -> None:
        try:
            if self._files is None:
                self._files = []
                for _ in range(PARTITIONS):
                    spill = tempfile.TemporaryFile(prefix="securemedia-names-")  # noqa: SIM115
                    self._files.append(spill)
            for handle, buffer in zip(self._files, self._buffers, strict=True):
                handle.write(buffer)
        except OSError as exc:
            self.close()
            raise OperationalError(
                f"cannot write the temporary name table (in TMPDIR): {exc.strerror}"
            ) from None
        self._buffers = [bytearray() for _ in range(PARTITIONS)]
        self._held = 0

    def _partition(self, p: int) -> bytes:
        if self._files is None:
            return bytes(self._buffers[p])
        handle = self._files[p]
        try:
            handle.seek(0)
            return handle.read() + self._buffers[p]
        except OSError as exc:
            raise OperationalError(
                f"cannot read the temporary name table (in TMPDIR): {exc.strerror}"
            ) from None


def _check(records: bytes) -> tuple[int, str] | None:
    """The earliest conflict among one partition's records, if any: (the member
    number at which a one-at-a-time check meets it, which rule)."""
    names: dict[bytes, tuple[int, int]] = {}  # digest -> (kind, number), first seen
    parents: dict[bytes, int] = {}  # digest -> smallest member number implying it
    first: tuple[int, str] | None = None

    def found(at: int, what: str) -> None:
        nonlocal first
        if first is None or _order((at, what)) < _order(first):
            first = (at, what)

    for digest, kind, number in _RECORD.iter_unpack(records):
        if kind == _PARENT:
            if digest not in parents or number < parents[digest]:
                parents[digest] = number
            continue
        seen = names.get(digest)
        if seen is None or number < seen[1]:
            if seen is not None:
                found(seen[1], "duplicate")
            names[digest] = (kind, number)
        else:
            found(number, "duplicate")
    for digest, (kind, number) in names.items():
        if kind != _FILE or digest not in parents:
            continue
        child = parents[digest]
        if number < child:
            found(child, "inside")
        else:
            found(number, "holds")
    return first


_RANK = {"duplicate": 0, "holds": 1, "inside": 2}


def _order(conflict: tuple[int, str]) -> tuple[int, int]:
    """Earlier member first; for one member, the rules in NameSet's order."""
    return conflict[0], _RANK[conflict[1]]
