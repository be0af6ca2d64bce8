"""Disc images: each fits its medium, real xorriso and 7-Zip read them, damaged ones still open."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from securemedia.media import iso as iso_mod
from securemedia.media.plan import volume_capacity
from securemedia.media.sizes import SECTOR, parse_medium
from securemedia.media.volume_set import is_volume_or_image, open_volume_set, read_volume_info
from securemedia.media.volumes import VolumeSetWriter

MEDIUM = parse_medium("2MB")
NOTICE = "Data Desk, Example Institute\nreturn@example.org"


def make_images(base: Path, data: bytes) -> list[Path]:
    capacity = volume_capacity(MEDIUM, iso=True, redundancy=None, base_name=base.name)
    with VolumeSetWriter(
        base, capacity, iso=True, redundancy=None, notice=NOTICE, disc_capacity=MEDIUM.capacity
    ) as writer:
        writer.write(data)
    return writer.paths


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], bytes]:
    data = os.urandom(4_500_000)
    return make_images(tmp_path_factory.mktemp("iso") / "ship.sm", data), data


def test_images_fit_and_reassemble(images: tuple[list[Path], bytes]) -> None:
    paths, data = images
    assert [p.name for p in paths] == ["ship.sm.001.iso", "ship.sm.002.iso", "ship.sm.003.iso"]
    assert sorted(os.listdir(paths[0].parent)) == [p.name for p in paths]
    for path in paths:
        assert path.stat().st_size <= MEDIUM.capacity
        assert path.stat().st_size % SECTOR == 0
        assert is_volume_or_image(path)
    with open_volume_set([paths[2], paths[0], paths[1]]) as stream:
        assert stream.read() == data


def test_xorriso_reads_images(images: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = images
    image = paths[1]
    listing = subprocess.run(
        ["xorriso", "-indev", str(image), "-ls"], capture_output=True, text=True, check=True
    ).stdout
    assert "'ship.sm.002.smv'" in listing
    assert "'README.TXT'" in listing
    out = tmp_path / "x"
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", str(image), "-extract", "/", str(out)],
        capture_output=True,
        check=True,
    )
    volume = out / "ship.sm.002.smv"
    info = read_volume_info(image)
    raw = image.read_bytes()
    assert volume.read_bytes() == raw[info.offset : info.offset + volume.stat().st_size]
    assert info.header.label() == "volume 2 of 3"
    # Volume files taken off the discs work as well as the images, mixed freely.
    with open_volume_set([volume, paths[0], paths[2]]) as stream:
        assert len(stream.read()) == info.header.archive_length


def test_7zip_reads_images_and_readme(images: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = images
    listing = subprocess.run(
        ["7zz", "l", str(paths[0])], capture_output=True, text=True, check=True
    ).stdout
    assert "ship.sm.001.smv" in listing
    subprocess.run(
        ["7zz", "x", "-y", f"-o{tmp_path}", str(paths[0])], capture_output=True, check=True
    )
    readme = (tmp_path / "README.TXT").read_bytes().decode("utf-8")
    assert "volume 1 of 3" in readme
    assert "encrypted" in readme
    assert "    Data Desk, Example Institute\r\n    return@example.org\r\n" in readme
    assert "securemedia verify" in readme
    set_id = read_volume_info(paths[0]).header.set_hex
    assert f"Set id: {set_id}" in readme
    header = read_volume_info(paths[0]).header
    assert (tmp_path / "ship.sm.001.smv").stat().st_size == header.payload_length + 2048


def test_volume_found_when_file_system_is_destroyed(
    images: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, data = images
    broken = tmp_path / "broken.iso"
    raw = bytearray(paths[0].read_bytes())
    offset = read_volume_info(paths[0]).offset
    raw[16 * SECTOR : offset] = bytes(offset - 16 * SECTOR)  # descriptors, path tables, dirs
    broken.write_bytes(bytes(raw))
    listing = subprocess.run(
        ["xorriso", "-indev", str(broken), "-ls"], capture_output=True, text=True
    ).stdout
    assert "ship.sm.001.smv" not in listing  # xorriso sees an empty, blank image
    assert not iso_mod.is_iso_image(broken.read_bytes()[:40_000])
    # No file system, not even "CD001": only the scan of sector boundaries finds it.
    assert read_volume_info(broken).offset == offset
    with open_volume_set([broken, paths[1], paths[2]]) as stream:
        assert stream.read() == data


def test_udf_beside_iso9660_for_large_volumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Volumes over 4 GiB - 1 get UDF too; lower the threshold so a small
    # volume takes that path and real readers check the result.
    monkeypatch.setattr(iso_mod, "UDF_THRESHOLD", 100_000)
    data = os.urandom(300_000)
    paths = make_images(tmp_path / "big.sm", data)
    assert len(paths) == 1
    assert paths[0].stat().st_size <= MEDIUM.capacity
    listing = subprocess.run(
        ["7zz", "l", str(paths[0])], capture_output=True, text=True, check=True
    ).stdout
    assert "Type = Udf" in listing
    assert "big.sm.001.smv" in listing
    with open_volume_set(paths) as stream:
        assert stream.read() == data
