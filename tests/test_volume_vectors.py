"""Volume-set vectors (tests/vectors/volumes/) and the byte-level rules of
docs/MEDIA.md 2.1 and 4.1 that no vector can carry: where a recovery region
starts in a volume file and in a disc image, and CRC32C as the text states it.

See tests/vectors/README.md for the vector format and generate_volumes.py for
how the sets are made."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import google_crc32c
import pytest

from media_support import SRC, cli
from securemedia.errors import MediaError
from securemedia.media.header import HEADER_SIZE, parse_header
from securemedia.media.volume_set import open_volume_set
from securemedia.media.volumes import VolumeSetWriter

VECTORS = Path(__file__).parent / "vectors"
VOLUMES = VECTORS / "volumes"
ALL = sorted(VOLUMES.glob("*.gz"))
SECTOR = 2048


def load(path: Path) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """The vector's header lines (``file`` lines apart) and its files, as given."""
    head, sep, body = gzip.decompress(path.read_bytes()).partition(b"\n\n")
    assert sep, path.name
    lines = [line.split(": ", 1) for line in head.decode().splitlines()]
    assert lines[0][0] == "expect" and lines[-1][0] == "comment", path.name
    fields = {k: v for k, v in lines if k != "file"}
    files: list[tuple[str, bytes]] = []
    at = 0
    for key, value in lines:
        if key == "file":
            name, size = value.rsplit(" ", 1)
            files.append((name, body[at : at + int(size)]))
            at += int(size)
    assert at == len(body) and files, path.name
    return fields, files


def test_the_set_is_complete_and_small() -> None:
    expects = [load(p)[0]["expect"] for p in ALL]
    assert set(expects) == {"opens", "refused"}
    assert expects.count("refused") >= 8
    assert sum(p.stat().st_size for p in ALL) < 200_000


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_vector_through_the_library(path: Path, tmp_path: Path) -> None:
    fields, files = load(path)
    given = []
    for name, data in files:
        (tmp_path / name).write_bytes(data)
        given.append(tmp_path / name)
    if fields["expect"] == "refused":
        with pytest.raises(MediaError, match=fields["error"]):
            open_volume_set(given).close()
        return
    with open_volume_set(given) as stream:
        archive = stream.read()
    assert hashlib.sha256(archive).hexdigest() == fields["sha256"]


@pytest.mark.parametrize("name", ["refused_payload_gap", "refused_header_size_4096"])
def test_vector_through_the_cli(name: str, tmp_path: Path) -> None:
    """``verify`` (keyless) names the refusal and exits 4."""
    fields, files = load(VOLUMES / f"{name}.gz")
    for file_name, data in files:
        (tmp_path / file_name).write_bytes(data)
    result = cli("verify", *(tmp_path / n for n, _ in files))
    assert result.returncode == 4, result.stdout + result.stderr
    assert fields["error"] in result.stdout + result.stderr


def test_regeneration_changes_nothing(tmp_path: Path) -> None:
    """Byte for byte, and the generator's encoder still reproduces the real writer."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    subprocess.run(
        [sys.executable, str(VECTORS / "generate_volumes.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in ALL]
    for path in ALL:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


# -- CRC32C as MEDIA.md 4.1 states it (item 19) ------------------------------------


def crc32c_from_the_text(data: bytes) -> int:
    """Bit by bit from the stated parameters: reflected polynomial 0x82F63B78,
    initial value and final XOR 0xFFFFFFFF, input and output reflected."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_check_value_and_parameters() -> None:
    assert crc32c_from_the_text(b"123456789") == 0xE3069283
    assert google_crc32c.value(b"123456789") == 0xE3069283
    rng = random.Random(19)
    for size in (0, 1, 3, 64, 2044):
        data = rng.randbytes(size)
        assert google_crc32c.value(data) == crc32c_from_the_text(data), size


def test_header_crc_is_stored_little_endian() -> None:
    _, files = load(VOLUMES / "opens_three_volumes.gz")
    header = files[0][1][:HEADER_SIZE]
    crc = crc32c_from_the_text(header[:2044])
    assert header[2044:] == crc.to_bytes(4, "little")
    parse_header(header, "volume 1")
    # The same header with the CRC big-endian is damaged.
    swapped = header[:2044] + crc.to_bytes(4, "big")
    with pytest.raises(MediaError, match="checksum mismatch"):
        parse_header(swapped, "volume 1")


# -- where the recovery region starts (items 16, 17) ---------------------------------


def _descriptor(data: bytes) -> tuple[int, int]:
    """(D, T) from the last sector, a recovery descriptor (MEDIA.md 4.7)."""
    last = data[-SECTOR:]
    assert last[:8] == b"SMRECOV1"
    d, t = struct.unpack_from("<QQ", last, 16)
    return d, t


@pytest.mark.parametrize("payload", [40_000, 4 * SECTOR - HEADER_SIZE])
def test_volume_file_region_starts_at_next_sector(tmp_path: Path, payload: int) -> None:
    """With recovery data, the region starts at the first sector boundary at or
    after header + payload, the gap zero-filled; without, nothing follows."""
    data = random.Random(payload).randbytes(payload)
    for redundancy, name in ((0.15, "with"), (None, "without")):
        writer = VolumeSetWriter(tmp_path / name, 1 << 20, redundancy=redundancy)
        with writer:
            writer.write(data)
        (path,) = writer.paths
        raw = path.read_bytes()
        end = HEADER_SIZE + payload
        if redundancy is None:
            assert len(raw) == end
            continue
        d, t = _descriptor(raw)
        start = -(-end // SECTOR) * SECTOR
        assert d == end and len(raw) == t * SECTOR
        assert raw[end:start] == bytes(start - end)
        # The region's first sector is the data-checksum table's (MEDIA.md 4.3, 4.4).
        assert raw[start : start + 5] == b"SMCK\x00"
        assert raw[start - SECTOR : start - SECTOR + 4] != b"SMCK"
        assert parse_header(raw[:HEADER_SIZE], "v").payload_length == payload


def test_image_volume_space_is_the_protected_image() -> None:
    """In an image, the volume space size x 2048 is the whole protected image; the
    region starts at D (the image as built, whole sectors), not at the volume space."""
    raw = gzip.decompress((VECTORS / "media" / "intact_image.gz").read_bytes())
    image = raw.partition(b"\n\n")[2]
    d, t = _descriptor(image)
    assert d % SECTOR == 0 and d < len(image) == t * SECTOR
    spaces = []
    for n in range(16, 32):
        desc = image[n * SECTOR : (n + 1) * SECTOR]
        if desc[1:6] != b"CD001" or desc[0] == 255:
            break
        if desc[0] in (1, 2):  # primary, Joliet
            little = int.from_bytes(desc[80:84], "little")
            assert little == int.from_bytes(desc[84:88], "big")
            spaces.append(little)
    assert spaces and all(s * SECTOR == len(image) for s in spaces)
