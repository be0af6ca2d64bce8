"""Heal on the fly: ``unpack`` and ``verify -i`` of damaged images read through their
recovery data, byte-identical to an intact set, and name what is beyond repair."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from media_support import cli
from securemedia.errors import LostDataError
from securemedia.media.sizes import SECTOR
from securemedia.media.volume_set import open_volume_set, read_volume_info


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset over three 2MB images with 15 % recovery data (the default)."""
    root = tmp_path_factory.mktemp("heal")
    data = root / "dataset"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(3_300_000))
    (data / "b.txt").write_text("row\n" * 50_000)
    key = root / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    out = root / "discs"
    out.mkdir()
    packed = cli(
        "pack", data, "-r", f"{key}.pub", "-o", out / "ship.sm", "--media", "2MB", "--iso", "-q"
    )
    assert packed.returncode == 0, packed.stderr
    return {"data": data, "key": key, "out": out}


def copies(shipment: dict[str, Path], where: Path) -> list[Path]:
    where.mkdir()
    found = sorted(shipment["out"].glob("ship.sm.*.iso"))
    assert len(found) >= 3
    return [Path(shutil.copy(p, where / p.name)) for p in found]


def zero_sectors(path: Path, sectors: set[int]) -> None:
    with path.open("r+b") as fp:
        for s in sectors:
            fp.seek(s * SECTOR)
            fp.write(bytes(SECTOR))


def scratch(image: Path, seed: int) -> set[int]:
    """3 % random sectors and a 1 % run over the file-system structures, zeroed as
    ddrescue leaves unreadable sectors (the damage of test_media_verify_repair)."""
    raw = image.read_bytes()
    total = len(raw) // SECTOR
    nonzero = [s for s in range(total) if any(raw[s * SECTOR : (s + 1) * SECTOR])]
    run = set(range(16, 16 + max(1, total // 100)))
    rng = random.Random(seed)
    hit = set(rng.sample([s for s in nonzero if s not in run], k=total * 3 // 100))
    hit |= {s for s in run if any(raw[s * SECTOR : (s + 1) * SECTOR])}
    zero_sectors(image, hit)
    return hit


def payload_sectors(image: Path) -> set[int]:
    info = read_volume_info(image)
    first = info.offset // SECTOR + 1
    return set(range(first, first + -(-info.header.payload_length // SECTOR)))


def test_unpack_heals_damaged_images(shipment: dict[str, Path], tmp_path: Path) -> None:
    discs = copies(shipment, tmp_path / "discs")
    intact_payload = payload_sectors(discs[1])
    hit = scratch(discs[1], seed=7)
    hit0 = {read_volume_info(discs[0]).offset // SECTOR} | set(range(16, 20))
    zero_sectors(discs[0], hit0)  # volume header and file system of disc 1
    rebuilt = len(hit & intact_payload)
    assert rebuilt > 10
    count = len(discs)

    out = tmp_path / "out"
    result = cli("unpack", "-i", shipment["key"], *discs[::-1], "-o", out)
    assert result.returncode == 0, result.stderr
    assert tree(out / "dataset") == tree(shipment["data"])
    assert f"volume 2 of {count}: {rebuilt:,} sectors rebuilt from its recovery data" in (
        result.stderr
    )
    assert f"volume 1 of {count}" not in result.stderr  # its payload was intact

    quiet = cli("unpack", "-i", shipment["key"], *discs, "-o", tmp_path / "q", "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    doc = cli("unpack", "-i", shipment["key"], *discs, "-o", tmp_path / "j", "--json", "-q")
    assert doc.returncode == 0, doc.stderr
    media = json.loads(doc.stdout)["media"]
    assert [v["sectors_healed"] for v in media["volumes"]] == [0, rebuilt] + [0] * (count - 2)
    assert media["missing"] == []


def test_verify_with_key_authenticates_through_the_damage(
    shipment: dict[str, Path], tmp_path: Path
) -> None:
    discs = copies(shipment, tmp_path / "discs")
    scratch(discs[2], seed=11)
    count = len(discs)
    keyless = cli("verify", *discs)
    assert keyless.returncode == 4  # the discs are not intact: a keyless check says so
    assert "(repairable)" in keyless.stdout
    result = cli("verify", "-i", shipment["key"], *discs)
    assert result.returncode == 0, result.stderr
    assert f"volume 3 of {count}: damaged: " in result.stdout  # still named
    assert f"volume 3 of {count}: " in result.stdout
    assert "sectors rebuilt from its recovery data" in result.stdout
    assert "archive authenticated end to end" in result.stdout
    doc = json.loads(cli("verify", "--json", "-i", shipment["key"], *discs).stdout)
    assert doc["authenticated"] is True
    assert doc["ok"] is False  # the discs are damaged, the archive is whole
    assert doc["media"]["volumes"][2]["sectors_healed"] > 0


def test_damage_beyond_repair_names_volume_and_writes_nothing(
    shipment: dict[str, Path], tmp_path: Path
) -> None:
    discs = copies(shipment, tmp_path / "discs")
    total = discs[1].stat().st_size // SECTOR
    zero_sectors(discs[1], set(range(total // 4, total // 4 + total * 2 // 5)))
    count = len(discs)
    dest = tmp_path / "out"
    result = cli("unpack", "-i", shipment["key"], *discs, "-o", dest)
    assert result.returncode == 4
    assert f"volume 2 of {count}: bytes " in result.stderr
    assert "beyond what its recovery data can rebuild" in result.stderr
    assert "Traceback" not in result.stderr
    assert not dest.exists() or list(dest.iterdir()) == []
    check = cli("verify", "-i", shipment["key"], *discs)
    assert check.returncode == 4
    assert f"volume 2 of {count}: bytes " in check.stdout  # the report; stderr points to it


def test_lost_bytes_carry_archive_ranges(shipment: dict[str, Path], tmp_path: Path) -> None:
    discs = copies(shipment, tmp_path / "discs")
    info = read_volume_info(discs[1])
    first = info.offset // SECTOR + 1  # the payload's first sector
    # 400 sectors of the payload from its 10th: far beyond what 15 % parity rebuilds.
    zero_sectors(discs[1], set(range(first + 10, first + 410)))
    with open_volume_set(discs) as stream:
        stream.seek(info.header.payload_offset)
        assert len(stream.read(10 * SECTOR)) == 10 * SECTOR  # still intact
        with pytest.raises(LostDataError) as err:
            stream.read(SECTOR)
    start = info.header.payload_offset + 10 * SECTOR
    assert err.value.ranges[0][0] == start
    assert all(info.header.payload_offset <= a < b for a, b in err.value.ranges)
    assert f"bytes {(first + 10) * SECTOR:,}-" in str(err.value)
