"""Issue 11, damage that points to the fix: ``unpack`` of a disc healed on the
fly, of one damaged beyond its recovery data, of a plain archive and of a set
without recovery data; ``repair`` of an intact image and of a plain archive.
Real discs made by the real CLI; each message is followed to check it helps."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import run_cli_in
from media_support import copy_contents, zero_bytes
from securemedia.keys import SecretKey
from securemedia.media.sizes import SECTOR

SMALL = b"id,value\n1,2\n"


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a key, an export, its two-disc ISO set (15 % recovery
    data), the same set without recovery data, and a plain archive."""
    root = tmp_path_factory.mktemp("shipment")
    SecretKey.generate(classic=True).save(root / "office.key", None)
    export = root / "export"
    export.mkdir()
    # The small member is last, in the last STREAM chunk, on disc 2: damage to
    # disc 1 costs the large one only.
    (export / "a.bin").write_bytes(os.urandom(2_200_000))
    (export / "z.csv").write_bytes(SMALL)
    for args in (
        ["-o", "iso/ship.sm", "--media", "2MB", "--iso"],
        ["-o", "bare/ship.sm", "--media", "2MB", "--redundancy", "0"],
        ["-o", "plain.sm"],
    ):
        Path(root, args[1]).parent.mkdir(exist_ok=True)
        result = run_cli_in(root, "pack", "export", "-r", "office.key.pub", "-q", *args)
        assert result.code == 0, result.stderr
    assert sorted(p.name for p in (root / "iso").iterdir()) == [
        "ship.sm.001.iso",
        "ship.sm.002.iso",
    ]
    return root


@pytest.fixture
def work(shipment: Path, tmp_path: Path) -> Path:
    return copy_contents(shipment, tmp_path)


def test_unpack_of_a_healed_disc_names_it_and_how_to_get_a_clean_copy(work: Path) -> None:
    disc = work / "iso" / "ship.sm.001.iso"
    original = (work / "iso" / "ship.sm.001.iso").read_bytes()
    zero_bytes(disc, 600 * 1024, 3 * SECTOR)
    result = run_cli_in(work, "unpack", "-i", "office.key", "iso/ship.sm.001.iso",
                        "iso/ship.sm.002.iso", "-o", "out")  # fmt: skip
    assert result.code == 0, result.stderr
    said = result.out + result.stderr  # messages: stderr today, either is fine
    assert "iso/ship.sm.001.iso (volume 1 of 2) is damaged" in said
    assert "securemedia repair iso/ship.sm.001.iso -o DIR" in said
    assert "ship.sm.002.iso" not in said  # the intact disc is not named
    assert (work / "out" / "export" / "z.csv").read_bytes() == SMALL
    # Following the advice gives the disc as it was burned.
    fixed = run_cli_in(work, "repair", "iso/ship.sm.001.iso", "-o", "fixed")
    assert fixed.code == 0, fixed.stderr
    assert (work / "fixed" / "ship.sm.001.iso").read_bytes() == original


def test_unpack_beyond_recovery_names_the_disc_where_and_what_to_run(work: Path) -> None:
    discs = ["iso/ship.sm.001.iso", "iso/ship.sm.002.iso"]
    zero_bytes(work / discs[0], 400 * 1024, 600 * 1024)
    result = run_cli_in(work, "unpack", "-i", "office.key", *discs, "-o", "out")
    assert result.code == 4
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith("securemedia: error: iso/ship.sm.001.iso: volume 1 of 2: bytes ")
    assert "damaged beyond what its recovery data can rebuild" in line
    assert "another copy" in line
    salvage = f"securemedia unpack --salvage -i KEYFILE {' '.join(discs)} -o DIR"
    assert salvage in line
    assert not (work / "out").exists()
    # Following the advice restores the member the damage does not touch.
    args = salvage.removeprefix("securemedia ").replace("KEYFILE", "office.key")
    salvaged = run_cli_in(work, *args.replace("DIR", "saved").split())
    assert salvaged.code == 4  # a.bin is lost, and says so
    assert (work / "saved" / "export" / "z.csv").read_bytes() == SMALL
    assert "lost: export/a.bin" in salvaged.out + salvaged.stderr
    # repair says the same, and writes nothing.
    repair = run_cli_in(work, "repair", discs[0], "-o", "fixed")
    assert repair.code == 4
    assert "NOT repaired" in repair.out + repair.stderr
    assert "another copy" in repair.out + repair.stderr
    assert not (work / "fixed").exists() or not list((work / "fixed").iterdir())


def test_unpack_of_a_damaged_plain_archive_says_it_has_no_recovery_data(work: Path) -> None:
    zero_bytes(work / "plain.sm", 600 * 1024, 2 * SECTOR)
    result = run_cli_in(work, "unpack", "-i", "office.key", "plain.sm", "-o", "out")
    assert result.code == 4
    assert "archive failed authentication" in result.stderr  # the one message, kept
    assert "it carries no recovery data" in result.stderr
    assert "securemedia unpack --salvage -i KEYFILE plain.sm -o DIR" in result.stderr
    piped = run_cli_in(work, "unpack", "-i", "office.key", "-", "-o", "out",
                       stdin=(work / "plain.sm").read_bytes())  # fmt: skip
    assert piped.code == 4 and "save it to a file" in piped.stderr


def test_unpack_of_a_damaged_set_without_recovery_data(work: Path) -> None:
    zero_bytes(work / "bare" / "ship.sm.001.smv", 600 * 1024, 2 * SECTOR)
    result = run_cli_in(work, "unpack", "-i", "office.key", "bare/ship.sm.001.smv",
                        "bare/ship.sm.002.smv", "-o", "out")  # fmt: skip
    assert result.code == 4
    assert "its discs carry no recovery data" in result.stderr
    assert "--salvage -i KEYFILE bare/ship.sm.001.smv bare/ship.sm.002.smv -o DIR" in result.stderr


def test_repair_of_an_intact_image_writes_nothing(work: Path) -> None:
    result = run_cli_in(work, "repair", "iso/ship.sm.002.iso", "-o", "fixed")
    assert result.code == 0, result.stderr
    said = (result.out + result.stderr).strip()
    assert said == "iso/ship.sm.002.iso: intact, nothing to repair (nothing written)"
    assert not (work / "fixed").exists()
    (work / "kept").mkdir()
    again = run_cli_in(work, "repair", "iso/ship.sm.002.iso", "-o", "kept", "--json")
    assert again.code == 0 and '"intact": true' in again.out
    assert list((work / "kept").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("plain.sm", "plain.sm: a securemedia archive packed without --media, so without "
         "recovery data: repair has nothing to rebuild it from"),
        ("bare/ship.sm.001.smv",
         "bare/ship.sm.001.smv: volume 1 of 2, written without recovery data"),
    ],
)  # fmt: skip
def test_repair_of_a_file_without_recovery_data_says_what_it_is(
    work: Path, name: str, said: str
) -> None:
    result = run_cli_in(work, "repair", name, "-o", "fixed")
    assert result.code == 2
    assert said in result.stderr
    assert "descriptor" not in result.stderr + result.out  # no jargon
    assert "verify" in result.stderr
    assert not (work / "fixed").exists() or not list((work / "fixed").iterdir())


def test_an_altered_set_with_recovery_data_is_not_called_repairable(
    shipment: Path, tmp_path: Path
) -> None:
    """Bytes changed and the recovery data made anew to match (what a forger
    does): every sector checks, authentication fails, and the advice says so."""
    from securemedia.media.recovery import protect_file, protected_data_size

    root = tmp_path / "w"
    root.mkdir()
    shutil.copy(shipment / "office.key", root / "office.key")
    made = run_cli_in(shipment, "pack", "export", "-r", "office.key.pub", "-q",
                      "-o", str(root / "ship.sm"), "--media", "2MB")  # fmt: skip
    assert made.code == 0, made.stderr
    volume = root / "ship.sm.002.smv"
    data = bytearray(volume.read_bytes()[: protected_data_size(volume)])
    data[len(data) // 2] ^= 1
    volume.write_bytes(bytes(data))
    protect_file(volume, 0.15)
    result = run_cli_in(root, "unpack", "-i", "office.key", "ship.sm.001.smv", "ship.sm.002.smv",
                        "-o", "out")  # fmt: skip
    assert result.code == 4
    assert "archive failed authentication" in result.stderr
    assert "every sector read matched its checksum" in result.stderr
    assert "another copy" in result.stderr
    assert "unpack --salvage -i KEYFILE ship.sm.001.smv ship.sm.002.smv -o DIR" in result.stderr


def test_repair_copies_intact_discs_only_to_complete_a_rebuilt_set(
    shipment: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "ship.sm")
    made = run_cli_in(shipment, "pack", "export", "-r", "office.key.pub", "-q", "-o", out,
                      "--media", "2MB", "--spare-discs", "1")  # fmt: skip
    assert made.code == 0, made.stderr
    discs = sorted(p.name for p in tmp_path.glob("ship.sm.*"))
    assert discs == ["ship.sm.001.smv", "ship.sm.002.smv", "ship.sm.003.smv"]
    result = run_cli_in(tmp_path, "repair", "ship.sm.001.smv", "ship.sm.003.smv", "-o", "set")
    assert result.code == 0, result.stderr
    said = result.out + result.stderr
    assert "ship.sm.001.smv: intact, copied -> set/ship.sm.001.smv" in said
    assert "repaired" not in said
    assert "volume 2 of 2: rebuilt from the other volumes -> set/ship.sm.002.smv" in said
    for name in discs:
        assert (tmp_path / "set" / name).read_bytes() == (tmp_path / name).read_bytes()
