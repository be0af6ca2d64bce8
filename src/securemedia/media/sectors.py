"""Geometry and on-disk structures of the recovery region (see ``recovery.py``).

A protected file is laid out in 2,048-byte sectors::

    data (N sectors, last one zero-padded) | data checksums (C sectors)
    | for each of COPIES parts: descriptor, parity-checksum copy,
    |     then for each parity row of that part: descriptor, parity row (G sectors)
    | descriptor (the last sector)

The Reed-Solomon *message* is data + data checksums (M = N + C sectors), read as
a k x G matrix in row-major order: message sector ``i`` is block ``i // G`` of
group ``i % G``. Slots past M are virtual zero sectors, never stored. Parity row
``j`` holds block ``k + j`` of every group. Because rows are contiguous on disc,
a scratch of L sectors costs each group at most ceil(L / G) blocks.

The data checksums are part of the message, so Reed-Solomon rebuilds them like
data. Parity checksums cannot be (they depend on the parity), so they are
stored COPIES times, far apart; every checksum sector verifies itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import ceil

import google_crc32c

from ..errors import MediaError
from .sizes import LARGEST_MEDIUM

SECTOR = 2048
MAX_BLOCKS = 256  # zfec works over GF(2^8): at most 256 blocks per group
COPIES = 3  # copies of the parity-checksum table
MIN_PARITY = 4

KIND_DATA = 0
KIND_PARITY = 1
_CRC_MAGIC = b"SMCK"
_CRC_HEADER = struct.Struct("<4sB3xI")  # magic, kind, index of the sector in its table
ENTRIES = (SECTOR - _CRC_HEADER.size - 4) // 4  # 508 checksums per sector
_ENTRIES_FMT = struct.Struct(f"<{ENTRIES}I")

DESC_MAGIC = b"SMRECOV1"
_DESC = struct.Struct("<8sHHHHQQQ")  # magic, version, k, p, copies, data_size, sectors, own sector
_DESC_VERSION = 1

ZERO_SECTOR = bytes(SECTOR)


def crc32c(data: bytes) -> int:
    """CRC32C of ``data`` (google_crc32c wants ``bytes``, not a memoryview)."""
    return int(google_crc32c.value(data))


def _ceil_frac(value: float) -> int:
    # 0.15 * 200 is 30.000000000000004 in binary floating point: round first so
    # the parity count is the one a person would compute.
    return ceil(round(value, 9))


@dataclass(frozen=True)
class Layout:
    """Where everything lives; a pure function of (data_size, k, p, copies)."""

    data_size: int
    k: int
    p: int
    copies: int
    n_data: int
    n_crc: int
    columns: int
    n_pc: int
    desc_sectors: tuple[int, ...]
    pc_starts: tuple[int, ...]
    parity_rows: tuple[int, ...]
    total_sectors: int

    @property
    def n_msg(self) -> int:
        return self.n_data + self.n_crc

    @property
    def m(self) -> int:
        return self.k + self.p

    @property
    def total_size(self) -> int:
        return self.total_sectors * SECTOR

    def row_start(self, row: int) -> int:
        """File sector of column 0 of ``row`` (message rows may run past M: virtual)."""
        if row < self.k:
            return row * self.columns
        return self.parity_rows[row - self.k]

    def row_span(self, row: int, col0: int, col1: int) -> tuple[int, int]:
        """Stored sectors [start, end) of ``row`` for columns [col0, col1)."""
        start = self.row_start(row) + col0
        end = self.row_start(row) + col1
        if row < self.k:
            start, end = min(start, self.n_msg), min(end, self.n_msg)
        return start, end

    def segments(self) -> list[tuple[int, int, str, int]]:
        """(start, end, kind, number) for every stored part, in file order."""
        segs = [(0, self.n_data, "data", 0), (self.n_data, self.n_msg, "crc", 0)]
        segs += [(s, s + 1, "desc", i) for i, s in enumerate(self.desc_sectors)]
        segs += [(s, s + self.n_pc, "pc", i) for i, s in enumerate(self.pc_starts)]
        segs += [(s, s + self.columns, "parity", j) for j, s in enumerate(self.parity_rows)]
        return sorted(seg for seg in segs if seg[1] > seg[0])


def max_k(redundancy: float) -> int:
    """Largest group data width whose parity still fits in 256 blocks."""
    if not 0 < redundancy <= 1:
        raise MediaError(f"redundancy {redundancy!r} out of range: more than 0 and at most 1")
    k = MAX_BLOCKS - 1
    # The parity floor counts here too: without it a redundancy under about
    # 1.2 % chose a k whose k + MIN_PARITY exceeds 256, and every file of 253
    # message sectors or more was refused.
    while k + max(MIN_PARITY, _ceil_frac(redundancy * k)) > MAX_BLOCKS:
        k -= 1
    return k


def layout_for_redundancy(data_size: int, redundancy: float) -> Layout:
    """Choose the code for a file of ``data_size`` bytes and lay it out.

    k is the widest group allowed (best statistics against random damage) and
    the parity count is fixed per redundancy, which keeps the total size
    monotonic in ``data_size`` (volume planning binary-searches over it).
    """
    if data_size < 0:
        raise MediaError(f"negative data size {data_size}")
    n_data = -(-data_size // SECTOR)
    n_msg = n_data + max(1, -(-n_data // ENTRIES))
    k = min(max_k(redundancy), n_msg)
    # A small file is one short group: a floor on the parity keeps a few bad
    # sectors survivable there, for a few KiB.
    return layout_for(data_size, k, max(MIN_PARITY, _ceil_frac(redundancy * k)), COPIES)


def layout_for(data_size: int, k: int, p: int, copies: int) -> Layout:
    """The layout for explicit code parameters (as read back from a descriptor)."""
    # The writer never makes more parity than data (redundancy at most 100%)
    # except for the MIN_PARITY floor of a tiny file: a descriptor asking for
    # more is forged, and would make repair write up to 256 times the file.
    if k < 1 or not 1 <= p <= max(MIN_PARITY, k) or k + p > MAX_BLOCKS or not 1 <= copies <= 8:
        raise MediaError(f"invalid recovery parameters k={k} p={p} copies={copies}")
    if not 0 <= data_size <= LARGEST_MEDIUM:
        raise MediaError(f"invalid recovery data size {data_size}: larger than any disc")
    n_data = -(-data_size // SECTOR)
    n_crc = max(1, -(-n_data // ENTRIES))
    columns = -(-(n_data + n_crc) // k)
    n_pc = max(1, -(-(p * columns) // ENTRIES))
    pos = n_data + n_crc
    descs: list[int] = []
    pc_starts: list[int] = []
    rows: list[int] = []
    for part in range(copies):
        descs.append(pos)
        pc_starts.append(pos + 1)
        pos += 1 + n_pc
        # Parity rows split as evenly as possible between the parts, so the
        # checksum copies sit roughly 1/copies of the parity apart.
        for _ in range(p * part // copies, p * (part + 1) // copies):
            descs.append(pos)
            rows.append(pos + 1)
            pos += 1 + columns
    descs.append(pos)
    return Layout(
        data_size, k, p, copies, n_data, n_crc, columns, n_pc,
        tuple(descs), tuple(pc_starts), tuple(rows), pos + 1,
    )  # fmt: skip


def build_descriptor(lay: Layout, own_sector: int) -> bytes:
    """The descriptor copy stored at ``own_sector``."""
    body = _DESC.pack(
        DESC_MAGIC, _DESC_VERSION, lay.k, lay.p, lay.copies,
        lay.data_size, lay.total_sectors, own_sector,
    )  # fmt: skip
    raw = body + struct.pack("<I", crc32c(body))
    return raw + bytes(SECTOR - len(raw))


def parse_descriptor(raw: bytes, at_sector: int) -> Layout | None:
    """The layout a descriptor sector found at ``at_sector`` describes, or None if it is not one.

    A descriptor copied from elsewhere (a protected file stored inside a larger
    protected image) names a different sector, so it is not taken for ours.
    A self-checking descriptor in its own place that asks for parameters no
    writer produces (see ``layout_for``) is forged: MediaError, not None.
    """
    size = _DESC.size
    if len(raw) < size + 4 or raw[:8] != DESC_MAGIC:
        return None
    if struct.unpack_from("<I", raw, size)[0] != crc32c(raw[:size]):
        return None
    _, version, k, p, copies, data_size, total, own = _DESC.unpack_from(raw)
    if version != _DESC_VERSION or own != at_sector:
        return None
    try:
        lay = layout_for(data_size, k, p, copies)
    except MediaError as exc:
        raise MediaError(f"forged recovery descriptor at sector {at_sector}: {exc}") from None
    if lay.total_sectors != total or own not in lay.desc_sectors:
        raise MediaError(
            f"forged recovery descriptor at sector {at_sector}: its sizes do not match its "
            "parameters"
        )
    return lay


def check_file_bounds(lay: Layout, file_size: int, name: str) -> None:
    """Refuse a layout that announces more than this file and the largest disc allow.

    Called before anything is allocated or written from the descriptor. A
    protected file may be shorter than announced (a short burn or read) only by
    what repair can rebuild: its parity rows and checksum tables, never data.
    """
    if lay.total_size > LARGEST_MEDIUM:
        raise MediaError(
            f"{name}: its recovery descriptor announces {lay.total_size:,} bytes, more than "
            f"the largest disc holds ({LARGEST_MEDIUM:,}): refused"
        )
    missing = lay.total_size - file_size
    tables = (1 + lay.n_pc) * lay.copies + len(lay.desc_sectors)
    rebuildable = (lay.p * (1 + lay.columns) + tables) * SECTOR
    if missing > rebuildable:
        raise MediaError(
            f"{name}: its recovery descriptor announces {lay.total_size:,} bytes for a file of "
            f"{file_size:,}: more is missing than recovery data can rebuild, refused"
        )


def build_crc_sector(kind: int, index: int, entries: list[int]) -> bytes:
    """A self-checking sector holding up to ENTRIES checksums."""
    padded = entries + [0] * (ENTRIES - len(entries))
    body = _CRC_HEADER.pack(_CRC_MAGIC, kind, index) + _ENTRIES_FMT.pack(*padded)
    return body + struct.pack("<I", crc32c(body))


def parse_crc_sector(raw: bytes, kind: int, index: int) -> tuple[int, ...] | None:
    """The checksums in a sector, or None if it is damaged or not the expected one."""
    if len(raw) != SECTOR or raw[:4] != _CRC_MAGIC:
        return None
    if struct.unpack_from("<I", raw, SECTOR - 4)[0] != crc32c(raw[: SECTOR - 4]):
        return None
    _, got_kind, got_index = _CRC_HEADER.unpack_from(raw)
    if got_kind != kind or got_index != index:
        return None
    return _ENTRIES_FMT.unpack_from(raw, _CRC_HEADER.size)
