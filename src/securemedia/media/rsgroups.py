"""The streaming engine behind ``recovery.py``: checksum tables, scanning, rebuilding.

Writing the recovery data (checksums, parity, tables) is in ``rsprotect.py``.

Everything reads and writes in strides of whole sectors; memory stays bounded
by ``BATCH_BYTES`` plus small caches, whatever the file size. Only the list of
damaged sector ranges grows, with the damage.
"""

from __future__ import annotations

import bisect
import io
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from ..errors import MediaError
from ..progress import Progress, ignore
from . import rs_backend
from .sectors import (
    ENTRIES,
    KIND_DATA,
    KIND_PARITY,
    SECTOR,
    ZERO_SECTOR,
    Layout,
    build_descriptor,
    crc32c,
    parse_crc_sector,
)

STRIDE = 1024  # sectors per sequential read (2 MiB)
BATCH_BYTES = 8 * 2**20  # column batch: all m rows of B columns held at once
# 8 MiB, not 32: ISA-L works on 4 KiB slices of the rows whatever the batch,
# so a larger batch only buys fewer seeks, and costs peak memory.
_CACHE = 1024  # checksum sectors kept (2 MiB)


def read_sectors(f: BinaryIO, sector: int, count: int) -> bytes:
    """``count`` sectors from ``sector``; what lies past the end of the file reads as zeros."""
    f.seek(sector * SECTOR)
    raw = f.read(count * SECTOR)
    if len(raw) < count * SECTOR:
        raw += bytes(count * SECTOR - len(raw))
    return raw


def write_at(f: BinaryIO, sector: int, raw: bytes | memoryview) -> None:
    f.seek(sector * SECTOR)
    f.write(raw)


class Table:
    """Checksums kept in self-checking sectors, in one or more copies.

    ``rebuilt`` holds sectors Reed-Solomon recovered (data checksums only).
    A sector with no intact copy gives ``None`` entries: callers treat the
    sectors it covers as damaged, never as good.
    """

    def __init__(
        self,
        f: BinaryIO,
        starts: Sequence[int],
        kind: int,
        rebuilt: dict[int, bytes] | None = None,
    ) -> None:
        self._f, self._starts, self._kind = f, tuple(starts), kind
        self._rebuilt = rebuilt or {}
        self._cache: OrderedDict[int, tuple[int, ...] | None] = OrderedDict()

    def sector(self, t: int) -> tuple[int, ...] | None:
        if t in self._cache:
            self._cache.move_to_end(t)
            return self._cache[t]
        found = None
        if t in self._rebuilt:
            found = parse_crc_sector(self._rebuilt[t], self._kind, t)
        for start in self._starts:
            if found is not None:
                break
            found = parse_crc_sector(read_sectors(self._f, start + t, 1), self._kind, t)
        self._cache[t] = found
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return found

    def entries(self, first: int, count: int) -> list[int | None]:
        out: list[int | None] = []
        i = first
        while i < first + count:
            t, off = divmod(i, ENTRIES)
            n = min(ENTRIES - off, first + count - i)
            sec = self.sector(t)
            out.extend(sec[off : off + n] if sec is not None else [None] * n)
            i += n
        return out


def data_table(f: BinaryIO, lay: Layout, rebuilt: dict[int, bytes] | None = None) -> Table:
    return Table(f, (lay.n_data,), KIND_DATA, rebuilt)


def parity_table(f: BinaryIO, lay: Layout) -> Table:
    return Table(f, lay.pc_starts, KIND_PARITY)


def blocks_of(chunk: bytes, n: int) -> list[bytes]:
    """The ``n`` sectors of ``chunk``."""
    return [chunk[i * SECTOR : (i + 1) * SECTOR] for i in range(n)]


def _row_chunk(f: BinaryIO, lay: Layout, row: int, c0: int, c1: int) -> bytes:
    """Columns [c0, c1) of a row; virtual message slots are zeros."""
    buf = bytearray((c1 - c0) * SECTOR)
    read_row_into(f, lay, row, c0, c1, memoryview(buf))
    return bytes(buf)


def read_row_into(f: BinaryIO, lay: Layout, row: int, c0: int, c1: int, out: memoryview) -> None:
    """Columns [c0, c1) of a row into ``out``, with no copy; zeros past the row or the file."""
    start, end = lay.row_span(row, c0, c1)
    got = 0
    if end > start:
        f.seek(start * SECTOR)
        want = (end - start) * SECTOR
        while got < want:
            n = cast(io.BufferedIOBase, f).readinto(out[got:want])  # BinaryIO lacks it
            if not n:
                break
            got += n
    out[got:] = bytes(len(out) - got)


def batch_columns(lay: Layout) -> int:
    """Columns per batch: all m rows of them fit in ``BATCH_BYTES``."""
    return max(1, min(lay.columns, BATCH_BYTES // (lay.m * SECTOR)))


# --------------------------------------------------------------------------- scan


def _trust(lay: Layout, ctab: Table, ptab: Table, row: int, col: int, raw: bytes) -> bool | None:
    """Whether block ``row`` of group ``col`` checks; None if its checksum is lost."""
    if row >= lay.k:
        want = ptab.entries((row - lay.k) * lay.columns + col, 1)[0]
    else:
        i = row * lay.columns + col
        if i >= lay.n_msg:
            return True
        if i >= lay.n_data:
            return parse_crc_sector(raw, KIND_DATA, i - lay.n_data) is not None
        want = ctab.entries(i, 1)[0]
    return None if want is None else crc32c(raw) == want


def _status(lay: Layout, ctab: Table, ptab: Table, row: int, col: int, raw: bytes) -> bool:
    """Whether a block can be trusted: it checks against a known checksum."""
    return _trust(lay, ctab, ptab, row, col, raw) is True


def decode_group(
    codec: rs_backend.Codec, lay: Layout, blocks: list[bytes | None], rows: list[int] | None = None
) -> list[bytes] | None:
    """The k message blocks of a group from k intact blocks, or None if too few survive.

    ``rows`` chooses which blocks to use, in order of preference (default: the
    message blocks first, which need no arithmetic).
    """
    order = range(len(blocks)) if rows is None else rows
    avail = [r for r in order if blocks[r] is not None][: lay.k]
    if len(avail) < lay.k:
        return None
    if max(avail) < lay.k:
        return [b for b in blocks[: lay.k] if b is not None]
    return codec.decode({r: b for r in avail if (b := blocks[r]) is not None})


def recover_crc_sectors(
    f: BinaryIO, lay: Layout, ptab: Table
) -> tuple[dict[int, bytes], list[int]]:
    """Rebuild damaged data-checksum sectors through their groups.

    Recovering one checksum sector makes more blocks of other groups known, so
    repeat until nothing more comes back. Returns (rebuilt sectors, still lost).
    """
    bad = []
    for t0 in range(0, lay.n_crc, STRIDE):
        n = min(STRIDE, lay.n_crc - t0)
        raw = read_sectors(f, lay.n_data + t0, n)
        bad += [t0 + i for i, b in enumerate(blocks_of(raw, n))
                if parse_crc_sector(b, KIND_DATA, t0 + i) is None]  # fmt: skip
    rebuilt: dict[int, bytes] = {}
    dec = rs_backend.codec(lay.k, lay.m)
    while bad:
        ctab = data_table(f, lay, rebuilt)
        for col in sorted({(lay.n_data + t) % lay.columns for t in bad}):
            blocks: list[bytes | None] = []
            trust: list[bool | None] = []
            for row in range(lay.m):
                start, end = lay.row_span(row, col, col + 1)
                raw = read_sectors(f, start, 1) if end > start else ZERO_SECTOR
                blocks.append(raw)
                trust.append(_trust(lay, ctab, ptab, row, col, raw))
            known = [r for r in range(lay.m) if trust[r]]
            # Blocks whose checksum is lost with the very sectors we are after may
            # still be good (a zeroed one is not): try them after the known ones.
            # Safe, because what comes out must pass the checksum sector's own check.
            maybe = [r for r in range(lay.m) if trust[r] is None and blocks[r] != ZERO_SECTOR]
            usable = [b if trust[r] is not False else None for r, b in enumerate(blocks)]
            msg = decode_group(dec, lay, usable, known + maybe)
            for t in bad:
                i = lay.n_data + t
                if msg is None or i % lay.columns != col:
                    continue
                if parse_crc_sector(msg[i // lay.columns], KIND_DATA, t) is not None:
                    rebuilt[t] = msg[i // lay.columns]
        still = [t for t in bad if t not in rebuilt]
        if len(still) == len(bad):
            break
        bad = still
    return rebuilt, bad


@dataclass
class Scan:
    """Damaged sectors (merged ranges) and how many blocks each group lost."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    ends: array[int] = field(default_factory=lambda: array("q"))
    lost: array[int] = field(default_factory=lambda: array("H"))

    def add(self, sector: int) -> None:
        if self.ends and self.ends[-1] == sector:
            self.ends[-1] = sector + 1
        else:
            self.starts.append(sector)
            self.ends.append(sector + 1)

    def bad_in(self, start: int, end: int) -> list[int]:
        """Damaged sectors in [start, end)."""
        out: list[int] = []
        i = bisect.bisect_right(self.ends, start)
        while i < len(self.starts) and self.starts[i] < end:
            out.extend(range(max(start, self.starts[i]), min(end, self.ends[i])))
            i += 1
        return out

    @property
    def damaged_sectors(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))


def scan(f: BinaryIO, lay: Layout, ctab: Table, ptab: Table, progress: Progress = ignore) -> Scan:
    """Check every sector of the protected file against its checksum, in file order;
    ``progress`` counts the bytes checked."""
    res = Scan(lost=array("H", [0]) * lay.columns)
    for seg_start, seg_end, kind, number in lay.segments():
        for s0 in range(seg_start, seg_end, STRIDE):
            n = min(STRIDE, seg_end - s0)
            blocks = blocks_of(read_sectors(f, s0, n), n)
            progress(n * SECTOR)
            if kind == "data":
                want = ctab.entries(s0, n)
                good = [w is not None and crc32c(b) == w for b, w in zip(blocks, want, strict=True)]
            elif kind in ("crc", "pc"):
                kd = KIND_DATA if kind == "crc" else KIND_PARITY
                t0 = s0 - seg_start
                good = [parse_crc_sector(b, kd, t0 + i) is not None for i, b in enumerate(blocks)]
            elif kind == "desc":
                good = [blocks[0] == build_descriptor(lay, s0)]
            else:
                want = ptab.entries(number * lay.columns + s0 - seg_start, n)
                good = [w is not None and crc32c(b) == w for b, w in zip(blocks, want, strict=True)]
            for i, ok in enumerate(good):
                if ok:
                    continue
                res.add(s0 + i)
                if kind in ("data", "crc"):
                    res.lost[(s0 + i) % lay.columns] += 1
                elif kind == "parity":
                    res.lost[s0 + i - seg_start] += 1
    return res


# --------------------------------------------------------------------------- rebuild


def rebuild(
    src: BinaryIO, dst: BinaryIO, lay: Layout, ctab: Table, ptab: Table, bad: Scan
) -> tuple[int, dict[int, int]]:
    """Write every damaged message and parity sector, rebuilt and checked, into ``dst``.

    Returns how many sectors were written, and the checksum of every rebuilt
    parity sector by flat index (``rsprotect.write_tables`` needs them; ``dst`` is write-only).
    """
    codec = rs_backend.codec(lay.k, lay.m)
    step = batch_columns(lay)
    width = step * SECTOR
    buf = bytearray(lay.m * width)  # every row of one batch, reused batch after batch
    view = memoryview(buf)
    repaired = 0
    parity_crcs: dict[int, int] = {}
    for c0 in range(0, lay.columns, step):
        c1 = min(lay.columns, c0 + step)
        erased: dict[int, list[int]] = {}
        for row in range(lay.m):
            start, end = lay.row_span(row, c0, c1)
            base = lay.row_start(row)
            for s in bad.bad_in(start, end):
                erased.setdefault(s - base, []).append(row)
        if not erased:
            continue
        for r in range(lay.m):
            read_row_into(src, lay, r, c0, c1, view[r * width : r * width + (c1 - c0) * SECTOR])
        for col, n, rows in _runs(erased):
            if len(rows) > lay.p:
                raise MediaError(f"group {col} lost {len(rows)} blocks of {lay.m}: unrepairable")
            off = (col - c0) * SECTOR
            # Neighbouring groups that lost the same rows: one decode, in place.
            codec.rebuild_in_place(buf, width, off, n * SECTOR, rows)
            for r in rows:
                content = view[r * width + off : r * width + off + n * SECTOR]
                for i in range(n):
                    one = bytes(content[i * SECTOR : (i + 1) * SECTOR])
                    _check_rebuilt(lay, ctab, ptab, r, col + i, one)
                    if r >= lay.k:
                        parity_crcs[(r - lay.k) * lay.columns + col + i] = crc32c(one)
                write_at(dst, lay.row_start(r) + col, content)
                repaired += n
    return repaired, parity_crcs


def _runs(erased: dict[int, list[int]]) -> list[tuple[int, int, tuple[int, ...]]]:
    """(first column, count, erased rows): neighbouring groups that lost the same rows.

    A scratch takes a run of sectors of one row, so neighbouring groups share
    one erasure pattern: one decode matrix, and one ISA-L call for the run.
    """
    out: list[tuple[int, int, tuple[int, ...]]] = []
    for col, rows in sorted(erased.items()):
        key = tuple(rows)
        if out and out[-1][0] + out[-1][1] == col and out[-1][2] == key:
            out[-1] = (out[-1][0], out[-1][1] + 1, key)
        else:
            out.append((col, 1, key))
    return out


def _check_rebuilt(lay: Layout, ctab: Table, ptab: Table, r: int, col: int, content: bytes) -> None:
    """Refuse a rebuilt sector that does not match its stored checksum."""
    # A parity sector whose checksum is lost in every copy cannot be
    # checked, but it is re-encoded from a message that was.
    checkable = r < lay.k or ptab.entries((r - lay.k) * lay.columns + col, 1)[0]
    if checkable is not None and not _status(lay, ctab, ptab, r, col, content):
        raise MediaError(
            f"rebuilt sector {lay.row_start(r) + col} does not match its checksum: unrepairable"
        )
