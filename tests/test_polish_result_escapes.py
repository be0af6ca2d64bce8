"""Result lines on stdout escape what a terminal interprets, as the error line
does: ``verify``, ``repair`` and ``inspect`` print the paths an operator's glob
took from a finder's disc (``securemedia verify /media/cdrom/*``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RunCli, make_archive
from media_support import one_image, zero_bytes
from securemedia.keys import SecretKey
from securemedia.media.sizes import SECTOR

# OSC (set the window title), BEL, the C1 CSI, a right-to-left override.
HOSTILE = "ship\x1b]0;pwned\x07\x9b\u202e"
ESCAPED = "ship\\x1b]0;pwned\\x07\\x9b\\u202e"
INTERPRETED = ("\x1b", "\x07", "\x9b", "\u202e")


def _clean(text: str) -> bool:
    return not any(ch in text for ch in INTERPRETED)


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    """A one-disc image with recovery data, under a name a finder chose."""
    image = one_image(tmp_path)
    return image.rename(tmp_path / f"{HOSTILE}.iso")


def test_verify_escapes_the_volume_name(volume: Path, run_cli: RunCli) -> None:
    result = run_cli("verify", volume.name)
    assert result.code == 0, result.stderr
    assert _clean(result.out)
    assert f"{ESCAPED}.iso: volume 1 of 1: OK" in result.out


def test_verify_of_a_damaged_volume_escapes_it_too(volume: Path, run_cli: RunCli) -> None:
    zero_bytes(volume, 100 * SECTOR, SECTOR)
    result = run_cli("verify", volume.name)
    assert result.code == 4, result.stderr
    assert _clean(result.out) and _clean(result.stderr)
    assert f"{ESCAPED}.iso: volume 1 of 1: damaged:" in result.out


def test_repair_escapes_the_given_and_the_written_name(
    volume: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    intact = run_cli("repair", volume.name, "-o", "intact")
    assert intact.code == 0, intact.stderr
    assert _clean(intact.out)
    assert f"{ESCAPED}.iso: intact, nothing to repair" in intact.out
    zero_bytes(volume, 100 * SECTOR, SECTOR)
    repaired = run_cli("repair", volume.name, "-o", "out")
    assert repaired.code == 0, repaired.stderr
    assert _clean(repaired.out)
    assert f"{ESCAPED}.iso: repaired -> out/{ESCAPED}.iso" in repaired.out
    # The file written keeps its real name: only the display is escaped.
    assert (tmp_path / "out" / volume.name).is_file()


def test_inspect_and_verify_escape_the_archive_name(
    tmp_path: Path, run_cli: RunCli, classic_key: SecretKey
) -> None:
    archive = tmp_path / f"{HOSTILE}.sm"
    archive.write_bytes(make_archive([("a.csv", b"x")], [classic_key.public.recipient()]))
    result = run_cli("inspect", archive.name)
    assert result.code == 0, result.stderr
    assert _clean(result.out)
    assert result.out.startswith(f"{ESCAPED}.sm: securemedia archive")
    keyless = run_cli("verify", archive.name)  # the header only: exit 2 (not checked)
    assert keyless.code == 2, keyless.stderr
    assert _clean(keyless.out) and _clean(keyless.stderr)
    assert keyless.out.startswith(f"{ESCAPED}.sm: securemedia archive")


def test_a_compat_zip_name_is_escaped_by_inspect_and_verify(
    tmp_path: Path, run_cli: RunCli
) -> None:
    pytest.importorskip("pyzipper")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_bytes(b"id\n1\n")
    packed = run_cli(
        "pack", "data", "-o", f"{HOSTILE}.zip", "--format", "zip",
        "--passphrase-out", "ship.pass",
    )  # fmt: skip
    assert packed.code == 0, packed.stderr
    inspected = run_cli("inspect", f"{HOSTILE}.zip")
    assert inspected.code == 0, inspected.stderr
    assert _clean(inspected.out)
    assert inspected.out.startswith(f"{ESCAPED}.zip: securemedia compatibility ZIP")
    passphrase = (tmp_path / "ship.pass").read_text().strip()
    verified = run_cli("verify", "-p", f"{HOSTILE}.zip", env={"SECUREMEDIA_PASSPHRASE": passphrase})
    assert verified.code == 0, verified.stderr
    assert _clean(verified.out)
    assert verified.out.startswith(f"{ESCAPED}.zip: securemedia compatibility ZIP")
