"""Issue 11: inspect, list and verify recognise a compatibility ZIP (by its bytes)
and say what they can check. Every run is the real CLI in a child process."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli

pytest.importorskip("pyzipper")

from securemedia.compat_zip import describe_compat_zip

NAMES = ("quarterly-export", "patients-table.csv", "notes-readme.txt")


@pytest.fixture
def shipped(tmp_path: Path, run_cli: RunCli) -> tuple[Path, dict[str, str]]:
    """A ZIP under a name that does not end in .zip, and the env with its passphrase."""
    root = tmp_path / "quarterly-export"
    root.mkdir()
    (root / "patients-table.csv").write_bytes(b"id,year\n" + b"12345,1970\n" * 5000)
    (root / "notes-readme.txt").write_bytes(b"read me\n")
    result = run_cli(
        "pack", "quarterly-export", "-o", "shipment.bin", "--format", "zip",
        "--passphrase-out", "ship.pass",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    passphrase = (tmp_path / "ship.pass").read_text().strip()
    return tmp_path / "shipment.bin", {"SECUREMEDIA_PASSPHRASE": passphrase}


def _flip_inside_entry(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x40  # inside the encrypted data: the ZIP is tiny around it
    path.write_bytes(bytes(raw))


def test_inspect_says_what_a_finder_sees(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli
) -> None:
    zpath, _ = shipped
    text = run_cli("inspect", zpath.name)
    assert text.code == 0, text.stderr
    assert "securemedia compatibility ZIP (WinZip AES-256, AE-2), deflate" in text.out
    assert "names        hidden" in text.out
    assert "signature    none" in text.out and "recovery     none" in text.out
    for name in NAMES:
        assert name not in text.out
    doc = json.loads(run_cli("inspect", "--json", zpath.name).stdout)
    assert doc["format"] == "zip" and doc["compression"] == "deflate"
    assert doc["names_hidden"] is True and doc["signed"] is False and doc["recovery"] is False
    assert doc["entry"] == "dataset.tar" and doc["archive_bytes"] == zpath.stat().st_size


def test_inspect_of_a_foreign_zip_is_a_format_error(tmp_path: Path, run_cli: RunCli) -> None:
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("holiday.jpg", b"not ours")
    result = run_cli("inspect", "other.zip")
    assert result.code == 4
    assert "not a securemedia compatibility ZIP" in result.stderr


def test_list_needs_the_passphrase_and_then_lists_members(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli, make_keys: object
) -> None:
    zpath, env = shipped
    missing = run_cli("list", zpath.name)
    assert missing.code == 2 and "list -p" in missing.stderr
    wrong_tool = run_cli("list", "-i", "some.key", zpath.name, env=env)
    assert wrong_tool.code == 2 and "-p" in wrong_tool.stderr
    listed = run_cli("list", "-p", zpath.name, env=env)
    assert listed.code == 0, listed.stderr
    lines = listed.out.splitlines()
    assert lines[0].endswith("quarterly-export/")
    assert any(line.endswith("quarterly-export/patients-table.csv") for line in lines)
    assert "not signed" in listed.stderr
    by_file = run_cli("list", "--passphrase-file", "ship.pass", "--json", zpath.name)
    doc = json.loads(by_file.stdout)
    assert doc["format"] == "zip" and doc["signer"] is None
    sizes = {m["path"]: m["size"] for m in doc["members"]}
    assert sizes["quarterly-export/patients-table.csv"] == 8 + 11 * 5000


def test_list_of_a_tampered_zip_shows_no_member(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli
) -> None:
    zpath, env = shipped
    _flip_inside_entry(zpath)
    result = run_cli("list", "-p", zpath.name, env=env)
    assert result.code == 4
    assert result.out == ""


def test_verify_without_passphrase_checks_structure_and_exits_2(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli
) -> None:
    zpath, _ = shipped
    text = run_cli("verify", zpath.name)
    assert text.code == 2
    assert "structure OK" in text.out
    assert "NOT checked" in text.stderr and "verify -p" in text.stderr
    doc = json.loads(run_cli("verify", "--json", zpath.name).stdout)
    assert doc["ok"] is False and doc["authenticated"] is False
    assert any("MAC" in item for item in doc["not_checked"])
    # A changed encrypted byte cannot be seen without the passphrase: still exit 2,
    # never a pass.
    _flip_inside_entry(zpath)
    assert run_cli("verify", zpath.name).code == 2


def test_verify_without_passphrase_finds_a_truncated_zip(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli
) -> None:
    zpath, _ = shipped
    raw = zpath.read_bytes()
    cd = raw.index(b"PK\x01\x02")
    # Cut a stretch of the encrypted data out: the directory now points past it.
    zpath.write_bytes(raw[: cd - 600] + raw[cd:])
    result = run_cli("verify", zpath.name)
    assert result.code == 4, result.stderr


def test_verify_with_passphrase_authenticates_every_byte(
    shipped: tuple[Path, dict[str, str]], run_cli: RunCli
) -> None:
    zpath, env = shipped
    good = run_cli("verify", "-p", zpath.name, env=env)
    assert good.code == 0, good.stderr
    assert "entry authenticated end to end" in good.out and "2 file(s)" in good.out
    doc = json.loads(
        run_cli("verify", "--json", "--passphrase-file", "ship.pass", zpath.name).stdout
    )
    assert doc["ok"] is True and doc["authenticated"] is True and doc["not_checked"] == []
    _flip_inside_entry(zpath)
    bad = run_cli("verify", "-p", zpath.name, env=env)
    assert bad.code == 4
    wrong = run_cli("verify", "-p", zpath.name, env={"SECUREMEDIA_PASSPHRASE": "not-it"})
    assert wrong.code in (3, 4)


def test_verify_p_on_a_native_archive_points_to_i(
    tmp_path: Path, run_cli: RunCli, make_keys: object
) -> None:
    keys: KeyFiles = make_keys("office")  # type: ignore[operator]
    (tmp_path / "f.txt").write_text("x")
    assert run_cli("pack", "f.txt", "-o", "a.sm", "-r", keys.pub_path).code == 0
    result = run_cli("verify", "-p", "a.sm", env={"SECUREMEDIA_PASSPHRASE": "x"})
    assert result.code == 2 and "-i KEYFILE" in result.stderr


def test_pack_no_compress_stores(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "f.txt").write_bytes(b"abc" * 10000)
    result = run_cli(
        "pack", "f.txt", "-o", "s.zip", "--format", "zip", "--passphrase-out", "s.pass",
        "--no-compress", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["compression"] == "stored"
    assert describe_compat_zip(tmp_path / "s.zip").method == "stored"
    listed = run_cli("list", "--passphrase-file", "s.pass", "s.zip")
    assert listed.code == 0 and listed.out.rstrip().endswith("f.txt")
