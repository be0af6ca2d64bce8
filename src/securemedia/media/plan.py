"""Planning a shipment: how big each volume may be, and how many discs a dataset needs.

The volume capacity for a medium is the largest volume file whose disc file
(the image with its file system, plus recovery data) still fits the medium.
It depends only on the medium, ``--iso``, the redundancy and the output name,
never on the data or the notice, so ``plan`` and ``pack`` always agree.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import zstandard

from ..errors import OperationalError, UsageError
from . import recovery
from .disc_names import volume_file_name
from .header import HEADER_SIZE, MAX_CODED_VOLUMES, MAX_SPARES, MAX_VOLUMES
from .iso import image_size_bound
from .readme import LISTED_DISCS, NOTICE_ALLOWANCE, render_readme
from .salvage_copy import reserve_fits, salvage_reserve
from .sizes import LARGEST_MEDIUM, MIN_SIZE, SECTOR, Medium, parse_redundancy

SAMPLE_BLOCKS = 64
SAMPLE_BLOCK = 64 * 1024
ZSTD_LEVEL = 3

# Archive format overhead allowances for the estimate (generous on purpose: a
# plan that says one disc too many is better than one that says one too few).
ARCHIVE_FIXED = 64 * 1024
ARCHIVE_PER_ENTRY = 512
ARCHIVE_PER_CHUNK = 64  # per 64 KiB of content: AEAD tag, framing


def readme_bound(base_name: str) -> int:
    """Bytes of the largest README any volume of ``base_name`` can get."""
    # The longest data-volume and spare-volume notes: numbers of the most
    # digits, and the longest lists of disc files (sets small enough that the
    # note names each one).
    cases = [(999, 999, MAX_SPARES), (999, 744, MAX_SPARES)]
    cases += [(LISTED_DISCS, count, LISTED_DISCS - count) for count in range(1, LISTED_DISCS + 1)]
    worst = max(
        len(
            render_readme(
                volume_name=volume_file_name(base_name, number),
                number=number,
                count=count,
                set_hex="0" * 32,
                notice=None,
                spares=spares,
            )
        )
        for number, count, spares in cases
    )
    return worst + NOTICE_ALLOWANCE


def disc_bytes(
    volume_size: int,
    *,
    iso: bool,
    redundancy: float | None,
    readme_len: int,
    margin: bool = True,
) -> int:
    """Upper bound on the disc file for a volume file of ``volume_size`` bytes.

    ``redundancy`` None means no recovery data. Without ``margin``, the size
    expected rather than the bound planning fits to the medium.
    """
    size = image_size_bound(volume_size, readme_len, margin=margin) if iso else volume_size
    if redundancy is not None:
        size += recovery.recovery_overhead(size, redundancy)
    return size


def volume_capacity(
    medium: Medium, *, iso: bool, redundancy: float | None, base_name: str = "x" * 60
) -> int:
    """Largest volume file (header included, whole sectors) that fits ``medium``."""
    readme_len = readme_bound(base_name)
    low, high = 0, medium.capacity // SECTOR
    # Binary search over sectors: disc_bytes grows with the volume size.
    while low < high:
        mid = (low + high + 1) // 2
        fits = disc_bytes(mid * SECTOR, iso=iso, redundancy=redundancy, readme_len=readme_len)
        if fits <= medium.capacity:
            low = mid
        else:
            high = mid - 1
    capacity = low * SECTOR
    if capacity < MIN_VOLUME:
        least = smallest_medium(iso=iso, redundancy=redundancy, base_name=base_name)
        kind = "ISO images" if iso else "volume files"
        extra = f"{redundancy:.0%} recovery data" if redundancy else "no recovery data"
        raise UsageError(
            f"medium {medium.name} is too small for {kind} with {extra}: "
            f"a SIZE must be at least {least // 1024:,}KiB for them"
        )
    return capacity


MIN_VOLUME = HEADER_SIZE + 16 * SECTOR
"""The smallest volume file a set is split into: its header and 16 sectors of payload."""


def smallest_medium(*, iso: bool, redundancy: float | None, base_name: str = "x" * 60) -> int:
    """The smallest medium (whole sectors, bytes) that holds a volume of ``MIN_VOLUME``:
    the real minimum of ``--media SIZE`` for these options (the file system,
    README.TXT and the specifications of an image, and recovery data, take room)."""
    readme_len = readme_bound(base_name)
    need = disc_bytes(MIN_VOLUME, iso=iso, redundancy=redundancy, readme_len=readme_len)
    sectors = min(max(-(-need // SECTOR), 1), LARGEST_MEDIUM // SECTOR)
    return max(sectors * SECTOR, MIN_SIZE)


@dataclass(frozen=True)
class DiscPlan:
    """One disc of a planned set."""

    number: int
    payload_bytes: int
    volume_bytes: int
    disc_bytes: int
    fill: float
    spare: bool = False
    """A spare disc (cross-volume parity), numbered after the data discs."""


def plan_discs(
    archive_size: int,
    medium: Medium,
    *,
    iso: bool,
    redundancy: float | None,
    base_name: str,
    spares: int = 0,
    salvage_reserve: int = 0,
) -> list[DiscPlan]:
    """The discs an archive of ``archive_size`` bytes is split into, spares last.

    A spare's payload is as long as the longest data payload, so a spare disc is
    as large as a full data disc: the capacity per volume does not change.
    ``salvage_reserve`` (:func:`.salvage_copy.salvage_reserve`) is kept free in
    every volume for the salvage copy, as ``pack`` does, unless it is too large
    to be worth it (then ``pack`` writes no copy either).
    """
    capacity = volume_capacity(medium, iso=iso, redundancy=redundancy, base_name=base_name)
    per_volume = capacity - HEADER_SIZE
    reserve = -(-salvage_reserve // SECTOR) * SECTOR
    if not reserve_fits(reserve, per_volume):
        reserve = 0
    per_volume -= reserve
    count = max(1, -(-archive_size // per_volume))
    check_spare_count(count, spares)
    readme_len = readme_bound(base_name)
    discs = []
    stripe = min(per_volume, archive_size)
    for number in range(1, count + spares + 1):
        spare = number > count
        payload = stripe if spare else min(per_volume, archive_size - (number - 1) * per_volume)
        volume = (
            HEADER_SIZE + -(-payload // SECTOR) * SECTOR + reserve
            if reserve
            else HEADER_SIZE + payload
        )
        disc = disc_bytes(
            volume, iso=iso, redundancy=redundancy, readme_len=readme_len, margin=False
        )
        discs.append(DiscPlan(number, payload, volume, disc, disc / medium.capacity, spare))
    return discs


def check_spare_count(count: int, spares: int) -> None:
    """Refuse ``count`` data volumes with ``spares`` spares when the set cannot hold them."""
    if not 0 <= spares <= MAX_SPARES:
        raise UsageError(f"{spares} spare discs is out of range: 0 to {MAX_SPARES}")
    if count + spares > MAX_VOLUMES:
        raise UsageError(
            f"the archive needs {count} volumes and {spares} spare(s): at most {MAX_VOLUMES} in all"
        )
    if spares and count + spares > MAX_CODED_VOLUMES:
        raise UsageError(
            f"the archive needs {count} volumes and {spares} spare(s): at most "
            f"{MAX_CODED_VOLUMES} in all with spares (choose a larger medium)"
        )


@dataclass(frozen=True)
class Estimate:
    """What the inputs hold and how big their archive is expected to be."""

    files: int
    entries: int
    content_bytes: int
    sampled_bytes: int
    ratio: float
    archive_bytes: int
    salvage_reserve: int = 0
    """Room ``pack`` keeps in every volume for the salvage copy (header at its largest)."""

    @property
    def overhead_exceeds_input(self) -> bool:
        """True when the archive's fixed overhead is larger than the whole input:
        the archive's size then says nothing about how well the input compresses
        (zstd's own frame makes a 3-byte input "compress" to 400 %)."""
        return self.content_bytes < ARCHIVE_FIXED

    def to_json(self) -> dict[str, Any]:
        """The estimate as a JSON-ready dict."""
        return asdict(self)


def _walk(inputs: list[Path]) -> Iterator[tuple[Path, int]]:
    """(file, size) for every regular file; directories and links count as entries."""
    for root in inputs:
        if not root.exists() and not root.is_symlink():
            raise OperationalError(f"{root}: no such file or directory")
        if root.is_file() and not root.is_symlink():
            yield root, root.stat().st_size
            continue
        yield root, -1
        for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
            dirnames.sort()
            for name in dirnames:
                yield Path(dirpath, name), -1
            for name in sorted(filenames):
                path = Path(dirpath, name)
                is_file = path.is_file() and not path.is_symlink()
                yield path, path.stat().st_size if is_file else -1


def _raise(exc: OSError) -> None:
    raise OperationalError(f"cannot read {exc.filename}: {exc.strerror or exc}")


def estimate_archive(inputs: list[Path], *, compress: bool = True) -> Estimate:
    """Estimate the archive size of ``inputs`` without writing anything.

    With compression, ``SAMPLE_BLOCKS`` blocks spread evenly over the content
    are compressed one by one with zstd level 3; blocks compress worse alone
    than in a stream, so the estimate errs on the large side.
    """
    files: list[tuple[Path, int]] = []
    entries = 0
    names: list[str] = []
    for path, size in _walk(inputs):
        entries += 1
        # The path as given bounds the member name (which drops leading folders).
        names.append(path.as_posix())
        if size >= 0:
            files.append((path, size))
    content = sum(size for _, size in files)
    ratio, sampled = 1.0, 0
    if compress and content:
        ratio, sampled = _sample_ratio(files, content)
    chunks = -(-content // (64 * 1024))
    archive = int(content * ratio) + ARCHIVE_FIXED + entries * ARCHIVE_PER_ENTRY
    archive += chunks * ARCHIVE_PER_CHUNK
    reserve = salvage_reserve(names)
    return Estimate(len(files), entries, content, sampled, ratio, archive, reserve)


def _sample_ratio(files: list[tuple[Path, int]], content: int) -> tuple[float, int]:
    """(compressed / raw, raw bytes compressed): every byte when the content is at
    most ``SAMPLE_BLOCKS`` blocks, else one block at each of ``SAMPLE_BLOCKS``
    evenly spread offsets. Blocks never overlap, so the sample is never larger
    than the content (a 3-byte file is not sampled as 6 bytes)."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    raw = packed = 0
    for path, at in _sample_offsets(files, content):
        try:
            with path.open("rb") as fp:
                fp.seek(at)
                block = fp.read(SAMPLE_BLOCK)
        except OSError as exc:
            raise OperationalError(f"cannot read {path}: {exc.strerror or exc}") from exc
        raw += len(block)
        packed += len(compressor.compress(block))
    return (packed / raw if raw else 1.0), raw


def _sample_offsets(files: list[tuple[Path, int]], content: int) -> Iterator[tuple[Path, int]]:
    """(file, offset) of each block to compress; a block ends at its file's end."""
    if content <= SAMPLE_BLOCKS * SAMPLE_BLOCK:
        for path, size in files:
            yield from ((path, at) for at in range(0, size, SAMPLE_BLOCK))
        return
    step = content // SAMPLE_BLOCKS  # at least SAMPLE_BLOCK: blocks do not overlap
    index, start = 0, 0  # current file, and its offset in the concatenated content
    for target in range(0, step * SAMPLE_BLOCKS, step):
        while start + files[index][1] <= target:
            start += files[index][1]
            index += 1
        yield files[index][0], target - start


def resolve_redundancy(text: str | None) -> float | None:
    """``--redundancy`` as given (None: not given) to a fraction, or None for none."""
    if text is None:
        return float(recovery.DEFAULT_REDUNDANCY)
    return parse_redundancy(text)
