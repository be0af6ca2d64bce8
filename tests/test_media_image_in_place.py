"""A disc image built around its staged volume (``iso_around``), with the
checksums of its sectors taken as the volume was written (``sector_sums``), is
byte for byte the image made the way every image was made before: the volume
copied into it (``iso.build_image``, still the fallback) and every sector read
back for the recovery data. For one and several volumes, with and without
recovery data and a salvage copy, a volume name sorting before or after
README.TXT, a notice, a plan that does not hold, and plain volume files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from securemedia.media.iso import build_image
from securemedia.media.iso_around import build_around, planned_offset
from securemedia.media.readme import render_readme
from securemedia.media.sector_sums import SectorSums
from securemedia.media.sectors import crc32c
from securemedia.media.sizes import SECTOR
from securemedia.media.volumes import VolumeSetWriter

SET_ID = bytes.fromhex("5ec0e0a5e7c0ffee0123456789abcdef")
CAPACITY = 300_000


class _Copying(VolumeSetWriter):
    """As before: every volume at offset 0 of its staged file (the image is
    built by a copy), and no checksums taken as it is written."""

    def _planned_front(self, name: str, number: int) -> int:
        return 0

    def _checksummer(self, number: int) -> SectorSums | None:
        return None


class _Misplanned(VolumeSetWriter):
    """A plan one sector off: finish_disc must notice and copy instead."""

    def _planned_front(self, name: str, number: int) -> int:
        return super()._planned_front(name, number) + SECTOR


def _write(
    cls: type[VolumeSetWriter],
    directory: Path,
    base: str,
    payload: bytes,
    *,
    redundancy: float | None,
    notice: str | None,
    salvage: bool,
    iso: bool = True,
) -> tuple[list[bytes], list[int]]:
    directory.mkdir()
    writer = cls(directory / base, CAPACITY, iso=iso, redundancy=redundancy, notice=notice)
    writer.set_id = SET_ID
    with writer:
        if salvage:
            assert writer.reserve_salvage(8 * SECTOR)
            writer.salvage_layout(100, len(payload) - 5_000)
        writer.write(payload)
    assert [p.suffix for p in writer.paths] == [".iso" if iso else ".smv"] * len(writer.paths)
    return [p.read_bytes() for p in writer.paths], writer._fronts


@pytest.mark.parametrize(
    ("base", "size", "redundancy", "notice", "salvage"),
    [
        ("ship.sm", 50_000, 0.15, None, False),  # one volume, after README.TXT
        ("ship.sm", 700_000, 0.15, None, True),  # three volumes, salvage copies
        ("a.sm", 700_001, None, "Call Ada, +44 20 7946 0000", True),  # before README.TXT
        ("a.sm", 12_345, 0.05, None, False),
    ],
)
def test_image_around_the_volume_equals_the_copied_image(
    tmp_path: Path,
    base: str,
    size: int,
    redundancy: float | None,
    notice: str | None,
    salvage: bool,
) -> None:
    payload = random.Random(size).randbytes(size)
    args = {"redundancy": redundancy, "notice": notice, "salvage": salvage}
    around, fronts = _write(VolumeSetWriter, tmp_path / "around", base, payload, **args)
    copied, none = _write(_Copying, tmp_path / "copied", base, payload, **args)
    misplanned, _ = _write(_Misplanned, tmp_path / "misplanned", base, payload, **args)
    assert all(fronts) and not any(none)  # the two paths were really taken
    assert len(around) == (1 if size < CAPACITY else 3)
    for number, image in enumerate(around):
        assert image == copied[number], f"volume {number + 1}"
        assert image == misplanned[number], f"volume {number + 1}, plan off by a sector"


def test_spare_volumes_keep_the_copy_path(tmp_path: Path) -> None:
    """Spares are computed from the data volume files at offset 0."""
    writer = VolumeSetWriter(tmp_path / "ship.sm", CAPACITY, iso=True, spares=1)
    with writer:
        writer.write(random.Random(1).randbytes(400_000))
    assert writer._fronts == [0, 0]
    assert len(writer.paths) == 3


@pytest.mark.parametrize("salvage", [False, True])
def test_volume_files_checksummed_as_written_equal_the_read_ones(
    tmp_path: Path, salvage: bool
) -> None:
    payload = random.Random(7).randbytes(650_003)
    args = {"redundancy": 0.15, "notice": None, "salvage": salvage, "iso": False}
    fresh, _ = _write(VolumeSetWriter, tmp_path / "fresh", "ship.sm", payload, **args)
    old, _ = _write(_Copying, tmp_path / "old", "ship.sm", payload, **args)
    assert len(fresh) == 3
    assert fresh == old


def test_sector_sums_take_writes_of_any_size(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(9 * SECTOR + 77)
    with (tmp_path / "side").open("w+b") as side:
        sums = SectorSums(side, "side")
        done = 0
        for size in (1, 2046, 1, 5000, SECTOR, 3 * SECTOR + 5, 10_000_000):
            sums.update(memoryview(data)[done : done + size])
            done += size
        staged = sums.finish()
    assert (staged.first, staged.end) == (1, 9)  # after the header, before the partial sector
    want = [crc32c(data[i * SECTOR : (i + 1) * SECTOR]) for i in range(9)]
    with (tmp_path / "side").open("rb") as side:
        # The volume at sector 3 of its disc file: sectors 0-3 and 13 on are read, not known.
        known = staged.reader(side, 3 * SECTOR)(0, 14)
    assert known == [None] * 4 + want[1:9] + [None, None]


@pytest.mark.parametrize("udf", [False, True])
def test_build_around_equals_build_image(tmp_path: Path, udf: bool) -> None:
    """With UDF too (volume files over 4 GiB - 1, too large to write here)."""
    volume = random.Random(5).randbytes(30_001)
    name = "ship.sm.001.smv"
    readme = render_readme(volume_name=name, number=1, count=1, set_hex=SET_ID.hex(), notice=None)
    common = {"volume_name": name, "number": 1, "readme": readme, "set_hex": SET_ID.hex()}
    (tmp_path / name).write_bytes(volume)
    at = build_image(tmp_path / name, tmp_path / "copied.iso", udf=udf, **common)
    front = planned_offset(udf=udf, **common)
    assert front == at
    in_place = tmp_path / "around.iso"
    with in_place.open("xb") as f:
        f.seek(front)
        f.write(volume)
    assert build_around(in_place, front, udf=udf, **common)
    assert in_place.read_bytes() == (tmp_path / "copied.iso").read_bytes()
    # Planned elsewhere: nothing is written, the caller copies instead.
    assert not build_around(in_place, front + SECTOR, udf=udf, **common)
    assert in_place.read_bytes() == (tmp_path / "copied.iso").read_bytes()
