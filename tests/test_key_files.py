"""Key files: a damaged one says so (never "wrong passphrase", never "a public key"),
found before any passphrase is asked for; and the archive passphrase is never
taken for a key file's, nor the reverse.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli
from securemedia.errors import KeyFileError, NoIdentityError
from securemedia.keyring import load_identities, load_secret_key
from securemedia.keys import SecretKey
from securemedia.recipients.passphrase import Argon2Params

FAST = Argon2Params(1, 1024, 1)
PASSPHRASE = b"correct horse battery staple"


class Asked:
    """A passphrase source that records whether it was asked."""

    def __init__(self, value: bytes = PASSPHRASE) -> None:
        self.value = value
        self.count = 0

    def __call__(self) -> bytes:
        self.count += 1
        return self.value


def _key_file(tmp_path: Path, *, protected: bool, classic: bool) -> tuple[SecretKey, Path]:
    key = SecretKey.generate(classic=classic)
    path = tmp_path / f"key-{'enc' if protected else 'plain'}-{'x' if classic else 'pq'}"
    path.write_text(key.to_text(PASSPHRASE if protected else None, FAST))
    return key, path


def _key_line(path: Path) -> tuple[str, str, bytes]:
    """(comments, prefix, raw body) of a key file."""
    lines = path.read_text().splitlines()
    line = next(ln for ln in lines if ln.startswith("smkey2-"))
    prefix = "smkey2-enc-" if line.startswith("smkey2-enc-") else "smkey2-"
    body = line[len(prefix) :]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    comments = "\n".join(ln for ln in lines if ln.startswith("#"))
    return comments, prefix, raw


def _write_line(path: Path, comments: str, prefix: str, raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    path.write_text(f"{comments}\n{prefix}{text}\n")


KINDS = [
    pytest.param(True, False, id="protected-pq"),
    pytest.param(True, True, id="protected-x25519"),
    pytest.param(False, False, id="plain-pq"),
    pytest.param(False, True, id="plain-x25519"),
]


@pytest.mark.parametrize(("protected", "classic"), KINDS)
def test_intact_key_file_loads_and_a_wrong_passphrase_is_no_identity(
    tmp_path: Path, protected: bool, classic: bool
) -> None:
    key, path = _key_file(tmp_path, protected=protected, classic=classic)
    asked = Asked()
    assert load_secret_key(str(path), asked) == key
    assert asked.count == (1 if protected else 0)
    if protected:
        with pytest.raises(NoIdentityError, match="wrong passphrase"):
            load_secret_key(str(path), Asked(b"not the passphrase"))


@pytest.mark.parametrize(("protected", "classic"), KINDS)
def test_truncated_key_file_is_damaged_at_every_offset(
    tmp_path: Path, protected: bool, classic: bool
) -> None:
    key, path = _key_file(tmp_path, protected=protected, classic=classic)
    data = path.read_bytes()
    line_start = data.index(b"smkey2-")
    cut = tmp_path / "cut"
    offsets = sorted({*range(0, line_start, 23), *range(line_start, len(data) - 1)})
    for offset in offsets:
        cut.write_bytes(data[:offset])
        asked = Asked()
        try:
            loaded = load_identities(str(cut), asked)
        except KeyFileError as exc:
            assert "public key" not in str(exc), (offset, exc)
            assert "damaged" in str(exc) or "empty" in str(exc), (offset, exc)
            assert asked.count == 0, offset  # found without the passphrase
        else:
            # Only a cut of the final newline leaves the whole key.
            assert len(loaded) == 1 and offset == len(data) - 1, offset
            assert load_secret_key(str(cut), Asked()) == key


FIELDS_PROTECTED = {
    "salt": 3,
    "time cost": 19,
    "memory cost": 22,
    "parallelism": 27,
    "ciphertext": 40,
    "tag": -6,
    "checksum": -2,
}
FIELDS_PLAIN = {"kind": 0, "encryption key": 10, "signing key": -10, "checksum": -1}


@pytest.mark.parametrize(("protected", "classic"), KINDS)
def test_flipped_byte_in_any_field_is_damaged_not_wrong_passphrase(
    tmp_path: Path, protected: bool, classic: bool
) -> None:
    _key, path = _key_file(tmp_path, protected=protected, classic=classic)
    comments, prefix, raw = _key_line(path)
    for field, offset in (FIELDS_PROTECTED if protected else FIELDS_PLAIN).items():
        for bit in (0x01, 0x80):
            damaged = bytearray(raw)
            damaged[offset] ^= bit
            broken = tmp_path / "broken"
            _write_line(broken, comments, prefix, bytes(damaged))
            asked = Asked()
            with pytest.raises(KeyFileError, match="damaged") as caught:
                load_identities(str(broken), asked)
            assert asked.count == 0, (field, caught.value)


@pytest.mark.parametrize(("protected", "classic"), KINDS)
def test_flipped_character_in_the_key_line_is_damaged(
    tmp_path: Path, protected: bool, classic: bool
) -> None:
    _key, path = _key_file(tmp_path, protected=protected, classic=classic)
    text = path.read_text()
    start = text.index("smkey2-") + len("smkey2-enc-" if protected else "smkey2-")
    end = text.index("\n", start)
    for pos in range(start, end, max(1, (end - start) // 13)):
        swapped = "B" if text[pos] != "B" else "C"
        broken = tmp_path / "broken"
        broken.write_text(text[:pos] + swapped + text[pos + 1 :])
        asked = Asked()
        with pytest.raises(KeyFileError, match="damaged"):
            load_identities(str(broken), asked)
        assert asked.count == 0, pos


def test_key_file_cut_before_its_key_line_is_damaged_not_a_public_key(tmp_path: Path) -> None:
    _key, path = _key_file(tmp_path, protected=True, classic=False)
    text = path.read_text()
    cut = tmp_path / "cut"
    cut.write_text(text[: text.index("smkey2-")])  # the "# public key: smpub1-..." stays
    with pytest.raises(KeyFileError, match="damaged") as caught:
        load_identities(str(cut), Asked())
    assert "a public key" not in str(caught.value)


def test_a_public_key_file_is_still_named_so(tmp_path: Path) -> None:
    key = SecretKey.generate(classic=True)
    pub = key.save(tmp_path / "k", None)
    with pytest.raises(KeyFileError, match="is a public key"):
        load_identities(str(pub), Asked())


def test_key_file_from_before_checksums_still_loads(tmp_path: Path) -> None:
    """A key file written before key files had a checksum: smkey1, no check."""
    key, path = _key_file(tmp_path, protected=True, classic=True)
    comments, prefix, raw = _key_line(path)
    old = tmp_path / "old"
    _write_line(old, comments, prefix.replace("smkey2", "smkey1"), raw[:-4])
    assert load_secret_key(str(old), Asked()) == key
    with pytest.raises(NoIdentityError, match="wrong passphrase"):
        load_secret_key(str(old), Asked(b"nope"))
    plain, plain_path = _key_file(tmp_path, protected=False, classic=False)
    comments, prefix, raw = _key_line(plain_path)
    _write_line(old, comments, prefix.replace("smkey2", "smkey1"), raw[:-4])
    assert load_secret_key(str(old), Asked()) == plain


def test_the_checksum_covers_public_bytes_only(tmp_path: Path) -> None:
    """The check is SHA-256 over the prefix and the stored bytes (salt, costs,
    ciphertext): it tells nothing about the passphrase or the key."""
    _key, path = _key_file(tmp_path, protected=True, classic=True)
    _comments, prefix, raw = _key_line(path)
    assert raw[-4:] == hashlib.sha256(prefix.encode() + raw[:-4]).digest()[:4]


# -- through the CLI --------------------------------------------------------------------


def test_cli_damaged_key_file_exits_2_and_says_damaged(
    run_cli: RunCli, make_keys: object, tmp_path: Path, alice: KeyFiles
) -> None:
    (tmp_path / "data.txt").write_text("x")
    assert run_cli("pack", "data.txt", "-o", "a.sm", "-r", alice.pub_path, "-q").code == 0
    _comments, prefix, raw = _key_line(alice.path)
    damaged = bytearray(raw)
    damaged[5] ^= 1
    _write_line(tmp_path / "damaged.key", "# securemedia private key", prefix, bytes(damaged))
    for command in (("list", "a.sm"), ("unpack", "a.sm", "-o", "out"), ("verify", "a.sm")):
        result = run_cli(*command, "-i", "damaged.key")
        assert result.code == 2, (command, result)
        assert "damaged.key: key file is damaged" in result.stderr
        assert "wrong passphrase" not in result.stderr


@pytest.fixture
def alice(make_keys: object) -> KeyFiles:
    return make_keys("alice")  # type: ignore[operator, no-any-return]


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    path = tmp_path / "locked"
    path.write_text(SecretKey.generate(classic=True).to_text(b"key secret", FAST))
    return path


def test_archive_passphrase_is_never_a_key_file_passphrase(
    run_cli: RunCli, tmp_path: Path, locked: Path
) -> None:
    key = SecretKey.from_text(locked.read_text(), "locked", lambda: b"key secret")
    (tmp_path / "locked.pub").write_text(key.public.to_line() + "\n")
    (tmp_path / "data.txt").write_text("x")
    assert run_cli("pack", "data.txt", "-o", "a.sm", "-r", "locked.pub", "-q").code == 0
    # The key's passphrase given as the ARCHIVE passphrase: not used, and with no
    # terminal to ask on, a usage error.
    wrong_var = run_cli(
        "list", "a.sm", "-i", "locked", env={"SECUREMEDIA_PASSPHRASE": "key secret"}
    )
    assert wrong_var.code == 2, wrong_var
    assert "key file passphrase" in wrong_var.stderr and "no terminal" in wrong_var.stderr
    right_var = run_cli(
        "list", "a.sm", "-i", "locked", env={"SECUREMEDIA_KEY_PASSPHRASE": "key secret"}
    )
    assert right_var.code == 0, right_var
    # keygen protects a new key with the key passphrase only.
    made = run_cli("keygen", "-o", "new.key", env={"SECUREMEDIA_PASSPHRASE": "archive secret"})
    assert made.code == 2, made
    assert not (tmp_path / "new.key").exists()


def test_key_file_passphrase_is_never_an_archive_passphrase(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "data.txt").write_text("x")
    result = run_cli(
        "pack", "data.txt", "-o", "p.sm", "-p", env={"SECUREMEDIA_KEY_PASSPHRASE": "k"}
    )
    assert result.code == 2, result
    assert "archive passphrase" in result.stderr
    assert not (tmp_path / "p.sm").exists()
