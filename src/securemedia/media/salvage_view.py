"""Reading what survives of a set: the archive as one stream with holes.

``unpack --salvage`` reads a set that may lack any number of volumes (or hold
unreadable ones). The archive stream it reads serves each byte from the volume
that holds it (through a :class:`~.sources.PayloadSource`, so healing and
rebuilding sources plug in unchanged), the archive header and the encrypted
tail (index, signature, trailer) from any surviving salvage copy
(:mod:`.salvage_copy`), and raises :class:`LostDataError` for everything else.
Nothing here is trusted: the archive reader authenticates every byte.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import LostDataError, MediaError, UsageError, os_error
from .salvage_copy import COPY_HEADER_SIZE, CopyInfo, parse_copy_header
from .set_stream import payload_sources
from .sources import PayloadSource, open_sources
from .view import SizedView
from .volume_set import VolumeInfo, diagnose_set, read_volume_info

if TYPE_CHECKING:
    from typing_extensions import Buffer


class CopySource:
    """The salvage copy block of one volume: archive[0:H] and archive[T:A]."""

    def __init__(self, info: VolumeInfo) -> None:
        self.volume = info
        where = f"{info.path}: {info.header.label()}"
        self._start = info.offset + info.header.copy_offset
        try:
            with info.path.open("rb") as fp:
                fp.seek(self._start)
                block = fp.read(COPY_HEADER_SIZE)
        except OSError as exc:
            raise os_error(exc, "read", info.path) from exc
        self.info: CopyInfo = parse_copy_header(block, where)
        header = info.header
        if self.info.set_id != header.set_id or self.info.archive_length != header.archive_length:
            raise MediaError(f"{where}: the salvage copy belongs to another archive")
        if self.info.block_length > header.copy_length:
            raise MediaError(f"{where}: the salvage copy is larger than its volume says")

    def span(self, pos: int) -> int | None:
        """The end of the copied range holding archive byte ``pos``, or None."""
        if pos < self.info.header_length:
            return self.info.header_length
        if self.info.tail_offset <= pos < self.info.archive_length:
            return self.info.archive_length
        return None

    def read(self, pos: int, size: int) -> bytes:
        """Archive bytes [pos, pos + size), all within one copied range."""
        info = self.info
        within = pos if pos < info.header_length else info.header_length + pos - info.tail_offset
        path = self.volume.path
        try:
            with path.open("rb") as fp:
                fp.seek(self._start + COPY_HEADER_SIZE + within)
                data = fp.read(size)
        except OSError as exc:
            raise os_error(exc, "read", path) from exc
        if len(data) != size:
            raise LostDataError(f"{path}: the salvage copy is truncated", [(pos, pos + size)])
        return data


@dataclass
class SalvageReport:
    """What the salvage view found: which volumes serve bytes and which do not."""

    count: int
    present: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """One line per given file that is no usable volume (zeroed, damaged header)."""
    copy_from: str | None = None
    """The file whose salvage copy serves the header and tail, if any."""

    def lines(self) -> list[str]:
        """One line per finding, for the operator."""
        out = list(self.unreadable)
        out += [f"volume {n} of {self.count} is missing or unreadable" for n in self.missing]
        if self.copy_from is not None and self.missing:
            out.append(f"salvage copy of the archive header and index: {self.copy_from}")
        return out


class SalvageView(SizedView):
    """The archive of a set, with holes: each read is served by the volume that
    holds the bytes, else by the salvage copy, else raises LostDataError."""

    def __init__(
        self,
        archive_length: int,
        count: int,
        sources: dict[int, PayloadSource],
        copy: CopySource | None,
        opened: Sequence[PayloadSource] = (),
    ) -> None:
        super().__init__(archive_length)
        self._count = count
        ordered = sorted(sources.values(), key=lambda s: s.header.payload_offset)
        self._sources = [s for s in ordered if not s.header.is_spare]
        self._starts = [s.header.payload_offset for s in self._sources]
        self._copy = copy
        # The given discs' own sources, which ``sources`` may only wrap (spare
        # rebuilds read them): closed with the view.
        self._opened = list(opened)

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        pos = self._pos
        if pos >= self._size or not len(view):
            return 0
        data = self._read(pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read(self, pos: int, size: int) -> bytes:
        index = bisect.bisect_right(self._starts, pos) - 1
        source = self._sources[index] if index >= 0 else None
        if source is not None:
            header = source.header
            end = header.payload_offset + header.payload_length
            if pos < end:
                want = min(size, end - pos)
                try:
                    return source.read_payload(pos - header.payload_offset, want)
                except LostDataError as exc:
                    # The bytes before the first lost one are good: serve them
                    # (a read may reach past the chunk being read into a hole).
                    first = min((start for start, _ in exc.ranges), default=pos)
                    if first > pos:
                        return source.read_payload(pos - header.payload_offset, first - pos)
                    if self._copy is None or self._copy.span(pos) is None:
                        raise
        if self._copy is not None:
            copy_end = self._copy.span(pos)
            if copy_end is not None:
                return self._copy.read(pos, min(size, copy_end - pos))
        raise self._lost(pos)

    def _lost(self, pos: int) -> LostDataError:
        following = [s for s in self._starts if s > pos]
        end = following[0] if following else self._size
        return LostDataError(
            f"archive bytes {pos:,} to {end:,} are on no volume given "
            f"(of {self._count}) and in no salvage copy",
            [(pos, end)],
        )

    def close(self) -> None:
        for source in [*self._sources, *self._opened]:
            source.close()
        super().close()


def salvage_sources(
    infos: Sequence[VolumeInfo],
) -> tuple[dict[int, PayloadSource], CopySource | None, SalvageReport, list[PayloadSource]]:
    """The usable data volumes of one set (by number), the first salvage copy
    that checks out, what is missing, and every source opened (to close).

    Volumes of another set, or one given twice, are refused as in a normal read:
    salvage reads what is there, it does not guess which discs belong together.
    """
    problems = diagnose_set(list(infos))
    if problems.foreign or problems.duplicates or problems.inconsistent:
        refused = dataclasses.replace(problems, missing=[])  # missing ones are expected here
        raise MediaError("; ".join(refused.messages()))
    members = [i for i in infos if i.header.set_id == problems.set_id]
    report = SalvageReport(
        problems.count, missing=[n for n in problems.missing if n <= problems.count]
    )
    # Each given disc heals with its own recovery data; with spare discs, a data
    # volume that is missing or unreadable in places is rebuilt where the
    # others allow it. Only what is left after that is a hole.
    given = open_sources(members)
    sources = payload_sources(problems, {i.header.number: i for i in members}, given)
    copy: CopySource | None = None
    for info in sorted(members, key=lambda i: i.header.number):
        if not info.header.is_spare:
            report.present.append(info.header.number)
        if copy is None and info.header.has_copy:
            with contextlib.suppress(MediaError):  # a damaged copy: try the next volume
                copy = CopySource(info)
                report.copy_from = str(info.path)
    return sources, copy, report, list(given.values())


@contextlib.contextmanager
def open_salvage_set(paths: Sequence[Path]) -> Iterator[tuple[BinaryIO, SalvageReport]]:
    """The archive held by whatever of a set's volumes ``paths`` are readable,
    as a seekable stream with holes (see :class:`SalvageView`), and its report.

    A given file that is not a readable volume (deleted, zeroed, its header
    destroyed) counts as missing. At least one volume must be readable.
    """
    infos: list[VolumeInfo] = []
    unreadable: list[str] = []
    for path in paths:
        try:
            infos.append(read_volume_info(path))
        except MediaError as exc:
            unreadable.append(str(exc))
    if not infos:
        raise MediaError("no readable volume of the set was given: nothing to salvage")
    sources, copy, report, opened = salvage_sources(infos)
    report.unreadable = unreadable
    header = next(iter(sources.values())).header
    view = SalvageView(header.archive_length, header.count, sources, copy, opened)
    with io.BufferedReader(view, buffer_size=1 << 20) as stream:
        yield stream, report


@contextlib.contextmanager
def open_salvage_inputs(inputs: tuple[str, ...]) -> Iterator[tuple[BinaryIO, SalvageReport]]:
    """:func:`open_salvage_set` for the CLI's names (files that no longer exist
    count as missing volumes)."""
    if "-" in inputs:
        raise UsageError("volumes and disc images must be files, not '-'")
    existing = [Path(name) for name in inputs if Path(name).exists()]
    gone = [f"{name}: no such file" for name in inputs if not Path(name).exists()]
    if not existing:
        raise MediaError("none of the given volumes exists: nothing to salvage")
    with open_salvage_set(existing) as (stream, report):
        report.unreadable[:0] = gone
        yield stream, report


def check_copies(paths: Sequence[Path], archive: BinaryIO) -> int:
    """Check that every volume's salvage copy holds exactly the bytes of
    ``archive`` (the set's stream, already authenticated by the caller): what
    ``pack`` runs in its read-back, so a copy is as good as the payload it
    repeats. Returns how many copies were checked; MediaError on a mismatch."""
    checked = 0
    for path in paths:
        info = read_volume_info(path)
        if not info.header.has_copy:
            continue
        copy = CopySource(info)
        ranges = [(0, copy.info.header_length), (copy.info.tail_offset, copy.info.archive_length)]
        for start, end in ranges:
            pos = start
            while pos < end:
                size = min(1 << 20, end - pos)
                archive.seek(pos)
                if copy.read(pos, size) != archive.read(size):
                    raise MediaError(f"{path}: its salvage copy differs from the archive")
                pos += size
        checked += 1
    return checked
