"""A data volume of a set with spare volumes: read where it can be, rebuilt where not.

The spare volumes carry Reed-Solomon parity across the set's data volumes,
byte by byte (docs/MEDIA.md, "Spare discs"): at every byte position any n of
the n + m payloads (data payloads zero-padded to the stripe length L) give
back the other ones. A :class:`StripedSource` serves one data volume's
payload from its own source while that reads; bytes it cannot give (the disc
is missing, or damaged beyond its own recovery data there) are decoded from
the same positions of the other volumes, one sector-aligned piece at a time.
Positions where more than m volumes are unavailable raise
:class:`LostDataError` naming what is missing and what would be needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import LostDataError
from .header import SECTOR, VolumeHeader, missing_phrases

if TYPE_CHECKING:
    from .sources import PayloadSource

Decode = Callable[[int, int, dict[int, bytes]], list[bytes]]
"""``decode_stripe(n, spares, present)`` of ``spares.py``: 0-based volume index to bytes."""

PIECE = 64 * SECTOR
"""Rebuilt at a time: one piece of each of n volumes is held at once."""

Ranges = list[tuple[int, int]]


def read_partial(source: PayloadSource, offset: int, size: int) -> tuple[bytes, Ranges]:
    """Payload bytes of ``source`` (zeros where lost) and the lost payload ranges.

    Sources of this package answer in one read; any other is asked again
    sector by sector after a LostDataError.
    """
    partial = getattr(source, "read_partial", None)
    if partial is not None:
        data, gaps = partial(offset, size)
        return bytes(data), list(gaps)
    try:
        return source.read_payload(offset, size), []
    except LostDataError:
        pass
    out = bytearray()
    lost: Ranges = []
    for at in range(offset, offset + size, SECTOR):
        n = min(SECTOR, offset + size - at)
        try:
            out += source.read_payload(at, n)
        except LostDataError:
            out += bytes(n)
            lost.append((at, at + n))
    return bytes(out), lost


class StripedSource:
    """Data volume ``header.number`` of a set with spares (a :class:`PayloadSource`).

    ``sources`` maps volume numbers (data 1..n, spares n+1..n+m) to the sources
    of the volumes present; ``own`` is this volume's, if present. ``rebuilt``
    counts the sectors served from the other volumes.
    """

    def __init__(
        self,
        header: VolumeHeader,
        sources: dict[int, PayloadSource],
        decode: Decode,
    ) -> None:
        self.header = header
        self._sources = sources
        self._decode = decode
        self._n, self._m = header.count, header.spares
        self._lengths = {
            v: (header.sibling(v).payload_length) for v in range(1, self._n + self._m + 1)
        }
        # One bit per payload sector (3 MiB for a BD-R DL), made at the first
        # rebuilt sector: a forged header naming 255 missing volumes of the
        # largest disc must not cost 255 of them before anything is read.
        self._seen: bytearray | None = None
        self._rebuilt = 0

    @property
    def own(self) -> PayloadSource | None:
        return self._sources.get(self.header.number)

    @property
    def rebuilt(self) -> int:
        """Sectors of this volume's payload rebuilt from the other volumes so far."""
        return self._rebuilt

    def read_payload(self, offset: int, size: int) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.header.payload_length:
            raise ValueError("read outside the payload")
        out = bytearray()
        lost: Ranges = []
        first = offset // SECTOR * SECTOR
        for at in range(first, offset + size, PIECE):
            end = min(at + PIECE, self.header.payload_length)
            out += self._piece(at, end, lost)
        if lost:
            raise self._lost_error(lost)
        skip = offset - first
        return bytes(out[skip : skip + size])

    def close(self) -> None:
        """The sources belong to the set: closed there."""

    # -- internals -----------------------------------------------------------

    def _piece(self, at: int, end: int, lost: Ranges) -> bytes:
        """Payload bytes [at, end) (``at`` sector-aligned), rebuilt where needed."""
        own = self.own
        if own is None:
            data, gaps = bytes(end - at), [(at, end)]
        else:
            data, gaps = read_partial(own, at, end - at)
        if not gaps:
            return data
        buf = bytearray(data)
        for a, b in gaps:
            a0, b0 = a // SECTOR * SECTOR, min(-(-b // SECTOR) * SECTOR, end)
            got, still = self._rebuild(a0, b0)
            buf[a0 - at : b0 - at] = got
            lost.extend(still)
        return bytes(buf)

    def _column(self, v: int, a: int, b: int) -> tuple[bytes, list[bool]]:
        """Volume ``v``'s padded payload [a, b) and, per sector, whether it is known."""
        sectors = -(-(b - a) // SECTOR)
        length = self._lengths[v]
        real = max(a, min(b, length))
        # Padding past a data payload's end is zeros whether or not the disc is there.
        known = [a + i * SECTOR >= length for i in range(sectors)]
        source = self._sources.get(v)
        if source is None or real == a:
            return bytes(b - a), known
        data, gaps = read_partial(source, a, real - a)
        ok = [True] * sectors
        for lo, hi in gaps:
            for i in range((lo - a) // SECTOR, -(-(hi - a) // SECTOR)):
                ok[i] = False
        return data + bytes(b - real), ok

    def _rebuild(self, a: int, b: int) -> tuple[bytes, Ranges]:
        """This volume's payload [a, b) from the others; and what could not be rebuilt."""
        me = self.header.number
        sectors = -(-(b - a) // SECTOR)
        columns: dict[int, bytes] = {}
        known: dict[int, list[bool]] = {}
        have = [0] * sectors
        # Data volumes first: where n of them are whole, decoding is a copy.
        for v in range(1, self._n + self._m + 1):
            if v == me:
                continue
            if min(have) >= self._n:
                break
            columns[v], known[v] = self._column(v, a, b)
            for i, ok in enumerate(known[v]):
                have[i] += ok
        out = bytearray(b - a)
        lost: Ranges = []
        i = 0
        while i < sectors:
            avail = tuple(v for v in columns if known[v][i])
            j = i + 1
            while j < sectors and tuple(v for v in columns if known[v][j]) == avail:
                j += 1
            lo, hi = a + i * SECTOR, min(a + j * SECTOR, b)
            if len(avail) < self._n:
                lost.append((lo, hi))
            else:
                present = {v - 1: columns[v][lo - a : hi - a] for v in avail[: self._n]}
                out[lo - a : hi - a] = self._decode(self._n, self._m, present)[me - 1]
                self._count(lo // SECTOR, -(-hi // SECTOR))
            i = j
        return bytes(out), lost

    def _count(self, first: int, end: int) -> None:
        if self._seen is None:
            self._seen = bytearray(-(-self.header.payload_length // SECTOR) // 8 + 1)
        for t in range(first, end):
            if not self._seen[t // 8] & (1 << (t % 8)):
                self._seen[t // 8] |= 1 << (t % 8)
                self._rebuilt += 1

    def _lost_error(self, lost: Ranges) -> LostDataError:
        from .healing import describe_ranges

        header = self.header
        absent = [v for v in range(1, self._n + self._m + 1) if v not in self._sources]
        unavailable = missing_phrases(absent, self._n, self._m)
        for v in range(1, self._n + self._m + 1):
            label = header.sibling(v).label()
            if v in self._sources and v != header.number:
                # Present but unreadable somewhere in these ranges: name it only if so.
                for lo, hi in lost:
                    _, ok = self._column(v, lo, hi)
                    if not all(ok):
                        unavailable.append(f"{label} is damaged there")
                        break
        if header.number in self._sources:
            unavailable.insert(0, f"{header.label()} is damaged there")
        # Phrases may each name a run of volumes: count the volumes themselves.
        short = len(absent) + len(unavailable) - len(missing_phrases(absent, self._n, self._m))
        short -= self._m
        return LostDataError(
            f"{header.label()}: payload {describe_ranges(lost)} cannot be read or rebuilt: "
            + "; ".join(unavailable)
            + f"; the set has {self._m} spare volume(s): {max(short, 1)} more of these "
            "volumes would be needed there",
            [(header.payload_offset + lo, header.payload_offset + hi) for lo, hi in lost],
        )
