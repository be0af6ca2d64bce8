"""A disc image built around its staged volume (``iso_around``) is byte for byte
the image built by copying the volume into it (``iso.build_image``, the way every
image was made before, and still the fallback): for one and several volumes,
with and without recovery data and a salvage copy, a volume name sorting before
or after README.TXT, a notice, and a plan that does not hold."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from securemedia.media.sizes import SECTOR
from securemedia.media.volumes import VolumeSetWriter

SET_ID = bytes.fromhex("5ec0e0a5e7c0ffee0123456789abcdef")
CAPACITY = 300_000


class _Copying(VolumeSetWriter):
    """Every volume at offset 0 of its staged file: the image is built by a copy."""

    def _planned_front(self, name: str, number: int) -> int:
        return 0


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
) -> tuple[list[bytes], list[int]]:
    directory.mkdir()
    writer = cls(directory / base, CAPACITY, iso=True, redundancy=redundancy, notice=notice)
    writer.set_id = SET_ID
    with writer:
        if salvage:
            assert writer.reserve_salvage(8 * SECTOR)
            writer.salvage_layout(100, len(payload) - 5_000)
        writer.write(payload)
    assert [p.suffix for p in writer.paths] == [".iso"] * len(writer.paths)
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
