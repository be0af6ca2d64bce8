"""Reading a protected volume through its recovery data: heal on the fly.

A :class:`HealingSource` serves the payload of one volume whose file (a volume
file, or the whole disc image holding it) carries a recovery region. Every
sector read is checked against the disc's data checksum table; a damaged one
is rebuilt in memory from its Reed-Solomon group. Only ciphertext passes
through here, and nothing is written anywhere.

Memory stays bounded whatever the disc: the checksum table is read lazily
through :class:`~securemedia.media.rsgroups.Table` (its own bounded cache);
groups are decoded a window of adjacent columns at a time (all their damaged
sectors at once, kept in a bounded cache, so a group hit twice is decoded
once); the count of rebuilt sectors is one bit per sector of the volume file.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import google_crc32c

from ..errors import LostDataError, MediaError, os_error
from . import rs_backend, rsgroups
from .header import HEADER_SIZE, VolumeHeader
from .recovery import _find_layout
from .sectors import SECTOR, Layout, crc32c
from .view import SizedView

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .volume_set import VolumeInfo

__all__ = ["HealedFile", "HealedView", "HealingSource", "describe_ranges"]

_WINDOW_BYTES = 8 * 2**20
"""All m blocks of a window of adjacent groups are read at once: this caps it."""
_CACHE_SECTORS = 32768
"""Rebuilt sectors kept until read (64 MiB). A group's blocks lie ``columns``
sectors apart, so decoding it for its first damaged sector also rebuilds the
ones the reading reaches later: kept, they cost no second decode (a zfec decode
of a 222-block group inverts a 222 x 222 matrix, ~10 ms). Past the cap the
oldest are dropped and decoded again when reached: slower, never wrong."""
_SHOWN = 8


def describe_ranges(ranges: list[tuple[int, int]]) -> str:
    """``bytes 6,144-12,287, 81,920-83,967`` (ends inclusive), as verify shows damage."""
    shown = ", ".join(f"{start:,}-{end - 1:,}" for start, end in ranges[:_SHOWN])
    more = len(ranges) - _SHOWN
    return f"bytes {shown}" + (f" and {more} more range(s)" if more > 0 else "")


def _runs(sectors: list[int]) -> list[tuple[int, int]]:
    """Sorted sector numbers as [start, end) runs."""
    out: list[tuple[int, int]] = []
    for s in sorted(sectors):
        if out and out[-1][1] == s:
            out[-1] = (out[-1][0], s + 1)
        else:
            out.append((s, s + 1))
    return out


class HealedFile:
    """The data of a protected file (a volume file or a disc image), healed as it is read.

    ``rebuilt`` counts the distinct sectors rebuilt so far. Raises
    :class:`MediaError` at construction if the recovery data cannot be used
    (:class:`~securemedia.media.recovery.NotProtectedError` if it is gone).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rebuilt = 0
        try:
            self._f: BinaryIO = path.open("rb")
        except OSError as exc:
            raise os_error(exc, "read", path) from exc
        try:
            size = self._f.seek(0, 2)
            self._lay: Layout = _find_layout(self._f, size, path.name)
        except BaseException:
            self._f.close()
            raise
        self.data_size = self._lay.data_size
        self._ptab = rsgroups.parity_table(self._f, self._lay)
        self._ctab = rsgroups.data_table(self._f, self._lay)
        self._crc_recovered = False
        self._dec = rs_backend.codec(self._lay.k, self._lay.m)
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._seen = bytearray(self._lay.n_data // 8 + 1)

    def read(self, first: int, size: int) -> tuple[bytes, list[int]]:
        """``size`` bytes of the data from byte ``first``, and the sectors lost in them.

        Lost sectors read as zeros. The range must lie within the data.
        """
        if first < 0 or size < 0 or first + size > self.data_size:
            raise ValueError("read outside the protected data")
        if size == 0:
            return b"", []
        s0, s1 = first // SECTOR, -(-(first + size) // SECTOR)
        parts: list[bytes] = []
        lost: list[int] = []
        try:
            for s in range(s0, s1, rsgroups.STRIDE):
                parts.append(self._sectors(s, min(rsgroups.STRIDE, s1 - s), lost))
        except OSError as exc:
            raise os_error(exc, "read", self.path) from exc
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        skip = first - s0 * SECTOR
        if skip == 0 and len(out) == size:
            return out, lost  # the common case, whole sectors: no copy
        return out[skip : skip + size], lost

    def close(self) -> None:
        self._f.close()

    def _sectors(self, s: int, n: int, lost: list[int]) -> bytes:
        raw = rsgroups.read_sectors(self._f, s, n)
        want = self._checksums(s, n)
        value = google_crc32c.value  # the hot loop: one call per sector read
        bad = [
            s + i
            for i, w in enumerate(want)
            if w is None or value(raw[i * SECTOR : (i + 1) * SECTOR]) != w
        ]
        if not bad:
            return raw
        buf = bytearray(raw)
        healed = self._heal(bad)
        for sector in bad:
            off = (sector - s) * SECTOR
            if sector in healed:
                buf[off : off + SECTOR] = healed[sector]
                self._count(sector)
            else:
                buf[off : off + SECTOR] = bytes(SECTOR)
                lost.append(sector)
        return bytes(buf)

    def _checksums(self, s: int, n: int) -> list[int | None]:
        want = self._ctab.entries(s, n)
        if None in want and not self._crc_recovered:
            # A checksum sector is damaged: rebuild the table's damaged sectors
            # once (a read of the table, C sectors, ~0.1 % of the disc).
            self._crc_recovered = True
            rebuilt, _ = rsgroups.recover_crc_sectors(self._f, self._lay, self._ptab)
            self._ctab = rsgroups.data_table(self._f, self._lay, rebuilt)
            want = self._ctab.entries(s, n)
        return want

    def _count(self, sector: int) -> None:
        if not self._seen[sector // 8] & (1 << (sector % 8)):
            self._seen[sector // 8] |= 1 << (sector % 8)
            self.rebuilt += 1

    # -- Reed-Solomon --------------------------------------------------------

    def _heal(self, sectors: list[int]) -> dict[int, bytes]:
        """Rebuilt content of the damaged data sectors ``sectors`` that can be rebuilt."""
        lay = self._lay
        out: dict[int, bytes] = {}
        todo: list[int] = []
        for s in sectors:
            if s in self._cache:
                # Read once in the usual front-to-back pass: the room is freed
                # for the sectors decoded ahead of the reading position.
                out[s] = self._cache.pop(s)
            else:
                todo.append(s)
        width = max(1, _WINDOW_BYTES // (lay.m * SECTOR))
        columns = sorted({s % lay.columns for s in todo})
        i = 0
        while i < len(columns):
            c0 = columns[i]
            j = i
            while j < len(columns) and columns[j] < c0 + width:
                j += 1
            rebuilt = self._decode_window(c0, columns[j - 1] + 1)
            out.update((s, rebuilt[s]) for s in todo if s in rebuilt)
            i = j
        return out

    def _decode_window(self, c0: int, c1: int) -> dict[int, bytes]:
        """Decode groups [c0, c1): every damaged data sector they rebuild (also cached)."""
        lay = self._lay
        rebuilt: dict[int, bytes] = {}
        chunks = [rsgroups._row_chunk(self._f, lay, r, c0, c1) for r in range(lay.m)]
        for col in range(c0, c1):
            off = (col - c0) * SECTOR
            blocks: list[bytes | None] = []
            damaged: list[int] = []
            for r in range(lay.m):
                raw = chunks[r][off : off + SECTOR]
                ok = rsgroups._trust(lay, self._ctab, self._ptab, r, col, raw) is True
                blocks.append(raw if ok else None)
                if not ok and r * lay.columns + col < lay.n_data and r < lay.k:
                    damaged.append(r)
            if not damaged:
                continue
            msg = rsgroups.decode_group(self._dec, lay, blocks)
            if msg is None:
                continue
            for r in damaged:
                sector = r * lay.columns + col
                want = self._ctab.entries(sector, 1)[0]
                if want is not None and crc32c(msg[r]) == want:
                    rebuilt[sector] = msg[r]
                    self._keep(sector, msg[r])
        return rebuilt

    def _keep(self, sector: int, content: bytes) -> None:
        self._cache[sector] = content
        self._cache.move_to_end(sector)
        while len(self._cache) > _CACHE_SECTORS:
            self._cache.popitem(last=False)


class HealingSource:
    """The payload of a protected volume (:class:`PayloadSource`), healed as it is read.

    ``rebuilt`` counts the distinct sectors of the disc file rebuilt by reads
    through this source.
    """

    def __init__(self, info: VolumeInfo) -> None:
        self.info = info
        self.header: VolumeHeader = info.header
        self._file = HealedFile(info.path)
        end = info.offset + self.header.file_length
        # The volume must lie inside the data the recovery region covers.
        if info.offset % SECTOR or end > self._file.data_size:
            self._file.close()
            raise MediaError(f"{info.path}: its recovery data does not cover {self.header.label()}")

    @property
    def rebuilt(self) -> int:
        """Sectors of the disc file rebuilt from its recovery data so far."""
        return self._file.rebuilt

    def read_payload(self, offset: int, size: int) -> bytes:
        """``size`` payload bytes from ``offset``, healed; LostDataError if beyond repair."""
        if offset < 0 or size < 0 or offset + size > self.header.payload_length:
            raise ValueError("read outside the payload")
        data, lost = self.read_volume(HEADER_SIZE + offset, size)
        if lost:
            raise self._lost(lost)
        return data

    def read_partial(self, offset: int, size: int) -> tuple[bytes, list[tuple[int, int]]]:
        """Payload bytes (zeros where lost) and the lost [start, end) payload ranges."""
        if offset < 0 or size < 0 or offset + size > self.header.payload_length:
            raise ValueError("read outside the payload")
        data, lost = self.read_volume(HEADER_SIZE + offset, size)
        length = self.header.payload_length
        ranges = []
        for a, b in _runs(lost):
            lo = max(a * SECTOR - self._payload_start, 0)
            hi = min(b * SECTOR - self._payload_start, length)
            if hi > lo:
                ranges.append((lo, hi))
        return data, ranges

    def read_volume(self, offset: int, size: int) -> tuple[bytes, list[int]]:
        """Bytes of the volume file (header, payload, salvage copy) from ``offset``,
        zeros where lost, and the lost sectors of the disc file."""
        if offset < 0 or size < 0 or offset + size > self.header.file_length:
            raise ValueError("read outside the volume file")
        return self._file.read(self.info.offset + offset, size)

    def close(self) -> None:
        self._file.close()

    @property
    def _payload_start(self) -> int:
        return self.info.offset + HEADER_SIZE

    def _lost(self, sectors: list[int]) -> LostDataError:
        """The error naming this volume, the file's lost byte ranges and the archive's."""
        in_file = [(a * SECTOR, b * SECTOR) for a, b in _runs(sectors)]
        header = self.header
        archive: list[tuple[int, int]] = []
        for a, b in in_file:
            lo = max(a - self._payload_start, 0)
            hi = min(b - self._payload_start, header.payload_length)
            if hi > lo:
                archive.append((header.payload_offset + lo, header.payload_offset + hi))
        return LostDataError(
            f"{self.info.path}: {header.label()}: {describe_ranges(in_file)} are damaged "
            "beyond what its recovery data can rebuild",
            archive,
        )


class HealedView(SizedView):
    """A :class:`HealedFile` as a read-only stream (to find the volume header in it).

    A lost sector raises :class:`LostDataError`.
    """

    def __init__(self, file: HealedFile) -> None:
        super().__init__(file.data_size)
        self._file = file

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos, rsgroups.STRIDE * SECTOR)
        if want <= 0:
            return 0
        data, lost = self._file.read(self._pos, want)
        if lost:
            raise LostDataError(f"{self._file.path}: sector {lost[0]} is damaged beyond repair", [])
        view[:want] = data
        self._pos += want
        return want
