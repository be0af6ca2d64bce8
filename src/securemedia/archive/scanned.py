"""What the input scan found: one :class:`Source` per member, held as compact
records in a :class:`~securemedia.archive.spill.Spill` so that a scan of a
million files costs a few MiB of memory, not a few hundred."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from .spill import Spill

STDIN = Path("-")

# root number, cut, is_dir, dev, ino, mode, mtime_ns, size, name length; the name follows.
_RECORD = struct.Struct(">IHBQQHqQH")


@dataclass(frozen=True, slots=True)
class Source:
    """One member to pack, as the scan saw it on disk.

    No Path of its own, but the input it was found under (``root``) and where
    the part below that input starts in ``name`` (``cut``); ``path`` is rebuilt
    from them when a file is opened.
    """

    name: str
    root: Path
    cut: int
    is_dir: bool
    dev: int
    ino: int
    mode: int
    mtime_ns: int
    size: int

    @property
    def path(self) -> Path:
        """The file on disk: the input itself, or the input joined with the part
        of the member name below the input's own name (the walk's ``path / child``)."""
        return self.root if self.cut == 0 else self.root / self.name[self.cut :]

    @property
    def is_stdin(self) -> bool:
        return self.root == STDIN


class Scan(Sequence[Source]):
    """The scan's members in order: iterable any number of times (each pass
    decodes the records again), with the totals a pack needs kept as they come.

    Indexing walks the records up to the one asked for: it is for error
    messages and tests, not for loops.
    """

    def __init__(self) -> None:
        self._roots: list[Path] = []
        self._root_numbers: dict[Path, int] = {}
        self._records = Spill("the list of files to pack")
        self._count = 0
        self.total_size = 0
        """Bytes of every regular file found (standard input counts 0)."""
        self.has_stdin = False

    def append(self, source: Source) -> None:
        number = self._root_numbers.get(source.root)
        if number is None:
            number = self._root_numbers[source.root] = len(self._roots)
            self._roots.append(source.root)
        name = source.name.encode("utf-8", "surrogatepass")
        fields = (source.cut, source.is_dir, source.dev, source.ino, source.mode)
        self._records.write(
            _RECORD.pack(number, *fields, source.mtime_ns, source.size, len(name)) + name
        )
        self._count += 1
        self.total_size += source.size
        self.has_stdin = self.has_stdin or source.is_stdin

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Source]:
        rest = b""
        for piece in self._records.pieces():
            data = rest + piece if rest else piece
            pos = 0
            while len(data) - pos >= _RECORD.size:
                root, cut, is_dir, dev, ino, mode, mtime_ns, size, length = _RECORD.unpack_from(
                    data, pos
                )
                start = pos + _RECORD.size
                if len(data) - start < length:
                    break
                name = data[start : start + length].decode("utf-8", "surrogatepass")
                pos = start + length
                yield Source(
                    name, self._roots[root], cut, bool(is_dir), dev, ino, mode, mtime_ns, size
                )
            rest = data[pos:]
        if rest:
            raise AssertionError("scan records cut short")  # pragma: no cover

    @overload
    def __getitem__(self, index: int) -> Source: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Source]: ...

    def __getitem__(self, index: int | slice) -> Source | Sequence[Source]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("scan index out of range")
        for number, source in enumerate(self):
            if number == index:
                return source
        raise IndexError("scan index out of range")  # pragma: no cover

    def close(self) -> None:
        """Drop the records (their temporary file, if any)."""
        self._records.close()
