"""The strength rule for new passphrases: unit tests on real examples, and through
the real CLI (pack -p, keygen) from every non-interactive source and a terminal.

The rule refuses below 10^14 estimated guesses (passphrase_strength.py says why:
our Argon2id cost per guess against a 100-GPU-year attacker)."""

from __future__ import annotations

import os
import pty
import select
import time
from pathlib import Path

import pytest

from conftest import RunCli, _entry_point
from securemedia.compat_zip.passphrase import generate_passphrase
from securemedia.errors import Remedy, UsageError
from securemedia.passphrase_strength import (
    MIN_GUESSES_LOG10,
    WeakPassphraseError,
    check_new_passphrase,
    estimate,
)

# Each is refused, and the reason names what made it guessable.
WEAK = [
    ("a", "too short"),
    ("x7", "too short"),
    ("password1", "common words"),
    ("Summer2024!", "common words"),
    ("qwertyuiop", "common words"),
    ("zxcvbnm,./", "keyboard patterns"),
    ("19871225", "dates"),
    ("aaaaaaaaaaaa", "repeated"),
    ("hunter2hunter2", "repeated"),
    ("abcdefghijk", "sequences"),
    ("0123456789", "sequences"),
    ("correct horse", "common words"),
    ("Tr0ub4dor&3", "too short"),  # l33t of a word, 11 characters
    ("securemedia-archive-2026", "common words"),  # the context is tried first
    ("a" * 200, "repeated"),  # judged on its first 72 characters
]
STRONG = [
    "velvet orbit canyon lantern",  # four random common words
    "harbor pencil glacier tundra",
    "correct horse battery staple",
    "Kobenhavn-Registry-Export-Q3-fjord",
    "velvet orbit canyon lantern" + "a" * 200,  # a strong start stays strong
]


@pytest.mark.parametrize(("passphrase", "because"), WEAK)
def test_obviously_weak_passphrases_are_refused_with_a_reason(
    passphrase: str, because: str
) -> None:
    strength = estimate(passphrase)
    assert strength.guesses_log10 < MIN_GUESSES_LOG10
    assert not strength.acceptable
    with pytest.raises(WeakPassphraseError) as caught:
        check_new_passphrase(passphrase.encode())
    message = str(caught.value)
    assert because in message
    assert "four or more random words" in message
    if len(passphrase) >= 4:  # never the passphrase (a letter or two can't be told)
        assert passphrase not in message
    assert "--" not in message  # the library names no CLI option...
    assert caught.value.remedy is Remedy.WEAK_PASSPHRASE  # ...the CLI adds it
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


@pytest.mark.parametrize("passphrase", STRONG)
def test_phrases_of_random_words_pass(passphrase: str) -> None:
    assert estimate(passphrase).guesses_log10 >= MIN_GUESSES_LOG10
    check_new_passphrase(passphrase)
    check_new_passphrase(passphrase.encode())


def test_a_single_character_more_does_not_make_a_weak_one_strong() -> None:
    # Not a length check: long but patterned is weak, short but random is not judged
    # by its length alone.
    assert not estimate("passwordpasswordpassword").acceptable
    assert not estimate("1234567890123456789012345").acceptable
    assert estimate("q7#Vx!2pLz9@wR4m").acceptable


def test_generated_passphrases_pass_the_rule() -> None:
    # The compat ZIP's passphrase is generated (150 random bits): never refused.
    for _ in range(20):
        check_new_passphrase(generate_passphrase())


def test_bytes_that_are_not_utf8_are_judged_not_crashed_on() -> None:
    assert not estimate(b"\xff\xfe\x00abc").acceptable
    random_bytes = b"\x9c\xe1\x83\xf2\xaa\x10\xd7\xb4\x8e\x01\xcc\x95\xe7\x3f\xa9\x88"
    assert estimate(random_bytes).acceptable  # judged as 16 Latin-1 characters
    assert not estimate(b"").acceptable


# -- through the CLI -------------------------------------------------------------------

WEAK_PASS = "Summer2024!"
GOOD_PASS = "velvet orbit canyon lantern"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "data.txt").write_text("rows\n")
    return tmp_path


def _refused(result_stderr: str, what: str) -> None:
    line = result_stderr.strip()
    assert "\n" not in line, result_stderr  # one line
    assert line.startswith(f"securemedia: error: the {what} is too weak")
    assert "four or more random words" in line
    assert "--allow-weak-passphrase" in line
    assert WEAK_PASS not in line and "Summer" not in line


def test_pack_refuses_a_weak_passphrase_from_the_environment(run_cli: RunCli, data: Path) -> None:
    result = run_cli(
        "pack", "data.txt", "-o", "p.sm", "-p", env={"SECUREMEDIA_PASSPHRASE": WEAK_PASS}
    )
    assert result.code == 2
    _refused(result.stderr, "archive passphrase")
    assert sorted(p.name for p in data.iterdir()) == ["data.txt"]  # nothing written


def test_pack_refuses_a_weak_passphrase_from_a_file(run_cli: RunCli, data: Path) -> None:
    (data / "pw").write_text(WEAK_PASS + "\n")
    result = run_cli("pack", "data.txt", "-o", "p.sm", "-p", "--passphrase-file", "pw")
    assert result.code == 2
    _refused(result.stderr, "archive passphrase")
    assert not (data / "p.sm").exists()


def test_allow_weak_passphrase_accepts_it_and_unpack_never_judges(
    run_cli: RunCli, data: Path
) -> None:
    env = {"SECUREMEDIA_PASSPHRASE": WEAK_PASS}
    packed = run_cli("pack", "data.txt", "-o", "p.sm", "-p", "--allow-weak-passphrase", env=env)
    assert packed.code == 0, packed.stderr
    # Opening an existing archive is never refused: the passphrase is what it is.
    unpacked = run_cli("unpack", "p.sm", "-p", "-o", "out", "-q", env=env)
    assert unpacked.code == 0, unpacked.stderr
    assert (data / "out" / "data.txt").read_text() == "rows\n"


def test_pack_accepts_a_strong_passphrase(run_cli: RunCli, data: Path) -> None:
    env = {"SECUREMEDIA_PASSPHRASE": GOOD_PASS}
    assert run_cli("pack", "data.txt", "-o", "p.sm", "-p", "-q", env=env).code == 0


def test_keygen_refuses_a_weak_key_passphrase(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("keygen", "-o", "k", env={"SECUREMEDIA_KEY_PASSPHRASE": WEAK_PASS})
    assert result.code == 2
    _refused(result.stderr, "key file passphrase")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "pw").write_text(WEAK_PASS + "\n")
    from_file = run_cli("keygen", "-o", "k", "--key-passphrase-file", "pw")
    assert from_file.code == 2
    _refused(from_file.stderr, "key file passphrase")
    forced = run_cli(
        "keygen",
        "-o",
        "k",
        "--allow-weak-passphrase",
        env={"SECUREMEDIA_KEY_PASSPHRASE": WEAK_PASS},
    )
    assert forced.code == 0, forced.stderr
    assert (tmp_path / "k").exists() and (tmp_path / "k.pub").exists()


def test_a_weak_passphrase_typed_at_the_terminal_is_asked_for_again(tmp_path: Path) -> None:
    """A real pseudo-terminal: the weak answer is refused with its reason, the
    strong one is asked twice and the key is written."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: securemedia on the terminal
        os.chdir(tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREMEDIA_")}
        os.execve(_entry_point()[0], [*_entry_point(), "keygen", "-o", "k"], env)
    seen = b""

    def wait_for(text: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert text in seen, seen

    wait_for(b"Key file passphrase: ")
    os.write(fd, WEAK_PASS.encode() + b"\n")
    wait_for(b"too weak")
    seen = seen.split(b"too weak", 1)[1]
    wait_for(b"Key file passphrase: ")
    os.write(fd, GOOD_PASS.encode() + b"\n")
    wait_for(b"(again): ")
    os.write(fd, GOOD_PASS.encode() + b"\n")
    wait_for(b"smpub1-")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "k").exists()
    assert WEAK_PASS.encode() not in seen


def test_no_terminal_means_no_prompt_and_a_clear_error(run_cli: RunCli, data: Path) -> None:
    # Unchanged by the rule: with no source and no terminal, exit 2 before judging.
    result = run_cli("pack", "data.txt", "-o", "p.sm", "-p")
    assert result.code == 2 and "no terminal" in result.stderr
