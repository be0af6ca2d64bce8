"""One sector rebuilt is said in the singular ("1 sector rebuilt"), more in the
plural: the line an operator reads after ``verify -i`` or ``unpack`` of a
scratched disc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from media_support import cli, zero_bytes
from securemedia.media.sizes import SECTOR
from securemedia.media.volume_set import read_volume_info


@pytest.fixture
def shipment(tmp_path: Path) -> tuple[Path, Path]:
    """One 2MB image of a small dataset, and the key that opens it."""
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(300_000))
    key = tmp_path / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    packed = cli(
        "pack", data, "-r", f"{key}.pub", "-o", tmp_path / "ship.sm", "--media", "2MB", "--iso",
        "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    (image,) = sorted(tmp_path.glob("ship.sm.*.iso"))
    return image, key


def _scratch_payload(image: Path, sectors: int) -> None:
    """Zero ``sectors`` sectors in the middle of the volume's payload."""
    info = read_volume_info(image)
    first = info.offset // SECTOR + 1 + info.header.payload_length // SECTOR // 2
    zero_bytes(image, first * SECTOR, sectors * SECTOR)


def test_one_sector_is_said_in_the_singular(shipment: tuple[Path, Path]) -> None:
    image, key = shipment
    _scratch_payload(image, 1)
    result = cli("verify", "-i", key, image)
    assert result.returncode == 0, result.stderr
    assert "volume 1 of 1: 1 sector rebuilt from its recovery data" in result.stdout
    assert "1 sectors" not in result.stdout


def test_two_sectors_are_said_in_the_plural(shipment: tuple[Path, Path]) -> None:
    image, key = shipment
    _scratch_payload(image, 2)
    result = cli("verify", "-i", key, image)
    assert result.returncode == 0, result.stderr
    assert "volume 1 of 1: 2 sectors rebuilt from its recovery data" in result.stdout
