"""unpack and list read the archive's header before acting on -i/-p: a
passphrase archive opened with neither is told to use -p, and an input that is
not an archive is refused before a key file's passphrase is asked for. A pipe
(ARCHIVE -) is read once and still opens. Through the real CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RunCli, make_archive
from securemedia.keys import SecretKey
from securemedia.recipients.passphrase import Argon2Params, PassphraseRecipient

FAST_ARGON2 = Argon2Params(1, 1024, 1)
PASSPHRASE = "correct horse battery staple"
KEY_PASSPHRASE = "key file passphrase"
MEMBERS = [("report.csv", b"id,value\n1,alpha\n")]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """pp.sm (a passphrase archive), key.sm (for the locked key file ``locked``),
    and notes.txt (not an archive)."""
    (tmp_path / "pp.sm").write_bytes(
        make_archive(MEMBERS, [PassphraseRecipient(PASSPHRASE, FAST_ARGON2)])
    )
    locked = SecretKey.generate(classic=True)
    (tmp_path / "locked").write_text(locked.to_text(KEY_PASSPHRASE.encode(), FAST_ARGON2))
    (tmp_path / "key.sm").write_bytes(make_archive(MEMBERS, [locked.public.recipient()]))
    (tmp_path / "notes.txt").write_text("not an archive, a mistyped name\n" * 10)
    return tmp_path


PASSPHRASE_HINT = "this archive is encrypted to a passphrase: give -p (or --passphrase-file FILE)"


@pytest.mark.parametrize("command", [["unpack", "-o", "out"], ["list"]])
def test_passphrase_archive_without_p_is_told_to_use_p(
    world: Path, run_cli: RunCli, command: list[str]
) -> None:
    result = run_cli(command[0], "pp.sm", *command[1:])
    assert result.code == 2, result.stderr
    assert result.stderr.strip() == f"securemedia: error: {PASSPHRASE_HINT}"
    assert not (world / "out").exists()
    # From a pipe too: only the header was read to tell.
    piped = run_cli(command[0], "-", *command[1:], stdin=(world / "pp.sm").read_bytes())
    assert piped.code == 2, piped.stderr
    assert piped.stderr.strip() == f"securemedia: error: {PASSPHRASE_HINT}"


def test_key_archive_without_i_still_asks_for_a_key(world: Path, run_cli: RunCli) -> None:
    result = run_cli("list", "key.sm")
    assert result.code == 2, result.stderr
    assert "give the recipient's key with -i KEYFILE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["unpack", "-o", "out"], ["list"]])
def test_not_an_archive_is_refused_before_the_key_passphrase(
    world: Path, run_cli: RunCli, command: list[str]
) -> None:
    # No terminal and no $SECUREMEDIA_KEY_PASSPHRASE: asking for the key file's
    # passphrase would fail with exit 2; the input is refused first.
    result = run_cli(command[0], "notes.txt", "-i", "locked", *command[1:])
    assert result.code == 4, result.stderr
    assert "notes.txt: not a securemedia archive" in result.stderr
    assert "passphrase" not in result.stderr
    assert not (world / "out").exists()


def test_a_pipe_is_read_once_and_opens(world: Path, run_cli: RunCli) -> None:
    key_env = {"SECUREMEDIA_KEY_PASSPHRASE": KEY_PASSPHRASE}
    archive = (world / "key.sm").read_bytes()
    listed = run_cli("list", "-", "-i", "locked", env=key_env, stdin=archive)
    assert listed.code == 0, listed.stderr
    assert "report.csv" in listed.out
    unpacked = run_cli(
        "unpack",
        "-",
        "-p",
        "-o",
        "out",
        env={"SECUREMEDIA_PASSPHRASE": PASSPHRASE},
        stdin=(world / "pp.sm").read_bytes(),
    )
    assert unpacked.code == 0, unpacked.stderr
    assert (world / "out" / "report.csv").read_bytes() == MEMBERS[0][1]


@pytest.mark.parametrize("command", [["unpack", "-o", "out"], ["list"]])
def test_keys_for_a_passphrase_archive_are_refused_before_unlocking(
    world: Path, run_cli: RunCli, command: list[str]
) -> None:
    # No terminal, no $SECUREMEDIA_KEY_PASSPHRASE: unlocking ``locked`` would
    # fail with exit 2; the header alone shows that no key can open pp.sm.
    result = run_cli(command[0], "pp.sm", "-i", "locked", *command[1:])
    assert result.code == 3, result.stderr
    assert result.stderr.strip() == (
        "securemedia: error: this archive is encrypted to a passphrase, not to a key: "
        "use -p (or --passphrase-file)"
    )
    assert not (world / "out").exists()
