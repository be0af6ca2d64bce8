"""Issue 11, round 2: what a new export officer and the receiving office met
when walking through the README on a fresh terminal, each through the real CLI.

- keygen says where received .pub files go for fingerprint lookup;
- pack given one key twice (its file and its fingerprint) writes one stanza;
- repair of one damaged disc of a set with spare discs (unpack's advice) works;
- list of a damaged set names the disc and the repair, as unpack does;
- list and verify -i failing authentication give unpack's damage advice;
- "already exists" says the same thing (use --force to overwrite) everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_cli_in
from media_support import copy_contents, zero_bytes
from securemedia.keys import PublicKey, SecretKey
from securemedia.media.volume_set import read_volume_info


@pytest.fixture(scope="module")
def shipment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key directory holding the office's .pub, an export, a two-disc ISO set
    with one spare disc, and a plain archive."""
    root = tmp_path_factory.mktemp("walk")
    SecretKey.generate(classic=True).save(root / "office.key", None)
    (root / "keys").mkdir()
    shutil.copy(root / "office.key.pub", root / "keys" / "office.key.pub")
    export = root / "export"
    export.mkdir()
    (export / "a.bin").write_bytes(os.urandom(2_200_000))
    (export / "z.csv").write_bytes(b"id,value\n1,2\n")
    (root / "iso").mkdir()
    for args in (
        ["-o", "iso/ship.sm", "--media", "2MB", "--iso", "--spare-discs", "1"],
        ["-o", "plain.sm"],
    ):
        result = run_cli_in(root, "pack", "export", "-r", "office.key.pub", "-q", *args)
        assert result.code == 0, result.stderr
    assert sorted(p.name for p in (root / "iso").iterdir()) == [
        "ship.sm.001.iso",
        "ship.sm.002.iso",
        "ship.sm.003.iso",
    ]
    return root


@pytest.fixture
def work(shipment: Path, tmp_path: Path) -> Path:
    return copy_contents(shipment, tmp_path)


def test_keygen_says_where_received_public_keys_go(tmp_path: Path) -> None:
    keys = tmp_path / "received-keys"
    env = {"SECUREMEDIA_KEYS": str(keys)}
    result = run_cli_in(tmp_path, "keygen", "-o", "me.key", "--no-passphrase", env=env)
    assert result.code == 0, result.stderr
    assert f"put the .pub files you receive in {keys}" in result.stderr
    as_json = run_cli_in(tmp_path, "keygen", "-o", "me2.key", "--no-passphrase", "--json", env=env)
    assert json.loads(as_json.out)["key_directory"] == str(keys)
    quiet = run_cli_in(tmp_path, "keygen", "-o", "me3.key", "--no-passphrase", "-q", env=env)
    assert quiet.stderr == ""


def test_one_key_given_twice_is_one_recipient(work: Path) -> None:
    text = (work / "office.key.pub").read_text()
    line = next(row for row in text.splitlines() if row.startswith("smpub1-"))
    fingerprint = PublicKey.from_line(line).fingerprint
    env = {"SECUREMEDIA_KEYS": str(work / "keys")}
    result = run_cli_in(
        work,
        "pack",
        "export",
        "-o",
        "twice.sm",
        *("-r", "office.key.pub", "-r", fingerprint, "-r", line),
        env=env,
    )
    assert result.code == 0, result.stderr
    assert result.stderr.count(fingerprint) == 1, result.stderr
    inspected = run_cli_in(work, "inspect", "twice.sm", "--json")
    assert len(json.loads(inspected.out)["recipients"]) == 1, inspected.out
    opened = run_cli_in(work, "list", "twice.sm", "-i", "office.key")
    assert opened.code == 0, opened.stderr


def test_repair_of_one_damaged_disc_of_a_set_with_spares(work: Path) -> None:
    disc = work / "iso" / "ship.sm.001.iso"
    zero_bytes(disc, 900_000, 5000)
    unpacked = run_cli_in(
        work, "unpack", *sorted((work / "iso").iterdir()), "-i", "office.key", "-o", "out"
    )
    assert unpacked.code == 0, unpacked.stderr
    advice = f"securemedia repair {disc} -o DIR"
    assert advice in unpacked.stderr
    # Follow the advice to the letter: the one damaged disc, alone.
    repaired = run_cli_in(work, "repair", str(disc), "-o", "fixed")
    assert repaired.code == 0, repaired.stderr
    assert "repaired ->" in repaired.out
    original = work / "iso"
    assert (work / "fixed" / disc.name).stat().st_size == disc.stat().st_size
    checked = run_cli_in(
        work,
        "verify",
        work / "fixed" / disc.name,
        original / "ship.sm.002.iso",
        original / "ship.sm.003.iso",
    )
    assert checked.code == 0, checked.out + checked.stderr


def test_list_of_a_damaged_set_names_the_disc_and_the_repair(work: Path) -> None:
    disc = work / "iso" / "ship.sm.002.iso"
    # Near the end of the last disc's payload: the index, which list reads.
    found = read_volume_info(disc)
    zero_bytes(disc, found.offset + int(found.header.payload_length * 0.97), 4096)
    result = run_cli_in(work, "list", *sorted((work / "iso").iterdir()), "-i", "office.key")
    assert result.code == 0, result.stderr
    assert f"{disc} (volume 2 of 2) is damaged" in result.stderr
    assert f"securemedia repair {disc} -o DIR" in result.stderr
    # --json: the same facts in the document, as unpack --json gives them.
    as_json = run_cli_in(
        work, "list", *sorted((work / "iso").iterdir()), "-i", "office.key", "--json"
    )
    assert as_json.code == 0, as_json.stderr
    volumes = json.loads(as_json.out)["media"]["volumes"]
    assert [v["sectors_healed"] > 0 for v in volumes] == [False, True, False]


def _tamper_plain(path: Path) -> None:
    """One bit flipped in the last chunk (the index), which list reads too."""
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [["list", "-i", "office.key"], ["verify", "-i", "office.key"]])
def test_failed_authentication_gives_unpacks_advice(work: Path, command: list[str]) -> None:
    _tamper_plain(work / "plain.sm")
    result = run_cli_in(work, *command, "plain.sm")
    unpacked = run_cli_in(work, "unpack", "plain.sm", "-i", "office.key", "-o", "out")
    assert result.code == unpacked.code == 4, result.stderr
    advice = "restore every intact member with: securemedia unpack --salvage -i KEYFILE plain.sm"
    assert advice in unpacked.stderr
    assert advice in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_existing_output_is_worded_once_for_every_command(work: Path) -> None:
    (work / "fixed").mkdir()
    shutil.copy(work / "iso" / "ship.sm.001.iso", work / "fixed" / "ship.sm.001.iso")
    runs = {
        "keygen": run_cli_in(work, "keygen", "-o", "office.key", "--no-passphrase"),
        "pack": run_cli_in(work, "pack", "export", "-o", "plain.sm", "-r", "office.key.pub"),
        "repair": run_cli_in(work, "repair", "iso/ship.sm.001.iso", "-o", "fixed"),
    }
    for name, result in runs.items():
        assert result.code == 1, (name, result.stderr)
        assert result.stderr.rstrip().endswith("already exists (use --force to overwrite)"), (
            name,
            result.stderr,
        )


def test_pack_and_plan_describe_their_disc_options_alike(tmp_path: Path) -> None:
    """plan answers for pack: the same option, the same words (and the default)."""
    texts = {}
    for command in ("pack", "plan"):
        result = run_cli_in(tmp_path, command, "--help")
        assert result.code == 0, result.stderr
        texts[command] = " ".join(result.out.split())
    for said in (
        "cd, cd74, dvd, dvd-dl, bd, bd-dl, or a SIZE like 700MiB or 8MB "
        "(at least 256KiB, with --iso at least 706KiB)",
        "as a share of each disc, e.g. 15% (the default); 0 for none",
        "N spare discs of parity, so that any N discs of the set may be lost (default 0)",
    ):
        assert said in texts["pack"], said
        assert said in texts["plan"], said


def test_a_key_for_a_compat_zip_is_refused_in_one_wording(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "a.csv").write_bytes(b"id\n1\n")
    SecretKey.generate(classic=True).save(tmp_path / "office.key", None)
    packed = run_cli_in(
        tmp_path, "pack", "export", "-o", "z.zip", "--format", "zip", "--passphrase-out", "z.pass"
    )
    assert packed.code == 0, packed.stderr
    said = set()
    for command in (["list"], ["verify"], ["unpack", "-o", "out"]):
        result = run_cli_in(tmp_path, *command, "z.zip", "-i", "office.key")
        assert result.code == 2, result.stderr
        said.add(result.stderr)
    assert said == {
        "securemedia: error: a compatibility ZIP opens with its passphrase "
        "(-p or --passphrase-file), not with a key (-i)\n"
    }


def test_no_terminal_for_a_passphrase_is_worded_like_every_error(work: Path) -> None:
    protected = work / "protected.key"
    SecretKey.generate(classic=True).save(protected, b"a long and quiet river 1987 stone")
    result = run_cli_in(work, "list", "plain.sm", "-i", protected)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith(
        "securemedia: error: key file passphrase is needed and there is no terminal"
    ), result.stderr


def test_verify_of_a_file_that_is_no_volume_names_it_once(tmp_path: Path) -> None:
    (tmp_path / "junk.bin").write_bytes(os.urandom(50_000))
    result = run_cli_in(tmp_path, "verify", "junk.bin")
    assert result.code == 4, result.stderr
    assert result.out == (
        "junk.bin: unidentified volume: not a securemedia volume, nor a disc image holding one\n"
    )


def test_the_wrong_file_is_named(work: Path) -> None:
    """Given a file that is no archive, every reading command names the file."""
    (work / "notes.txt").write_text("not an archive at all\n" * 100)
    for command in (["inspect"], ["list", "-i", "office.key"], ["unpack", "-i", "office.key"]):
        result = run_cli_in(work, command[0], "notes.txt", *command[1:])
        assert result.code == 4, result.stderr
        assert result.stderr == "securemedia: error: notes.txt: not a securemedia archive\n"


def test_shared_key_options_read_alike_in_every_help(tmp_path: Path) -> None:
    texts = {}
    for command in ("pack", "unpack", "list", "verify", "keygen"):
        result = run_cli_in(tmp_path, command, "--help")
        assert result.code == 0, result.stderr
        texts[command] = " ".join(result.out.split())
    for command, text in texts.items():
        assert "key file's passphrase from this file's first line" in text, command
    for command in ("unpack", "verify"):
        assert (
            "efuse the archive unless signed by this key: a public key line or file, or the "
            "fingerprint of a key in the key directory. Repeatable." in texts[command]
        ), command
