"""End to end: plan, pack --media [--iso], unpack from discs in any order, every mix-up."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from media_support import MEDIUM, cli


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset bigger than the 2MB medium, packed once into ISO images."""
    root = tmp_path_factory.mktemp("ship")
    data = root / "dataset"
    (data / "sub").mkdir(parents=True)
    (data / "a.bin").write_bytes(os.urandom(2_600_000))  # incompressible
    (data / "sub" / "b.bin").write_bytes(os.urandom(1_200_000))
    (data / "sub" / "notes.txt").write_text("rows\n" * 20_000)
    key = root / "key"
    made = cli("keygen", "--no-passphrase", "--classic", "-o", key)
    assert made.returncode == 0, made.stderr
    out = root / "discs"
    out.mkdir()
    packed = cli(
        "pack", data, "-r", f"{key}.pub", "-o", out / "ship.sm", "--media", "2MB", "--iso",
        "--notice-text", "Data Desk, return@example.org", "--json", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    (root / "pack.json").write_text(packed.stdout)
    return {"root": root, "data": data, "key": key, "out": out}


def images(shipment: dict[str, Path]) -> list[Path]:
    return sorted(shipment["out"].glob("ship.sm.*.iso"))


def test_plan_matches_pack(shipment: dict[str, Path]) -> None:
    result = cli("plan", shipment["data"], "--media", "2MB", "--iso", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["estimate"]["files"] == 3
    assert plan["estimate"]["content_bytes"] == 3_900_000
    assert 0.9 < plan["estimate"]["ratio"] <= 1.01  # random data does not compress
    discs = images(shipment)
    # The estimate errs on the large side, by at most one disc here.
    assert len(discs) <= len(plan["discs"]) <= len(discs) + 1
    assert all(d["disc_bytes"] <= MEDIUM.capacity for d in plan["discs"])
    exact = cli("plan", shipment["data"], "--media", "2MB", "--iso", "--no-compress")
    assert exact.returncode == 0
    assert "3,900,000 bytes" in exact.stdout


def test_pack_writes_images_that_fit(shipment: dict[str, Path]) -> None:
    discs = images(shipment)
    report = json.loads((shipment["root"] / "pack.json").read_text())
    assert [Path(v["path"]).name for v in report["volumes"]] == [p.name for p in discs]
    assert len(discs) >= 3
    assert sorted(os.listdir(shipment["out"])) == [p.name for p in discs]
    for disc in discs:
        assert disc.stat().st_size <= MEDIUM.capacity
    listing = subprocess.run(
        ["xorriso", "-indev", str(discs[0]), "-ls"], capture_output=True, text=True, check=True
    ).stdout
    assert "'ship.sm.001.smv'" in listing
    assert "'README.TXT'" in listing


def test_unpack_from_images_in_any_order(shipment: dict[str, Path], tmp_path: Path) -> None:
    discs = images(shipment)
    shuffled = [discs[-1], *discs[:-1]][::-1]
    result = cli("unpack", "-i", shipment["key"], *shuffled, "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "out" / "dataset") == tree(shipment["data"])


def test_verify_with_key_authenticates(shipment: dict[str, Path]) -> None:
    result = cli("verify", "-i", shipment["key"], *images(shipment))
    assert result.returncode == 0, result.stderr
    assert "archive authenticated end to end" in result.stdout


def test_disc_mix_ups(shipment: dict[str, Path], tmp_path: Path) -> None:
    discs = images(shipment)
    count = len(discs)
    dest = tmp_path / "out"

    def unpack(*paths: Path) -> subprocess.CompletedProcess[str]:
        return cli("unpack", "-i", shipment["key"], *paths, "-o", dest, "-q")

    missing = unpack(discs[0], *discs[2:])
    assert missing.returncode == 4
    assert missing.stderr.strip() == f"securemedia: error: volume 2 of {count} is missing"
    twice = unpack(*discs, discs[1])
    assert twice.returncode == 4
    assert f"volume 2 of {count} was given more than once" in twice.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "f").write_bytes(os.urandom(10_000))
    packed = cli(
        "pack", other, "-r", f"{shipment['key']}.pub", "-o", tmp_path / "other.sm",
        "--media", "2MB", "--iso", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    foreign = unpack(*discs[:-1], tmp_path / "other.sm.001.iso")
    assert foreign.returncode == 4
    assert "other.sm.001.iso: volume 1 of 1 belongs to another archive" in foreign.stderr
    assert f"volume {count} of {count} is missing" in foreign.stderr
    for result in (missing, twice, foreign):
        assert len(result.stderr.strip().splitlines()) == 1
    assert not dest.exists()


def test_volume_files_without_iso(tmp_path: Path, shipment: dict[str, Path]) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "x").write_bytes(os.urandom(3_000_000))
    packed = cli(
        "pack", data, "-r", f"{shipment['key']}.pub", "-o", tmp_path / "v.sm",
        "--media", "2MB", "--redundancy", "20%", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    volumes = sorted(tmp_path.glob("v.sm.*"))
    assert [p.name for p in volumes] == ["v.sm.001.smv", "v.sm.002.smv"]
    assert all(p.stat().st_size <= MEDIUM.capacity for p in volumes)
    assert cli("verify", *volumes).returncode == 0
    result = cli("unpack", "-i", shipment["key"], *volumes[::-1], "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "d" / "x").read_bytes() == (data / "x").read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "-", "--media", "2MB"],
        ["-o", "x.sm", "--iso"],
        ["-o", "x.sm", "--media", "floppy"],
        ["-o", "x.sm", "--media", "2MB", "--redundancy", "300%"],
        ["-o", "x.sm", "--media", "2MB", "--iso", "--notice-text", "a", "--notice", "f"],
        ["-o", "x.sm", "--media", "2MB", "--notice-text", "no README without --iso"],
    ],
)
def test_usage_errors(
    args: list[str], shipment: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("pack", shipment["data"], "-r", f"{shipment['key']}.pub", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("securemedia: error: ")
    assert os.listdir(tmp_path) == []
