"""Discs as other tools and people see them: 7-Zip, xorriso, a finder, a recipient.

Real ``7zz`` and ``xorriso`` throughout (issue 11, "the compatibility ZIP and the
other tools"): volume files that 7-Zip does not take for a split archive, images
it opens without a warning, fixed UTC dates, and a README.TXT whose unpack line
works as written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media_support import cli
from securemedia.media import iso as iso_mod
from securemedia.media.disc_names import (
    disc_file_name,
    parse_disc_file_name,
    volume_file_name,
)
from securemedia.media.readme import NO_CONTACT, read_notice, render_readme
from securemedia.media.sizes import SECTOR

NOTICE = "Data Desk, Example Institute\nreturn@example.org"


def sevenzip(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["7zz", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A two-disc set as volume files and as images, packed by the CLI in a far
    time zone (the dates must not show it)."""
    root = tmp_path_factory.mktemp("interop")
    data = root / "dataset"
    data.mkdir()
    (data / "rows.csv").write_bytes(os.urandom(2_000_000))
    key = root / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    far = {"TZ": "Asia/Kathmandu"}  # UTC+05:45: an offset nobody writes by accident
    for kind, extra in (("volumes", ()), ("images", ("--iso", "--notice-text", NOTICE))):
        out = root / kind
        out.mkdir()
        packed = cli(
            "pack", data, "-r", f"{key}.pub", "-o", out / "ship.sm", "--media", "2MB",
            "--no-compress", "-q", *extra, extra_env=far,
        )  # fmt: skip
        assert packed.returncode == 0, packed.stderr
    return {"root": root, "data": data, "key": key}


def files(shipment: dict[str, Path], kind: str) -> list[Path]:
    return sorted((shipment["root"] / kind).iterdir())


# -- names ---------------------------------------------------------------------------


def test_names_sort_glob_and_parse(shipment: dict[str, Path]) -> None:
    volumes = files(shipment, "volumes")
    assert [p.name for p in volumes] == ["ship.sm.001.smv", "ship.sm.002.smv"]
    images = files(shipment, "images")
    assert [p.name for p in images] == ["ship.sm.001.iso", "ship.sm.002.iso"]
    assert sorted(p.name for p in volumes[0].parent.glob("ship.sm.*")) == [p.name for p in volumes]
    assert parse_disc_file_name("ship.sm.002.smv") == ("ship.sm", 2, False)
    assert parse_disc_file_name("a.b.c.123.iso") == ("a.b.c", 123, True)
    assert parse_disc_file_name("ship.sm.002") is None
    assert parse_disc_file_name("ship.sm.02.smv") is None
    assert disc_file_name("x", 7, iso=True) == "x.007.iso"
    assert volume_file_name("x", 7) == "x.007.smv"


def test_7zip_does_not_join_copied_volume_files(shipment: dict[str, Path], tmp_path: Path) -> None:
    copies = tmp_path / "copied"
    copies.mkdir()
    for path in files(shipment, "volumes"):
        shutil.copy(path, copies / path.name)
    listing = sevenzip("l", "ship.sm.001.smv", cwd=copies)
    assert listing.returncode != 0
    assert "Cannot open the file as archive" in listing.stdout + listing.stderr
    assert "Type = Split" not in listing.stdout
    extracted = sevenzip("x", "-y", "ship.sm.001.smv", cwd=copies)
    assert extracted.returncode != 0
    assert sorted(os.listdir(copies)) == ["ship.sm.001.smv", "ship.sm.002.smv"]
    # The old names are what 7-Zip joined (the control: this test can fail).
    (copies / "ship.sm.001.smv").rename(copies / "old.001")
    (copies / "ship.sm.002.smv").rename(copies / "old.002")
    assert "Type = Split" in sevenzip("l", "old.001", cwd=copies).stdout
    # The files as copied are the set, whatever 7-Zip made of them.
    for name in ("001", "002"):
        (copies / f"old.{name}").rename(copies / f"ship.sm.{name}.smv")
    result = cli("unpack", "-i", shipment["key"], *sorted(copies.iterdir()), "-o", tmp_path / "x")
    assert result.returncode == 0, result.stderr
    restored = tmp_path / "x" / "dataset" / "rows.csv"
    assert restored.read_bytes() == (shipment["data"] / "rows.csv").read_bytes()


def test_volume_names_inside_images_keep_the_number() -> None:
    assert iso_mod.iso9660_name("ship.sm.001.smv") == "/SHIP_SM_001.SMV;1"
    long = iso_mod.iso9660_name("a" * 40 + ".sm.012.smv")
    assert long.endswith("_012.SMV;1") and len(long) - len("/;1") <= 30
    joliet = iso_mod.joliet_name("b" * 80 + ".sm.003.smv")
    assert joliet.endswith(".003.smv") and len(joliet) == 1 + 64


# -- images: 7-Zip, xorriso, dates ------------------------------------------------


def test_7zip_opens_images_without_a_warning(shipment: dict[str, Path], tmp_path: Path) -> None:
    for image in files(shipment, "images"):
        listing = sevenzip("l", image)
        assert listing.returncode == 0, listing.stderr
        out = listing.stdout
        assert "Type = Iso" in out
        assert "WARNING" not in out.upper() and "data after the end" not in out
        physical = re.search(r"^Physical Size = (\d+)$", out, re.MULTILINE)
        assert physical is not None and int(physical[1]) == image.stat().st_size
        assert f"{image.name.removesuffix('.iso')}.smv" in out
    # The volume file taken out by 7-Zip is a volume of the set.
    sevenzip("x", "-y", f"-o{tmp_path}", files(shipment, "images")[1])
    assert cli("verify", tmp_path / "ship.sm.002.smv", "--partial").returncode == 0


def test_every_date_is_1980_utc(shipment: dict[str, Path]) -> None:
    image = files(shipment, "images")[0]
    pvd = subprocess.run(
        ["xorriso", "-indev", str(image), "-pvd_info"], capture_output=True, text=True, check=True
    ).stdout
    for label in ("Creation Time", "Modif. Time", "Eff. Time"):
        assert re.search(rf"{label}\s*: 1980010100000000$", pvd, re.MULTILINE), pvd
    listing = sevenzip("l", image).stdout
    dated = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ", listing, re.MULTILINE)
    assert len(dated) >= 5 and set(dated) == {"1980-01-01 00:00:00"}
    raw = image.read_bytes()
    for offset in (16 * SECTOR, 17 * SECTOR):  # primary and Joliet descriptors
        assert raw[offset + 1 : offset + 6] == b"CD001"
        for field in (813, 830, 864):  # creation, modification, effective (ECMA-119 8.4)
            assert raw[offset + field : offset + field + 17] == b"1980010100000000\x00"
    # Every directory record of both trees: 1980-01-01 00:00:00, UTC offset 0.
    records = list(_root_records(raw, 16 * SECTOR)) + list(_root_records(raw, 17 * SECTOR))
    assert len(records) >= 2 * 6
    assert {rec[18:25] for rec in records} == {bytes([80, 1, 1, 0, 0, 0, 0])}


def _root_records(raw: bytes, descriptor: int) -> list[bytes]:
    root = raw[descriptor + 156 : descriptor + 190]
    extent = int.from_bytes(root[2:6], "little") * SECTOR
    length = int.from_bytes(root[10:14], "little")
    block, pos, found = raw[extent : extent + length], 0, []
    while pos < len(block) and block[pos]:
        found.append(block[pos : pos + block[pos]])
        pos += block[pos]
    return found


def test_file_system_spans_the_recovery_region(shipment: dict[str, Path]) -> None:
    """What ``isosize`` or a ``dd`` with the file system's count copies keeps the
    recovery data, and the region still repairs."""
    image = files(shipment, "images")[0]
    with image.open("rb") as fp:
        assert iso_mod.iso_size(fp) == image.stat().st_size
    isosize = shutil.which("isosize") or "/usr/sbin/isosize"  # util-linux
    if Path(isosize).exists():
        told = subprocess.run([isosize, str(image)], capture_output=True, text=True, check=True)
        assert int(told.stdout) == image.stat().st_size
    raw = image.read_bytes()
    assert raw[17 * SECTOR + 80 : 17 * SECTOR + 88] == raw[16 * SECTOR + 80 : 16 * SECTOR + 88]
    result = cli("verify", *files(shipment, "images"))
    assert result.returncode == 0, result.stdout + result.stderr


def _udf_image(tmp_path: Path, volume: Path, name: str) -> bytes:
    readme = render_readme(
        volume_name=volume.name, number=1, count=1, set_hex="ab" * 16, notice=None
    )
    out = tmp_path / name
    iso_mod.build_image(
        volume, out, volume_name=volume.name, number=1, readme=readme, set_hex="ab" * 16, udf=True
    )
    return out.read_bytes()


def test_udf_images_have_fixed_dates_and_no_random_id(tmp_path: Path) -> None:
    """UDF (volume files over 4 GiB) carries dates and a random id of its own."""
    volume = tmp_path / "u.sm.001.smv"
    volume.write_bytes(os.urandom(10_000))
    first = _udf_image(tmp_path, volume, "1.iso")
    time.sleep(1.1)  # a second later: any clock-derived byte would differ
    assert _udf_image(tmp_path, volume, "2.iso") == first
    listing = sevenzip("l", tmp_path / "1.iso").stdout
    assert "Type = Udf" in listing
    dated = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ", listing, re.MULTILINE)
    assert dated and set(dated) == {"1980-01-01 00:00:00"}
    assert b"abababababababab" in first  # the set id, as the volume set id


def test_images_are_byte_reproducible(tmp_path: Path) -> None:
    volume = tmp_path / "r.sm.001.smv"
    volume.write_bytes(os.urandom(20_000))
    readme = render_readme(
        volume_name=volume.name, number=1, count=1, set_hex="cd" * 16, notice=NOTICE
    )
    built = []
    for n in (1, 2):
        if n == 2:
            time.sleep(1.1)
        out = tmp_path / f"{n}.iso"
        iso_mod.build_image(
            volume, out, volume_name=volume.name, number=1, readme=readme, set_hex="cd" * 16
        )
        built.append(out.read_bytes())
    assert built[0] == built[1]


# -- README.TXT --------------------------------------------------------------------


def test_readme_tells_a_finder_and_a_recipient(shipment: dict[str, Path], tmp_path: Path) -> None:
    images = files(shipment, "images")
    sevenzip("x", "-y", f"-o{tmp_path / 'disc1'}", images[0])
    raw = (tmp_path / "disc1" / "README.TXT").read_bytes()
    text = raw.decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert "    Data Desk, Example Institute\r\n    return@example.org\r\n" in text
    assert read_notice(raw) == NOTICE
    assert "pip install securemedia" in text
    assert "1980-01-01 00:00 UTC" in text
    assert "The set has 2 disc(s)" in text
    assert "missing" not in text  # no spares: every disc is needed, none left out
    without_notice = text.replace("Data Desk, Example Institute", "").replace(
        "return@example.org", ""
    )
    assert without_notice.isascii()
    prose = [line for line in text.split("\r\n") if "securemedia unpack" not in line]
    assert max(map(len, prose)) <= 72
    # The recipient copies the volume file off each disc and runs the line as written.
    folder = tmp_path / "folder"
    folder.mkdir()
    for n, image in enumerate(images, 1):
        sevenzip("x", "-y", f"-o{tmp_path / f'disc{n}'}", image)
        shutil.copy(tmp_path / f"disc{n}" / f"ship.sm.00{n}.smv", folder)
    lines = [line.strip() for line in text.split("\r\n") if "securemedia unpack" in line]
    assert lines[0] == (
        "securemedia unpack -i YOUR-KEY-FILE ship.sm.001.smv ship.sm.002.smv -o DESTINATION"
    )
    assert lines[1].endswith("ship.sm.001.iso ship.sm.002.iso -o DESTINATION")
    argv = shlex.split(lines[0])[1:]
    argv[argv.index("YOUR-KEY-FILE")] = str(shipment["key"])
    argv[argv.index("DESTINATION")] = str(tmp_path / "restored")
    result = run_in(folder, argv)
    assert result.returncode == 0, result.stderr
    restored = tmp_path / "restored" / "dataset" / "rows.csv"
    assert restored.read_bytes() == (shipment["data"] / "rows.csv").read_bytes()


def run_in(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``securemedia ARGV`` from this checkout, run in ``folder`` as a recipient would."""
    src = Path(__file__).resolve().parent.parent / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    main = "from securemedia.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", main, *argv], cwd=folder, capture_output=True, text=True, env=env
    )


def test_readme_default_contact_and_large_sets() -> None:
    text = render_readme(
        volume_name="big.sm.003.smv", number=3, count=9, set_hex="0" * 32, notice=None, spares=2
    ).decode("utf-8")
    for line in NO_CONTACT.splitlines():
        assert f"    {line}\r\n" in text
    assert read_notice(text.encode()) is None
    assert "The set has 11 discs, 9 data disc(s) and 2 spare(s):" in text
    assert "any 2 of the 11 may be missing" in text
    assert "securemedia unpack -i YOUR-KEY-FILE big.sm.*.smv -o DESTINATION" in text
    assert "Leave out the file of a disc that is missing." in text
    spare = render_readme(
        volume_name="big.sm.010.smv", number=10, count=9, set_hex="0" * 32, notice=None, spares=2
    ).decode("utf-8")
    assert "one spare volume" in spare
