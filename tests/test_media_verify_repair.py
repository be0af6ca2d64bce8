"""``verify`` and ``repair`` on real images: damage found by volume and range, then repaired."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from media_support import MEDIUM, cli
from securemedia.media import recovery
from securemedia.media.plan import volume_capacity
from securemedia.media.sizes import SECTOR
from securemedia.media.volume_set import open_volume_set, read_volume_info
from securemedia.media.volumes import VolumeSetWriter


def make_set(base: Path, data: bytes, *, iso: bool) -> list[Path]:
    capacity = volume_capacity(MEDIUM, iso=iso, redundancy=0.15, base_name=base.name)
    with VolumeSetWriter(
        base, capacity, iso=iso, redundancy=0.15, disc_capacity=MEDIUM.capacity
    ) as writer:
        writer.write(data)
    return writer.paths


@pytest.fixture(scope="module")
def discs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], bytes]:
    data = os.urandom(3_500_000)
    return make_set(tmp_path_factory.mktemp("discs") / "ship.sm", data, iso=True), data


def zero_sectors(path: Path, sectors: set[int]) -> None:
    with path.open("r+b") as fp:
        for s in sectors:
            fp.seek(s * SECTOR)
            fp.write(bytes(SECTOR))


def damaged_sectors(ranges: list[list[int]]) -> set[int]:
    return {s for start, end in ranges for s in range(start // SECTOR, end // SECTOR)}


def scratch(image: Path, seed: int) -> set[int]:
    """3% random sectors plus one run of 1% over the file-system structures, as a drive
    that returns read errors would leave them in a ddrescue copy (zeros)."""
    raw = image.read_bytes()
    total = len(raw) // SECTOR
    nonzero = [s for s in range(total) if any(raw[s * SECTOR : (s + 1) * SECTOR])]
    run = set(range(16, 16 + max(1, total // 100)))  # volume descriptors, path tables
    rng = random.Random(seed)
    hit = set(rng.sample([s for s in nonzero if s not in run], k=total * 3 // 100))
    hit |= {s for s in run if any(raw[s * SECTOR : (s + 1) * SECTOR])}
    zero_sectors(image, hit)
    return hit


def test_sets_fit_their_medium_with_recovery(discs: tuple[list[Path], bytes]) -> None:
    paths, data = discs
    assert len(paths) >= 3
    assert all(p.stat().st_size <= MEDIUM.capacity for p in paths)
    with open_volume_set(paths[::-1]) as stream:
        assert stream.read() == data


def test_verify_passes_intact_discs(discs: tuple[list[Path], bytes]) -> None:
    paths, _ = discs
    result = cli("verify", "--json", *paths)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [v["volume"] for v in doc["volumes"]] == list(range(1, len(paths) + 1))
    assert all(v["recovery"] and v["damaged_ranges"] == [] for v in doc["volumes"])
    human = cli("verify", *paths)
    assert human.returncode == 0
    assert f"volume 2 of {len(paths)}: OK" in human.stdout


def test_damage_found_and_repaired(discs: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, data = discs
    damaged = tmp_path / "in" / paths[1].name
    damaged.parent.mkdir()
    damaged.write_bytes(paths[1].read_bytes())
    hit = scratch(damaged, seed=4)
    # The file system is gone for xorriso, yet the volume is still found.
    result = cli("verify", "--json", paths[0], damaged, *paths[2:])
    assert result.returncode == 4
    doc = json.loads(result.stdout)
    entry = doc["volumes"][1]
    assert entry["volume"] == 2
    assert entry["repairable"] is True
    assert damaged_sectors(entry["damaged_ranges"]) == hit
    assert "volume 2 of" in result.stderr
    human = cli("verify", damaged)
    assert human.returncode == 4
    assert f"{damaged}: volume 2 of {len(paths)}: damaged: " in human.stdout
    assert "(repairable)" in human.stdout

    out = tmp_path / "fixed"
    repaired = cli("repair", damaged, "-o", out)
    assert repaired.returncode == 0, repaired.stderr
    assert (out / damaged.name).read_bytes() == paths[1].read_bytes()
    assert os.listdir(out) == [damaged.name]
    fixed = [paths[0], out / damaged.name, *paths[2:]]
    assert cli("verify", *fixed).returncode == 0
    with open_volume_set(fixed) as stream:
        assert stream.read() == data


def test_volume_header_damage_still_named(discs: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = discs
    damaged = tmp_path / paths[0].name
    damaged.write_bytes(paths[0].read_bytes())
    zero_sectors(damaged, {read_volume_info(paths[0]).offset // SECTOR})
    doc = json.loads(cli("verify", "--json", damaged).stdout)
    assert doc["volumes"][0]["volume"] == 1
    assert doc["volumes"][0]["repairable"] is True


def test_beyond_redundancy_is_unrepairable(discs: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = discs
    damaged = tmp_path / paths[0].name
    damaged.write_bytes(paths[0].read_bytes())
    total = damaged.stat().st_size // SECTOR
    zero_sectors(damaged, set(range(total // 4, total // 4 + total * 2 // 5)))
    result = cli("verify", "--json", damaged)
    assert result.returncode == 4
    assert json.loads(result.stdout)["volumes"][0]["repairable"] is False
    out = tmp_path / "fixed"
    repaired = cli("repair", damaged, "-o", out)
    assert repaired.returncode == 4
    assert "unrepairable" in repaired.stderr
    assert list(out.iterdir()) == []


def test_verify_names_missing_and_foreign(discs: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = discs
    count = len(paths)
    result = cli("verify", paths[0], *paths[2:])
    assert result.returncode == 4
    assert f"volume 2 of {count} is missing" in result.stdout + result.stderr
    other = make_set(tmp_path / "other.sm", os.urandom(100_000), iso=False)
    result = cli("verify", "--json", *paths, other[0])
    assert result.returncode == 4
    problems = json.loads(result.stdout)["set_problems"]
    assert any("other.sm.001.smv: volume 1 of 1 belongs to another archive" in p for p in problems)


def test_protected_volume_files_without_iso(tmp_path: Path) -> None:
    data = os.urandom(2_500_000)
    paths = make_set(tmp_path / "plain.sm", data, iso=False)
    assert [p.name for p in paths] == ["plain.sm.001.smv", "plain.sm.002.smv"]
    assert all(p.stat().st_size <= MEDIUM.capacity for p in paths)
    with open_volume_set(paths) as stream:  # the recovery region is not archive data
        assert stream.read() == data
    assert cli("verify", *paths).returncode == 0
    zero_sectors(paths[1], {3, 4, 5, 40})
    result = cli("verify", *paths)
    assert result.returncode == 4
    expected = (
        "volume 2 of 2: damaged: 8,192 bytes in 2 range(s): bytes 6,144-12,287, 81,920-83,967"
    )
    assert f"{expected} (repairable)" in result.stdout
    # Said once: the report names the damage, the error line only points to it.
    assert "damaged" not in result.stderr
    assert result.stderr.startswith("securemedia: error: ") and result.stderr.count("\n") == 1


def test_lost_recovery_region_is_not_mistaken_for_none(
    discs: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, _ = discs
    image = paths[0]
    with image.open("rb") as fp:
        fp.seek(16 * SECTOR + 80)
        iso_bytes = int.from_bytes(fp.read(4), "little") * SECTOR
    # The file system's space covers the recovery region (MEDIA.md section 3).
    assert iso_bytes == image.stat().st_size
    # A burn or read-back that stopped where the files end.
    short = tmp_path / "short.iso"
    short.write_bytes(image.read_bytes()[: recovery.protected_data_size(image)])
    result = cli("verify", short)
    assert result.returncode == 4
    assert "volume 1 of" in result.stdout
    assert f"truncated: {short.stat().st_size:,} bytes" in result.stdout
    # Without a file system to tell the length, the region is just missing.
    raw = bytearray(short.read_bytes())
    raw[16 * SECTOR : 17 * SECTOR] = bytes(SECTOR)
    short.write_bytes(bytes(raw))
    result = cli("verify", short)
    assert result.returncode == 4
    assert "recovery data is missing or unreadable" in result.stdout
    # One that stopped inside the file system's own span.
    shorter = tmp_path / "shorter.iso"
    shorter.write_bytes(image.read_bytes()[: iso_bytes // 2])
    result = cli("verify", shorter)
    assert result.returncode == 4
    assert "truncated" in result.stdout


def test_unprotected_files_only_warn(discs: tuple[list[Path], bytes], tmp_path: Path) -> None:
    paths, _ = discs
    subprocess.run(
        [
            "xorriso",
            "-osirrox",
            "on",
            "-indev",
            str(paths[0]),
            "-extract",
            "/",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        check=True,
    )
    result = cli("verify", tmp_path / "x" / "ship.sm.001.smv")
    assert result.returncode == 4  # one volume of a set of three, the others missing
    result = cli("verify", "--partial", tmp_path / "x" / "ship.sm.001.smv")
    assert result.returncode == 0, result.stderr
    assert "taken off its disc: check the whole disc image instead" in result.stdout
    capacity = volume_capacity(MEDIUM, iso=True, redundancy=None, base_name="bare")
    with VolumeSetWriter(tmp_path / "bare", capacity, iso=True, redundancy=None) as writer:
        writer.write(os.urandom(10_000))
    result = cli("verify", *writer.paths)
    assert result.returncode == 0, result.stderr
    assert "written without recovery data" in result.stdout
