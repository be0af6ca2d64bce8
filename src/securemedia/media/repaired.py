"""Reading a damaged protected file as if repaired, in memory, writing nothing.

``verify`` needs the volume header of a disc whose header sector (or file
system) was hit: it reads it through this view, which rebuilds just the
sectors read from their Reed-Solomon groups, within a budget.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import MediaError
from . import rs_backend, rsgroups
from .recovery import analyse
from .sectors import SECTOR, ZERO_SECTOR, Layout, crc32c
from .view import SizedView

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["open_repaired"]


@contextlib.contextmanager
def open_repaired(path: Path, *, max_rebuilt: int = 4096) -> Iterator[BinaryIO]:
    """The original data of a damaged protected file, repaired in memory as it is read.

    Read-only and bounded: nothing is written anywhere, and each damaged sector
    read is rebuilt from its group alone (one read of each of its m blocks).
    Reading a sector beyond repair, or rebuilding more than ``max_rebuilt``
    sectors in all, raises MediaError. The stream ends at the original data size.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            lay, ctab, _, scan, _, _ = analyse(f, path)
            view = _RepairedView(f, lay, ctab, scan, max_rebuilt)
            with io.BufferedReader(view, buffer_size=64 * SECTOR) as reader:
                yield reader
    except OSError as e:
        raise MediaError(f"{path.name}: cannot read: {e.strerror or e}") from e


class _RepairedView(SizedView):
    """Data sectors of a protected file; damaged ones decoded from their group on demand."""

    def __init__(
        self, f: BinaryIO, lay: Layout, ctab: rsgroups.Table, scan: rsgroups.Scan, budget: int
    ) -> None:
        super().__init__(lay.data_size)
        self._f, self._lay, self._ctab, self._scan = f, lay, ctab, scan
        self._dec = rs_backend.codec(lay.k, lay.m)
        self._budget = budget

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        sector, skip = divmod(self._pos, SECTOR)
        n = min(-(-(skip + want) // SECTOR), rsgroups.STRIDE)
        raw = bytearray(rsgroups.read_sectors(self._f, sector, n))
        for s in self._scan.bad_in(sector, sector + n):
            off = (s - sector) * SECTOR
            raw[off : off + SECTOR] = self._rebuilt(s)
        got = min(want, n * SECTOR - skip)
        view[:got] = raw[skip : skip + got]
        self._pos += got
        return got

    def _rebuilt(self, sector: int) -> bytes:
        if self._budget <= 0:
            raise MediaError("too much damage to read through the recovery data in memory")
        self._budget -= 1
        lay = self._lay
        row, col = divmod(sector, lay.columns)
        blocks: list[bytes | None] = []
        for r in range(lay.m):
            start, end = lay.row_span(r, col, col + 1)
            if end <= start:
                blocks.append(ZERO_SECTOR)
            elif self._scan.bad_in(start, end):
                blocks.append(None)
            else:
                blocks.append(rsgroups.read_sectors(self._f, start, 1))
        msg = rsgroups.decode_group(self._dec, lay, blocks)
        want = self._ctab.entries(sector, 1)[0]
        if msg is None or want is None or crc32c(msg[row]) != want:
            raise MediaError(f"sector {sector} is damaged beyond repair")
        return msg[row]
