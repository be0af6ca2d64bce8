"""Reading a set of volumes back: checking the set, then one seekable archive stream.

Discs may be given in any order. Every mix-up is refused before a single byte of
archive is read, with a message naming the volume by its number: a missing
volume, one given twice, one from another shipment, headers that disagree.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import MediaError, UsageError, os_error
from .disc_open import open_disc_file
from .header import (
    HEADER_SIZE,
    SECTOR,
    VolumeHeader,
    looks_like_header,
    missing_phrases,
    parse_header,
)
from .iso import ISO_MAGIC_OFFSET, is_iso_image, locate_volume

if TYPE_CHECKING:
    from .set_stream import SetStream

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
        with open_disc_file(path) as fp:
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
            what = (
                "disc image holds no readable securemedia volume"
                if is_iso_image(probe)
                else "not a securemedia volume, nor a disc image holding one"
            )
            raise MediaError(f"{path}: {what}")
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
        # A named pipe is never opened here, not even without blocking: its writer
        # would take our open for the reader it waits for, write into a pipe we
        # close, and the real read that follows would wait forever. (A pipe
        # swapped in after this check is refused by open_disc_file.)
        if not _may_be_disc(os.stat(path).st_mode):
            return False
        with open_disc_file(path) as fp:
            probe = fp.read(_PROBE)
            if looks_like_header(probe):
                return True
            if not is_iso_image(probe) and any(probe[: ISO_MAGIC_OFFSET - 1]):
                return False
            return locate_volume(fp) is not None
    except (OSError, UsageError):  # not a file: a pipe holds one archive, if anything
        return False


def _may_be_disc(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISBLK(mode)


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
    """Volume numbers not given: data volumes 1..count, spare volumes after them."""
    inconsistent: list[str]
    spares: int = 0

    def label(self, number: int) -> str:
        """How messages name volume ``number`` of this set."""
        if number > self.count:
            return f"spare volume {number - self.count} of {self.spares}"
        return f"volume {number} of {self.count}"

    def messages(self) -> list[str]:
        """One clear sentence per problem, naming volumes by number."""
        out = [
            f"{info.path}: {info.header.label()} belongs to another archive "
            f"(set {info.header.set_hex[:16]}, not {self.set_id.hex()[:16]})"
            for info in self.foreign
        ]
        out += [
            f"{self.label(n)} was given more than once (" + ", ".join(str(p) for p in paths) + ")"
            for n, paths in sorted(self.duplicates.items())
        ]
        return out + self.missing_messages() + self.inconsistent

    def missing_messages(self) -> list[str]:
        """What is missing, and whether the spare volumes make up for it."""
        if not self.missing:
            return []
        if len(self.missing) <= self.spares:
            return [
                f"{self.label(n)} is missing: "
                + (
                    "restorable from the spare volumes"
                    if n <= self.count
                    else "no data is lost (a spare volume)"
                )
                + " (securemedia repair -o DIR rebuilds it)"
                for n in self.missing
            ]
        out = missing_phrases(self.missing, self.count, self.spares)
        if self.spares:
            out.append(
                f"{len(self.missing)} volumes are missing but the set has only {self.spares} "
                f"spare volume(s): give at least {len(self.missing) - self.spares} of them"
            )
        return out

    @property
    def restorable(self) -> bool:
        """True when every archive byte can be read: consistent, and no more
        volumes missing than the set has spares."""
        return (
            not self.foreign
            and not self.duplicates
            and not self.inconsistent
            and len(self.missing) <= self.spares
        )


def diagnose_set(infos: list[VolumeInfo]) -> SetProblems:
    """Check that ``infos`` are volumes of one archive, each at most once, and
    say which of its data and spare volumes are missing."""
    if not infos:
        raise MediaError("no volumes given")
    # The archive is the one most of the given discs belong to; on a tie, the
    # first disc given decides (it is most likely the one the operator meant).
    votes = Counter(info.header.set_id for info in infos)
    top = max(votes.values())
    set_id = next(i.header.set_id for i in infos if votes[i.header.set_id] == top)
    members = [i for i in infos if i.header.set_id == set_id]
    foreign = [i for i in infos if i.header.set_id != set_id]
    shape = Counter((i.header.count, i.header.spares) for i in members).most_common(1)[0][0]
    count, spares = shape
    inconsistent: list[str] = []
    by_number: dict[int, list[VolumeInfo]] = {}
    for info in members:
        by_number.setdefault(info.header.number, []).append(info)
        if (info.header.count, info.header.spares) != shape:
            inconsistent.append(
                f"{info.path}: says {info.header.label()} but the other volumes say "
                f"{count} volumes{f' and {spares} spare(s)' if spares else ''} "
                "(damaged or altered header)"
            )
    duplicates = {n: [i.path for i in v] for n, v in by_number.items() if len(v) > 1}
    missing = [n for n in range(1, count + spares + 1) if n not in by_number]
    if not inconsistent:
        present = [by_number[n][0].header for n in sorted(by_number)]
        inconsistent += _check_offsets(present, count, spares)
    return SetProblems(set_id, count, foreign, duplicates, missing, inconsistent, spares)


def _check_offsets(headers: list[VolumeHeader], count: int, spares: int) -> list[str]:
    """The present volumes' headers, in number order, agree on where each payload lies.

    The data volumes' payload ranges must tile ``[0, archive length)`` in volume
    order, each non-empty but the one payload of an empty archive (docs/MEDIA.md
    2.1): no gap, no overlap, nothing past the end. Where volumes are missing
    (salvage), each missing one still needs at least one byte of the range.
    """
    total = headers[0].archive_length
    if any(h.archive_length != total for h in headers):
        return ["the volumes' headers disagree on the archive's length"]
    if spares:
        stripe = headers[0].stripe_length
        for header in headers:
            expected = header.sibling(header.number) if not header.is_spare else None
            if header.stripe_length != stripe or (
                expected is not None
                and (header.payload_offset, header.payload_length)
                != (expected.payload_offset, expected.payload_length)
            ):
                return [f"{header.label()}: its header disagrees with the other volumes"]
        if stripe * count < total:
            return [f"the volumes hold {stripe * count} bytes but their headers say {total}"]
        if stripe * (count - 1) >= total:
            # The stripe is the longest data payload: every data volume holds some.
            return [
                f"the stripe length {stripe} leaves volume {count} of {count} empty "
                f"(the headers say {total} archive bytes)"
            ]
        if stripe > total:  # one data volume: its payload is the whole stripe
            return [f"the stripe length {stripe} is longer than the archive ({total} bytes)"]
        return []
    end = 0  # where the payload of the previous present volume ends
    previous = 0
    for header in headers:
        offset, length = header.payload_offset, header.payload_length
        skipped = header.number - previous - 1  # missing volumes in between
        # Right after the previous one, or leaving a byte for each missing one.
        fits = offset == end if skipped == 0 else offset >= end + skipped
        if not fits or (length == 0 and count > 1):
            return [f"{header.label()}: its header disagrees with the other volumes"]
        end = offset + length
        previous = header.number
    after = count - previous  # missing volumes after the last one given
    if (end != total) if after == 0 else (end + after > total):
        return [f"the volumes hold {end} archive bytes but their headers say {total}"]
    return []


def open_volume_set(paths: list[Path], *, salvage: bool = False) -> SetStream:
    """Check a set of volume files or images and return the archive they hold.

    The result is a readable, seekable binary file presenting the concatenated
    payloads, read through each disc's recovery data (damaged sectors rebuilt
    in memory) and, for a set with spare volumes, rebuilt from the other
    volumes where a volume is missing or beyond its own repair; its
    ``report`` says what was rebuilt. A mix-up, or more volumes missing than
    the set has spares, raises :class:`MediaError` before anything is read.
    With ``salvage`` missing volumes are accepted: reading bytes that nothing
    can provide raises :class:`~securemedia.errors.LostDataError`.
    """
    from .set_stream import open_set

    return open_set(paths, salvage=salvage)


def read_volume_info_healed(path: Path) -> VolumeInfo:
    """``read_volume_info``, reading through the file's recovery data when its volume
    header or file system is damaged. Raises the plain read's MediaError if that fails."""
    try:
        return read_volume_info(path)
    except MediaError as exc:
        first = exc
    from .healing import HealedFile, HealedView

    try:
        healed = HealedFile(path)
    except MediaError:
        raise first from None
    try:
        with io.BufferedReader(HealedView(healed), buffer_size=64 * SECTOR) as view:
            return read_volume_info_from(view, path)
    except MediaError:
        raise first from None
    finally:
        healed.close()
