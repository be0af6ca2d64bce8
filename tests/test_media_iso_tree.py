"""A disc image with a huge directory tree: the volume is found without walking it."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from media_support import cli
from securemedia.media.iso import locate_volume
from securemedia.media.volume_set import read_volume_info
from securemedia.media.volumes import VolumeSetWriter

DIRS = 2_000


class CountingReader(io.RawIOBase):
    """A real file that counts the bytes read from it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f = path.open("rb")
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        got = self._f.readinto(buffer)
        self.bytes_read += got
        return got

    def close(self) -> None:
        self._f.close()
        super().close()


@pytest.fixture(scope="module")
def tree_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """xorriso's image of a volume file in the root beside DIRS directories."""
    work = tmp_path_factory.mktemp("tree")
    stage = work / "stage"
    for i in range(DIRS):
        (stage / "tree" / f"g{i // 100:02d}" / f"d{i:04d}").mkdir(parents=True)
    with VolumeSetWriter(
        work / "ship.sm", 1024 * 1024, iso=False, redundancy=None, disc_capacity=None
    ) as writer:
        writer.write(os.urandom(50_000))
    volume = stage / "ship.sm.001.smv"
    os.replace(writer.paths[0], volume)
    image = work / "tree.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-J", "-r", "-o", str(image), str(stage)],
        check=True,
        capture_output=True,
    )
    return image, volume


def test_volume_found_in_a_big_tree(tree_image: tuple[Path, Path]) -> None:
    image, volume = tree_image
    info = read_volume_info(image)
    assert info.image and info.header.number == 1
    with image.open("rb") as fp:
        fp.seek(info.offset)
        assert fp.read(volume.stat().st_size) == volume.read_bytes()
    result = cli("verify", image)
    assert result.returncode == 0, result.stderr
    assert "volume 1 of 1: OK" in result.stdout


def test_locating_reads_the_root_directory_only(tree_image: tuple[Path, Path]) -> None:
    image, _ = tree_image
    with CountingReader(image) as raw:
        assert locate_volume(raw) is not None  # type: ignore[arg-type]
        # The descriptor, the root directory and one header: not the 2,000
        # directory extents (4 MB) a full parse reads.
        assert raw.bytes_read < 64 * 1024, raw.bytes_read
