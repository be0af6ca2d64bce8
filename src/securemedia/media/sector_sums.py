"""CRC32C of every sector of a staged volume file, taken while it is written.

The recovery data opens with a table of the checksums of the data sectors
(``rsprotect.write_data_crcs``). Taking them from the bytes as the archive
writer hands them over spares a whole pass over the disc file, which would
otherwise be read once more before the parity. The checksums go to a side file
in the staging directory (4 bytes a sector: 9 MiB for a DVD volume, so memory
stays flat whatever the medium) and are read back in strides.

Only the sectors that stay as they were written are vouched for: the header
sector is patched at close, and the last partial sector is followed by the
salvage copy; those, and the image's file system around the volume, are read
from the disc file as before. The read-back check still reads every byte
from disk; a sector written wrongly by the disk would fail it, or show as
damaged to ``verify``, never the reverse.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import google_crc32c

from .header import HEADER_SIZE
from .sectors import crc32c
from .sizes import SECTOR

_value = google_crc32c.value  # CRC32C, as ``sectors.crc32c`` (which adds a call)
_FLUSH = 64 * 1024  # checksums held before they go to the side file (256 KiB)

SectorCrcs = Callable[[int, int], list[int | None]]
"""``known(first, count)``: the checksums of data sectors ``[first, first +
count)`` of a disc file, None for each sector that must be read to know it."""


class SectorSums:
    """Checksums every whole sector written to a volume file into ``out``, the
    staged side file ``name``.

    Call :meth:`update` with every byte written to the volume file, from its
    first (the placeholder header), then :meth:`finish`.
    """

    def __init__(self, out: BinaryIO, name: str) -> None:
        self._out, self._name = out, name
        self._pending = bytearray()
        self._sums = array("I")
        self._written = 0  # checksums in the side file

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Take the next bytes of the volume file."""
        view = memoryview(data).cast("B")
        if self._pending:
            take = min(SECTOR - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < SECTOR:
                return
            self._sums.append(crc32c(bytes(self._pending)))
            self._pending.clear()
        whole = len(view) // SECTOR * SECTOR
        if whole:
            raw = bytes(view[:whole])  # google_crc32c takes bytes only
            # The hot loop: one C call per sector, no Python frame between them.
            self._sums.extend(map(_value, [raw[i : i + SECTOR] for i in range(0, whole, SECTOR)]))
        self._pending += view[whole:]
        if len(self._sums) >= _FLUSH:
            self._flush()

    def abandon(self) -> None:
        """Close the side file, on the way out of a failure (its directory goes)."""
        self._out.close()

    def _flush(self) -> None:
        self._written += len(self._sums)
        self._out.write(self._sums.tobytes())
        del self._sums[:]

    def finish(self) -> StagedSums:
        """Write the last checksums out and close the side file; what it vouches for."""
        self._flush()
        self._out.close()
        return StagedSums(self._name, first=-(-HEADER_SIZE // SECTOR), end=self._written)


@dataclass(frozen=True)
class StagedSums:
    """What the staged side file ``name`` vouches for: volume sectors ``[first,
    end)`` (after the header, before the last partial sector)."""

    name: str
    first: int
    end: int

    def reader(self, side: BinaryIO, at: int) -> SectorCrcs:
        """The checksums of a disc file holding the volume at byte ``at`` (a
        whole number of sectors), read from the open side file ``side``."""
        shift = at // SECTOR

        def known(first: int, count: int) -> list[int | None]:
            low = max(first, self.first + shift)
            high = min(first + count, self.end + shift)
            if low >= high:
                return [None] * count
            side.seek(4 * (low - shift))
            sums = array("I")
            sums.frombytes(side.read(4 * (high - low)))
            if len(sums) != high - low:
                return [None] * count  # a short side file vouches for nothing
            return [None] * (low - first) + sums.tolist() + [None] * (first + count - high)

        return known


__all__ = ["SectorCrcs", "SectorSums", "StagedSums"]
