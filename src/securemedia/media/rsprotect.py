"""Writing a file's recovery data, for ``recovery.protect_file`` and ``repair``: the
checksums of the data sectors, the parity rows, and the parity checksum tables
with the descriptors. Reading, scanning and rebuilding are in ``rsgroups.py``.

Everything streams in strides of whole sectors; memory stays bounded by
``rsgroups.BATCH_BYTES``, whatever the file size.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import BinaryIO, cast

from ..progress import Progress, ignore
from . import rs_backend, rsgroups
from .sector_sums import SectorCrcs
from .sectors import (
    ENTRIES,
    KIND_DATA,
    KIND_PARITY,
    SECTOR,
    Layout,
    build_crc_sector,
    build_descriptor,
    crc32c,
)

ParityCrcs = Callable[[int, int], list[int]]
"""``known(first, count)``: checksums of that run of parity sectors (flat index)."""


def write_data_crcs(f: BinaryIO, lay: Layout, known: SectorCrcs | None = None) -> None:
    """Checksum every data sector (the last one with its zero padding) into the C sectors.

    ``known`` gives the checksums taken as the file was written
    (:mod:`.sector_sums`); only the sectors it does not know are read.
    """
    entries: list[int] = []
    t = 0
    for s0 in range(0, lay.n_data, rsgroups.STRIDE):
        n = min(rsgroups.STRIDE, lay.n_data - s0)
        got: list[int | None] = known(s0, n) if known is not None else [None] * n
        missing = [i for i, c in enumerate(got) if c is None]
        if missing:
            # Read just the span of sectors not known (the image's file system,
            # the volume header, its tail), not the whole stride.
            low, high = missing[0], missing[-1] + 1
            raw = rsgroups.read_sectors(f, s0 + low, high - low)
            for i, block in enumerate(rsgroups.blocks_of(raw, high - low), low):
                if got[i] is None:
                    got[i] = crc32c(block)
        entries += cast(list[int], got)
        while len(entries) >= ENTRIES:
            rsgroups.write_at(f, lay.n_data + t, build_crc_sector(KIND_DATA, t, entries[:ENTRIES]))
            del entries[:ENTRIES]
            t += 1
    while t < lay.n_crc:
        rsgroups.write_at(f, lay.n_data + t, build_crc_sector(KIND_DATA, t, entries))
        entries = []
        t += 1


def encode_parity(f: BinaryIO, lay: Layout, progress: Progress = ignore) -> array[int]:
    """Compute every parity row, one batch of columns at a time, in two reused buffers.

    ``progress`` counts the data bytes of each batch (``lay.data_size`` in all).
    Returns the checksum of every parity sector (flat index ``row * columns +
    column``), taken from the buffers: :func:`write_tables` then need not read
    the parity rows back (4 bytes a sector, 0.1 MiB per GB of disc).
    """
    sums = array("I", bytes(4 * lay.p * lay.columns))
    codec = rs_backend.codec(lay.k, lay.m)
    step = rsgroups.batch_columns(lay)
    width = step * SECTOR
    src, par = bytearray(lay.k * width), bytearray(lay.p * width)
    sv, pv = memoryview(src), memoryview(par)
    for c0 in range(0, lay.columns, step):
        c1 = min(lay.columns, c0 + step)
        n = (c1 - c0) * SECTOR
        rows = [sv[r * width : r * width + n] for r in range(lay.k)]
        for r, view in enumerate(rows):
            rsgroups.read_row_into(f, lay, r, c0, c1, view)
        outs = [pv[j * width : j * width + n] for j in range(lay.p)]
        codec.encode_into(rows, outs)
        for j, out in enumerate(outs):
            rsgroups.write_at(f, lay.parity_rows[j] + c0, out)
            raw = bytes(out)
            at = j * lay.columns + c0
            sums[at : at + c1 - c0] = array("I", map(crc32c, rsgroups.blocks_of(raw, c1 - c0)))
        # Each batch holds the same share of every data row.
        progress(lay.data_size * c1 // lay.columns - lay.data_size * c0 // lay.columns)
    return sums


def write_tables(f: BinaryIO, lay: Layout, known: ParityCrcs | None = None) -> None:
    """Checksum the parity rows into every parity-table copy, then write the descriptors.

    ``known`` gives the checksums of parity sectors ``[first, first + count)``
    (flat index ``row * columns + column``) instead of reading the rows back
    from ``f``: repair writes through a handle it cannot read.
    """
    entries: list[int] = []
    t = 0

    def flush(chunk: list[int]) -> None:
        nonlocal t
        sec = build_crc_sector(KIND_PARITY, t, chunk)
        for start in lay.pc_starts:
            rsgroups.write_at(f, start + t, sec)
        t += 1

    for j, row_start in enumerate(lay.parity_rows):
        for c0 in range(0, lay.columns, rsgroups.STRIDE):
            n = min(rsgroups.STRIDE, lay.columns - c0)
            if known is not None:
                entries += known(j * lay.columns + c0, n)
            else:
                raw = rsgroups.read_sectors(f, row_start + c0, n)
                entries += [crc32c(b) for b in rsgroups.blocks_of(raw, n)]
            while len(entries) >= ENTRIES:
                flush(entries[:ENTRIES])
                del entries[:ENTRIES]
    while t < lay.n_pc:
        flush(entries)
        entries = []
    for s in lay.desc_sectors:
        rsgroups.write_at(f, s, build_descriptor(lay, s))


__all__ = ["ParityCrcs", "encode_parity", "write_data_crcs", "write_tables"]
