"""Reading a set of volumes back: checking the set, then one seekable archive stream.

Discs may be given in any order. Every mix-up is refused before a single byte of
archive is read, with a message naming the volume by its number: a missing
volume, one given twice, one from another shipment, headers that disagree.
"""

from __future__ import annotations

import bisect
import contextlib
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import MediaError, UsageError, os_error
from .header import HEADER_SIZE, VolumeHeader, looks_like_header, parse_header
from .iso import ISO_MAGIC_OFFSET, is_iso_image, locate_volume
from .view import SizedView

if TYPE_CHECKING:
    from typing_extensions import Buffer

_PROBE = ISO_MAGIC_OFFSET + 8


@dataclass(frozen=True)
class VolumeInfo:
    """One given file: where its volume header sits, and what the header says."""

    path: Path
    offset: int
    """Byte offset of the header in the file: 0 for a volume file, more in an image."""
    header: VolumeHeader
    image: bool


def read_volume_info(path: Path) -> VolumeInfo:
    """Find and decode the volume header of a volume file or disc image.

    Raises MediaError if the file is neither, its header is damaged, or it is
    shorter than its header says (a truncated copy).
    """
    try:
        with path.open("rb") as fp:
            return read_volume_info_from(fp, path)
    except OSError as exc:
        raise os_error(exc, "read", path) from exc


def read_volume_info_from(fp: BinaryIO, path: Path) -> VolumeInfo:
    """``read_volume_info`` on an open, seekable stream (``path`` names it in messages).

    ``verify`` passes the in-memory repaired view of a damaged file here.
    """
    probe = fp.read(_PROBE)
    image = False
    if looks_like_header(probe):
        offset = 0
    else:
        # Also when "CD001" is gone: a damaged image is still worth a scan.
        image = True
        found = locate_volume(fp)
        if found is None:
            what = "disc image holds" if is_iso_image(probe) else "is not a volume and has"
            raise MediaError(f"{path}: {what} no readable securemedia volume")
        offset = found
    fp.seek(offset)
    header = parse_header(fp.read(HEADER_SIZE), str(path))
    size = fp.seek(0, io.SEEK_END)
    if size < offset + header.file_length:
        raise MediaError(f"{path}: {header.label()} is truncated")
    return VolumeInfo(path, offset, header, image)


def is_volume_or_image(path: Path) -> bool:
    """True if ``path`` is a securemedia volume file or a disc image holding one.

    Cheap for anything else: an image starts with 32 KiB of zeros (the ISO
    system area), so only such a file is searched, even when "CD001" is lost.
    """
    try:
        with path.open("rb") as fp:
            probe = fp.read(_PROBE)
            if looks_like_header(probe):
                return True
            if not is_iso_image(probe) and any(probe[: ISO_MAGIC_OFFSET - 1]):
                return False
            return locate_volume(fp) is not None
    except OSError:
        return False


def wants_volume_set(inputs: tuple[str, ...]) -> bool:
    """True if ``unpack``'s inputs are volumes or disc images rather than one archive."""
    if len(inputs) > 1:
        return True
    return inputs[0] != "-" and is_volume_or_image(Path(inputs[0]))


@contextlib.contextmanager
def open_volume_inputs(inputs: tuple[str, ...]) -> Iterator[BinaryIO]:
    """The archive held by volumes or disc images given (as CLI names) in any order."""
    if "-" in inputs:
        raise UsageError("volumes and disc images must be files, not '-'")
    with open_volume_set([Path(name) for name in inputs]) as stream:
        yield stream


@dataclass
class SetProblems:
    """Everything wrong with a given set of volumes (empty lists: a good set)."""

    set_id: bytes
    count: int
    foreign: list[VolumeInfo]
    duplicates: dict[int, list[Path]]
    missing: list[int]
    inconsistent: list[str]

    def messages(self) -> list[str]:
        """One clear sentence per problem, naming volumes by number."""
        out = [
            f"{info.path}: {info.header.label()} belongs to another archive "
            f"(set {info.header.set_hex[:16]}, not {self.set_id.hex()[:16]})"
            for info in self.foreign
        ]
        out += [
            f"volume {n} of {self.count} was given more than once ("
            + ", ".join(str(p) for p in paths)
            + ")"
            for n, paths in sorted(self.duplicates.items())
        ]
        out += [f"volume {n} of {self.count} is missing" for n in self.missing]
        return out + self.inconsistent

    @property
    def ok(self) -> bool:
        """True when the set is complete and consistent."""
        return not self.messages()


def diagnose_set(infos: list[VolumeInfo]) -> SetProblems:
    """Check that ``infos`` are volumes 1..n of one archive, each exactly once."""
    if not infos:
        raise MediaError("no volumes given")
    # The archive is the one most of the given discs belong to; on a tie, the
    # first disc given decides (it is most likely the one the operator meant).
    votes = Counter(info.header.set_id for info in infos)
    top = max(votes.values())
    set_id = next(i.header.set_id for i in infos if votes[i.header.set_id] == top)
    members = [i for i in infos if i.header.set_id == set_id]
    foreign = [i for i in infos if i.header.set_id != set_id]
    count = Counter(i.header.count for i in members).most_common(1)[0][0]
    inconsistent: list[str] = []
    by_number: dict[int, list[VolumeInfo]] = {}
    for info in members:
        by_number.setdefault(info.header.number, []).append(info)
        if info.header.count != count:
            inconsistent.append(
                f"{info.path}: says {info.header.label()} but the other volumes say "
                f"{count} volumes (damaged or altered header)"
            )
    duplicates = {n: [i.path for i in v] for n, v in by_number.items() if len(v) > 1}
    missing = [n for n in range(1, count + 1) if n not in by_number]
    if not inconsistent and not missing:
        inconsistent += _check_offsets([by_number[n][0].header for n in range(1, count + 1)])
    return SetProblems(set_id, count, foreign, duplicates, missing, inconsistent)


def _check_offsets(headers: list[VolumeHeader]) -> list[str]:
    total = headers[0].archive_length
    offset = 0
    for header in headers:
        if header.payload_offset != offset or header.archive_length != total:
            return [f"{header.label()}: its header disagrees with the other volumes"]
        offset += header.payload_length
    if offset != total:
        return [f"the volumes hold {offset} archive bytes but their headers say {total}"]
    return []


def open_volume_set(paths: list[Path]) -> BinaryIO:
    """Check a set of volume files or images and return the archive they hold.

    The result is a readable, seekable binary file presenting the concatenated
    payloads. Any mix-up raises :class:`MediaError` before anything is read.
    """
    infos = [read_volume_info(path) for path in paths]
    problems = diagnose_set(infos)
    if not problems.ok:
        raise MediaError("; ".join(problems.messages()))
    ordered = sorted(infos, key=lambda i: i.header.number)
    return io.BufferedReader(_ConcatenatedPayloads(ordered), buffer_size=1024 * 1024)


class _ConcatenatedPayloads(SizedView):
    """The payload slices of ordered volumes, read as one file."""

    def __init__(self, volumes: list[VolumeInfo]) -> None:
        super().__init__(volumes[-1].header.archive_length)
        self._volumes = volumes
        self._starts = [v.header.payload_offset for v in volumes]
        self._open_index = -1
        self._fp: io.BufferedReader | None = None

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or not len(view):
            return 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        volume = self._volumes[index]
        within = self._pos - volume.header.payload_offset
        want = min(len(view), volume.header.payload_length - within)
        fp = self._file(index)
        fp.seek(volume.offset + HEADER_SIZE + within)
        got = fp.readinto(view[:want])
        if not got:
            raise MediaError(f"{volume.path}: {volume.header.label()} is truncated")
        self._pos += got
        return got

    def _file(self, index: int) -> io.BufferedReader:
        if index != self._open_index or self._fp is None:
            if self._fp is not None:
                self._fp.close()
            self._fp = self._volumes[index].path.open("rb")
            self._open_index = index
        return self._fp

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None
        super().close()
