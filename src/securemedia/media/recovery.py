"""Recovery data that repairs scratched discs, and keyless damage detection.

A *protected file* (a volume file or a whole disc image) carries a recovery
region appended after its original bytes, like dvdisaster's RS03 augmented
image: ISO readers ignore what lies past the file system. The region holds

* a CRC32C for every 2,048-byte sector, so damage is found without any key
  (an unreadable sector comes back zeroed from ddrescue and fails its check);
* Reed-Solomon parity (zfec's code; ISA-L computes it when present, see
  ``rs_backend.py``) over groups of up to 256 sectors whose blocks are
  spread across the whole file, so one long scratch costs each group about
  one block per 1/k of the file it covers;
* descriptors and parity checksums in several copies, far apart, each one
  self-checking, so that damage to the region itself is survivable.

Layout details are in ``sectors.py``; the streaming engine in ``rsgroups.py``;
reading a damaged file healed in memory, sector by sector, in ``healing.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..atomic import atomic_output
from ..errors import MediaError, os_error
from ..progress import Phases, Progress, ignore, no_phases
from . import rsgroups, rsprotect
from .disc_open import open_disc_file
from .sector_sums import SectorCrcs
from .sectors import (
    DESC_MAGIC,
    SECTOR,
    Layout,
    check_file_bounds,
    layout_for_redundancy,
    parse_descriptor,
)

__all__ = [
    "DEFAULT_REDUNDANCY",
    "SECTOR",
    "NotProtectedError",
    "RepairReport",
    "VerifyReport",
    "protect_file",
    "protected_data_size",
    "protected_layout",
    "recovery_overhead",
    "repair_file",
    "repair_if_damaged",
    "repair_into",
    "verify_file",
]


class NotProtectedError(MediaError):
    """No recovery descriptor at all: an unprotected file, or one whose region is lost.

    Other MediaErrors from this module are refusals (a forged descriptor, sizes
    out of bounds, damage beyond repair) that a caller must not take for this.
    """


# 15% parity: groups of 222 data + 34 parity sectors (~17% on disc with the
# checksums). benchmarks/bench_recovery.py, 200 trials on an 8 MB file: 3% random
# + one 1% run repaired byte-identical 200/200; 6% + 1%: 0/200 fail; 7%: 1/200;
# 8%: 8/200. The binomial model puts the 3% + 1% case at 1.5e-11 per group, so
# even a 50 GB BD-DL image (~110,000 groups) fails with odds ~1e-6; at 10% parity
# the same case is 1.2e-5 per group, i.e. a near-certain failure on such an image.
DEFAULT_REDUNDANCY: float = 0.15

_SHOW_RANGES = 4


@dataclass(frozen=True)
class VerifyReport:
    """What a keyless check of a protected file found.

    ``damaged_ranges`` are (start, end-exclusive) byte offsets in the file, whole
    sectors. A sector whose checksum is itself lost beyond recovery cannot be
    vouched for and is reported as damaged.
    """

    path: Path
    data_size: int
    protected_size: int
    file_size: int
    damaged_ranges: list[tuple[int, int]]
    damaged_sectors: int
    groups: int
    groups_unrepairable: int
    data_blocks: int
    parity_blocks: int
    repairable: bool

    @property
    def ok(self) -> bool:
        """True when nothing is damaged."""
        return not self.damaged_ranges and self.file_size == self.protected_size

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "repairable": self.repairable,
            "data_size": self.data_size,
            "protected_size": self.protected_size,
            "file_size": self.file_size,
            "damaged_sectors": self.damaged_sectors,
            "damaged_ranges": [list(r) for r in self.damaged_ranges],
            "groups": self.groups,
            "groups_unrepairable": self.groups_unrepairable,
            "blocks_per_group": {"data": self.data_blocks, "parity": self.parity_blocks},
        }


@dataclass(frozen=True)
class RepairReport:
    """The outcome of a successful repair (a failed one raises MediaError)."""

    path: Path
    out: Path
    data_size: int
    damaged_ranges: list[tuple[int, int]]
    sectors_repaired: int
    repairable: bool = True

    @property
    def ok(self) -> bool:
        """True: ``out`` is a complete copy whose every rebuilt sector checked."""
        return self.repairable

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "out": str(self.out),
            "ok": self.ok,
            "data_size": self.data_size,
            "damaged_ranges": [list(r) for r in self.damaged_ranges],
            "sectors_repaired": self.sectors_repaired,
        }


def recovery_overhead(data_size: int, redundancy: float = DEFAULT_REDUNDANCY) -> int:
    """Exact number of bytes protect_file() will append for a file of data_size bytes.

    Includes the zero padding of the last data sector. ``data_size +
    recovery_overhead(data_size)`` never decreases as ``data_size`` grows.
    """
    return layout_for_redundancy(data_size, redundancy).total_size - data_size


def protect_file(
    path: Path,
    redundancy: float = DEFAULT_REDUNDANCY,
    *,
    progress: Progress = ignore,
    known: SectorCrcs | None = None,
) -> None:
    """Append the recovery region to `path` in place; original bytes untouched.

    ``progress`` counts the data bytes encoded (the file's size in all).
    ``known`` gives checksums of data sectors taken as the file was written
    (:mod:`.sector_sums`): those sectors are not read for the checksum table.

    Streams: constant memory. If anything fails the file is cut back to its
    original length. A file that is already protected is refused (MediaError):
    protecting twice would hide the first region's descriptor.
    """
    path = Path(path)
    try:
        data_size = path.stat().st_size
        lay = layout_for_redundancy(data_size, redundancy)
        with open(path, "r+b") as f:
            if data_size >= SECTOR and data_size % SECTOR == 0:
                last = data_size // SECTOR - 1
                if parse_descriptor(rsgroups.read_sectors(f, last, 1), last) is not None:
                    raise MediaError(f"{path.name}: already protected")
            try:
                f.truncate(lay.total_size)
                rsprotect.write_data_crcs(f, lay, known)
                sums = rsprotect.encode_parity(f, lay, progress)
                rsprotect.write_tables(f, lay, lambda first, n: sums[first : first + n].tolist())
                f.flush()
                os.fsync(f.fileno())
            except BaseException:
                f.truncate(data_size)
                raise
    except OSError as e:
        raise os_error(e, "add recovery data to", path) from e


def _find_layout(f: BinaryIO, file_size: int, name: str) -> Layout:
    """The layout from the last intact descriptor copy, searching back from the end."""
    end = -(-file_size // SECTOR)
    while end > 0:
        start = max(0, end - rsgroups.STRIDE)
        raw = rsgroups.read_sectors(f, start, end - start)
        pos = raw.rfind(DESC_MAGIC)
        while pos >= 0:
            if pos % SECTOR == 0:
                lay = parse_descriptor(raw[pos : pos + SECTOR], start + pos // SECTOR)
                if lay is not None:
                    check_file_bounds(lay, file_size, name)
                    return lay
            pos = raw.rfind(DESC_MAGIC, 0, pos)
        end = start
    raise NotProtectedError(
        f"{name}: no intact recovery descriptor: not a protected file, or its recovery "
        "region is destroyed"
    )


def protected_data_size(path: Path) -> int:
    """Length of the original data (what came before the recovery region). Works on a damaged file too, if the region descriptor survives; else MediaError."""  # noqa: E501
    return protected_layout(path).data_size


def protected_layout(path: Path) -> Layout:
    """The recovery layout of a protected file (its code and geometry), from its
    last intact descriptor; NotProtectedError if there is none."""
    path = Path(path)
    try:
        with open_disc_file(path) as f:
            return _find_layout(f, path.stat().st_size, path.name)
    except OSError as e:
        raise os_error(e, "read", path) from e


def _describe(scan: rsgroups.Scan) -> str:
    shown = [
        f"{s}" if e - s == 1 else f"{s}-{e - 1}"
        for s, e in list(zip(scan.starts, scan.ends, strict=True))[:_SHOW_RANGES]
    ]
    more = len(scan.starts) - len(shown)
    text = ", ".join(shown) + (f" and {more} more ranges" if more > 0 else "")
    return f"sectors {text} damaged ({scan.damaged_sectors} sectors)"


def analyse(
    f: BinaryIO, path: Path, phases: Phases = no_phases
) -> tuple[Layout, rsgroups.Table, rsgroups.Table, rsgroups.Scan, VerifyReport, str]:
    """Find the layout (bounded), the checksum tables and every damaged sector of ``f``;
    ``phases`` is told of the scan ("checking NAME", the protected size).

    Returns (layout, data table, parity table, scan, report, why): ``why`` is empty
    when the damage is repairable, else the reason it is not.
    """
    file_size = path.stat().st_size
    lay = _find_layout(f, file_size, path.name)
    ptab = rsgroups.parity_table(f, lay)
    rebuilt, lost_crc = rsgroups.recover_crc_sectors(f, lay, ptab)
    ctab = rsgroups.data_table(f, lay, rebuilt)
    scan = rsgroups.scan(f, lay, ctab, ptab, phases(f"checking {path.name}", lay.total_size))
    beyond = sum(1 for n in scan.lost if n > lay.p)
    report = VerifyReport(
        path=path,
        data_size=lay.data_size,
        protected_size=lay.total_size,
        file_size=file_size,
        damaged_ranges=[
            (s * SECTOR, e * SECTOR) for s, e in zip(scan.starts, scan.ends, strict=True)
        ],
        damaged_sectors=scan.damaged_sectors,
        groups=lay.columns,
        groups_unrepairable=beyond,
        data_blocks=lay.k,
        parity_blocks=lay.p,
        repairable=beyond == 0 and not lost_crc,
    )
    why = ""
    if beyond:
        why = (
            f"{_describe(scan)}; {beyond} of {lay.columns} groups lost more than the "
            f"{lay.p} blocks of {lay.m} the redundancy carries: unrepairable"
        )
    elif lost_crc:
        why = (
            f"{_describe(scan)}; {len(lost_crc)} checksum sectors lost beyond recovery: "
            "unrepairable"
        )
    return lay, ctab, ptab, scan, report, why


def verify_file(path: Path, phases: Phases = no_phases) -> VerifyReport:
    """Keyless: find damaged sectors (CRC32C per sector), report damaged byte ranges in the file, and whether repair can fix them."""  # noqa: E501
    path = Path(path)
    try:
        with open_disc_file(path) as f:
            return analyse(f, path, phases)[4]
    except OSError as e:
        raise os_error(e, "read", path) from e


def repair_file(damaged: Path, out: Path, *, force: bool = True) -> RepairReport:
    """Write a byte-identical copy of the original protected file (data + recovery region) to `out`.

    Through the atomic-output primitive: a temporary created exclusively beside
    `out`, renamed over it only when complete. If the damage is beyond the
    redundancy: MediaError('... unrepairable ...') and nothing at `out`. Never
    'repair' wrong: every rebuilt sector must check against its stored CRC.
    """
    report = _repair_path(Path(damaged), Path(out), force=force, phases=no_phases, intact=True)
    assert report is not None  # an intact file is copied too
    return report


def repair_if_damaged(
    damaged: Path, out: Path, *, force: bool = False, phases: Phases = no_phases
) -> RepairReport | None:
    """:func:`repair_file`, except that an intact file (every sector checks, no
    bytes missing or extra) gives None and nothing is written: a copy of it
    would add nothing but the chance of taking the copy for a repaired disc.
    ``phases`` is told of each step ("checking NAME", "repairing NAME")."""
    return _repair_path(Path(damaged), Path(out), force=force, phases=phases, intact=False)


def _repair_path(
    damaged: Path, out: Path, *, force: bool, phases: Phases, intact: bool
) -> RepairReport | None:
    """Repair ``damaged`` into ``out``; an intact file is copied when ``intact``,
    else None and nothing written."""
    try:
        with open_disc_file(damaged) as src:
            analysis = analyse(src, damaged, phases)
            if analysis[4].ok and not intact:
                return None
            if analysis[5]:
                raise MediaError(f"{damaged.name}: {analysis[5]}")
            progress = phases(f"repairing {damaged.name}", analysis[0].total_size)
            with atomic_output(out, force=force) as dst:
                return _repair(src, dst, damaged, out, analysis, progress)
    except OSError as e:
        # A full disk or an unreadable file is operational, not a damaged volume.
        raise os_error(e, "repair", f"{damaged} into {out.parent}") from e


def repair_into(
    damaged: Path, dst: BinaryIO, out: Path | None = None, phases: Phases = no_phases
) -> RepairReport:
    """Write the repaired copy of `damaged` into `dst` (write and seek only; never read).

    For callers that own the output file; MediaError if it is unrepairable, with
    nothing written. The output is exactly the announced protected size, which
    was checked against the damaged file's size and the largest disc. ``phases``
    is told of each step ("checking NAME", "repairing NAME").
    """
    damaged = Path(damaged)
    try:
        with open_disc_file(damaged) as src:
            analysis = analyse(src, damaged, phases)
            if analysis[5]:
                raise MediaError(f"{damaged.name}: {analysis[5]}")
            progress = phases(f"repairing {damaged.name}", analysis[0].total_size)
            return _repair(src, dst, damaged, out or damaged, analysis, progress)
    except OSError as e:
        where = f"{damaged} into {out.parent}" if out is not None else str(damaged)
        raise os_error(e, "repair", where) from e


_Analysis = tuple[Layout, rsgroups.Table, rsgroups.Table, rsgroups.Scan, VerifyReport, str]


def _repair(
    src: BinaryIO,
    dst: BinaryIO,
    damaged: Path,
    out: Path,
    analysis: _Analysis,
    progress: Progress = ignore,
) -> RepairReport:
    lay, ctab, ptab, scan, report, _ = analysis
    # Copy what is there, cut or zero-padded to the announced size (bounded).
    for s0 in range(0, lay.total_sectors, rsgroups.STRIDE):
        n = min(rsgroups.STRIDE, lay.total_sectors - s0)
        rsgroups.write_at(dst, s0, rsgroups.read_sectors(src, s0, n))
        progress(n * SECTOR)
    repaired, rebuilt_crcs = rsgroups.rebuild(src, dst, lay, ctab, ptab, scan)

    def known(first: int, count: int) -> list[int]:
        # Every parity sector either checked against a stored checksum or was
        # rebuilt (the scan counts one with no checksum left as damaged).
        got = ptab.entries(first, count)
        return [rebuilt_crcs[first + i] if c is None else c for i, c in enumerate(got)]

    # Descriptors and parity checksums are a function of the (now whole)
    # parity: write them afresh, exactly as protect did.
    rsprotect.write_tables(dst, lay, known)
    dst.flush()
    os.fsync(dst.fileno())
    return RepairReport(
        path=damaged,
        out=out,
        data_size=lay.data_size,
        damaged_ranges=report.damaged_ranges,
        sectors_repaired=repaired + _outside_groups(lay, scan),
    )


def _outside_groups(lay: Layout, scan: rsgroups.Scan) -> int:
    """Damaged descriptor and checksum-copy sectors, rewritten by write_tables."""
    n = 0
    for start in lay.desc_sectors:
        n += len(scan.bad_in(start, start + 1))
    for start in lay.pc_starts:
        n += len(scan.bad_in(start, start + lay.n_pc))
    return n
