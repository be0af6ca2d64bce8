"""Issue 9, names that deceive: one validator (pack, unpack, the compat ZIP)
refuses what a terminal, a file manager or Windows would read differently, and
no member name ever reaches a terminal raw."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import RawEntry, file_meta, write_raw_archive, zip_around_tar
from conftest import KeyFiles, RunCli
from securemedia.archive.paths import display_name, validate_member_name
from securemedia.errors import UnsafeMemberError

pyzipper = pytest.importorskip("pyzipper")

from securemedia.compat_zip import extract_compat_zip  # noqa: E402

# name -> the words the refusal must contain (the rule it broke).
UNSAFE = {
    "report\u202etxt.exe": "bidirectional control character \\u202e",
    "a\u200eb": "bidirectional control character \\u200e",
    "a\u200fb": "bidirectional control character \\u200f",
    "a\u202ab": "bidirectional control character \\u202a",
    "dir/a\u2066b": "bidirectional control character \\u2066",
    "a\u2069b": "bidirectional control character \\u2069",
    "zero\u200bwidth": "invisible format character \\u200b",
    "soft\u00adhyphen": "invisible format character \\xad",
    "bom\ufeff.csv": "invisible format character \\ufeff",
    "tag\U000e0041.csv": "invisible format character \\U000e0041",
    "line\u2028break": "line or paragraph separator \\u2028",
    "para\u2029break": "line or paragraph separator \\u2029",
    "data/file.csv:hidden": "NTFS alternate data stream",
    "trailing.": "ends with a dot or a space",
    "trailing /x": "ends with a dot or a space",
    "dir./x": "ends with a dot or a space",
    "CONIN$": "reserved device name",
    "sub/conout$.txt": "reserved device name",
    "CLOCK$": "reserved device name",
    "COM\u00b9": "reserved device name",
    "lpt\u00b3.log": "reserved device name",
    "com\u00b2.txt": "reserved device name",
    "CON .txt": "reserved device name",
    "esc\x1b[31mred": "control character \\x1b",
    "c1\x9bcsi": "control character \\x9b",
}

# Odd but honest names: still accepted.
SAFE = [
    "æøå/straße liste.csv",
    ".hidden/.also",
    "name with  spaces.txt",
    "COM10",
    "CONSOLE.txt",
    "com\u2074.txt",  # superscript four is no device
    "a.b.c",
    "日本語/ファイル.csv",
    "emoji-\U0001f600.txt",
    "x" * 255,
]


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_unsafe_names_are_refused_naming_the_rule(name: str) -> None:
    with pytest.raises(UnsafeMemberError) as info:
        validate_member_name(name)
    message = str(info.value)
    assert UNSAFE[name] in message
    assert message.isprintable(), message  # the name is shown escaped


@pytest.mark.parametrize("name", SAFE)
def test_odd_but_safe_names_are_accepted(name: str) -> None:
    assert validate_member_name(name) == name


def test_display_name_escapes_what_a_terminal_interprets() -> None:
    assert display_name("plain æøå 日本.csv") == "plain æøå 日本.csv"
    assert display_name("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert display_name("del\x7f c1\x85") == "del\\x7f c1\\x85"
    assert display_name("rev\u202eexe.txt") == "rev\\u202eexe.txt"
    assert display_name("sep\u2028\u2029") == "sep\\u2028\\u2029"
    assert display_name("nbsp\u00a0x") == "nbsp\\xa0x"
    assert display_name("tag\U000e0001") == "tag\\U000e0001"
    assert display_name("surrogate\udcff") == "surrogate\\udcff"
    # A backslash is doubled, so an escape in the output always means an escape.
    assert display_name("back\\u202e") == "back\\\\u202e"


# -- through the real CLI --------------------------------------------------------------


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def test_pack_refuses_a_deceptive_name_before_writing(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "report\u202etxt.exe").write_bytes(b"MZ")
    result = run_cli("pack", "export", "-o", "-", "-r", key.pub_path, "-q")
    assert result.code == 5, result.stderr  # the input cannot be packed
    assert "\u202e" not in result.stderr
    assert "report\\u202etxt.exe" in result.stderr
    assert "bidirectional control character" in result.stderr
    assert result.stdout == b""


@pytest.mark.parametrize("command", ["list", "unpack"])
def test_list_and_unpack_never_print_a_hostile_name_raw(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, command: str
) -> None:
    archive = tmp_path / "hostile.sm"
    hostile = "invoice\u202efdp.exe"  # shows as "invoiceexe.pdf"
    with archive.open("wb") as sink:
        write_raw_archive(
            sink,
            [key.secret.public.recipient()],
            [RawEntry(file_meta("ok.csv"), b"1\n"), RawEntry(file_meta(hostile), b"MZ")],
        )
    args = ["-o", "dest"] if command == "unpack" else []
    result = run_cli(command, archive, "-i", key.path, *args)
    shown = result.out + result.stderr
    assert "\u202e" not in shown
    assert result.code == 4, shown
    assert "invoice\\u202efdp.exe" in result.stderr
    assert not (tmp_path / "dest").exists()


def test_compat_zip_refuses_a_deceptive_name(tmp_path: Path) -> None:
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("scan\u2066.pdf")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"%P"))
    zpath = tmp_path / "hostile.zip"
    zip_around_tar(zpath, "a passphrase for the test", tar_bytes.getvalue())
    with pytest.raises(UnsafeMemberError, match="bidirectional control character"):
        extract_compat_zip(zpath, "a passphrase for the test", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_list_escapes_look_alike_characters_it_accepts(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    # A no-break space and a private-use character are valid names, but list
    # shows them escaped: the first passes for a plain space, the second for anything.
    export = tmp_path / "export"
    export.mkdir()
    (export / "two\u00a0words.csv").write_bytes(b"1\n")
    (export / "logo\ue000.txt").write_bytes(b"2\n")
    packed = run_cli("pack", "export", "-o", "x.sm", "-r", key.pub_path, "-q")
    assert packed.code == 0, packed.stderr
    result = run_cli("list", "x.sm", "-i", key.path)
    assert result.code == 0, result.stderr
    assert "export/two\\xa0words.csv" in result.out
    assert "export/logo\\ue000.txt" in result.out
    assert "\u00a0" not in result.out and "\ue000" not in result.out
