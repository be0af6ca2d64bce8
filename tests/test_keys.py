"""Key pairs: public key lines, fingerprints, key files (protected or not),
``keygen`` through the CLI, and reprs that never show secrets."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import FAST_ARGON2, KeyFiles, RunCli
from securemedia.errors import DestinationExistsError, NoIdentityError, UsageError
from securemedia.keyring import (
    load_identities,
    load_public_keys,
    load_recipients,
    load_secret_key,
    load_signers,
)
from securemedia.keys import PublicKey, SecretKey
from securemedia.recipients.passphrase import PassphraseIdentity, PassphraseRecipient
from securemedia.recipients.rsa import RSAIdentity

FINGERPRINT = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$")
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
KEY_ENV = "SECUREMEDIA_KEY_PASSPHRASE"


def never() -> bytes:
    raise AssertionError("the passphrase must not be asked for")


# -- public key lines ------------------------------------------------------------------


@pytest.mark.parametrize("classic", [False, True], ids=["pq", "x25519"])
def test_public_key_line_round_trip(classic: bool) -> None:
    secret = SecretKey.generate(classic=classic)
    public = secret.public
    line = public.to_line()
    assert line.startswith("smpub1-x25519-" if classic else "smpub1-pq-")
    assert set(line.split("-", 2)[2]) <= set(B64URL)
    assert PublicKey.from_line(line) == public
    assert PublicKey.from_line(f"  {line}\n") == public
    assert len(public.encryption) == (32 if classic else 1184 + 32)
    assert len(public.signing) == 32
    # The line is a stable function of the key.
    assert secret.public.to_line() == line


def test_fingerprint_format() -> None:
    a, b = SecretKey.generate(), SecretKey.generate(classic=True)
    for key in (a, b):
        fp = key.public.fingerprint
        assert FINGERPRINT.match(fp), fp
        assert key.public.fingerprint == fp
        assert fp in key.public.recipient().label
    assert a.public.fingerprint != b.public.fingerprint


@pytest.mark.parametrize("classic", [False, True], ids=["pq", "x25519"])
def test_every_damaged_character_is_caught_or_harmless(classic: bool) -> None:
    """Change any one character of the key part: the line is refused, or (for the
    unused low bits of the last base64 character) decodes to the very same key."""
    public = SecretKey.generate(classic=classic).public
    line = public.to_line()
    start = len("smpub1-x25519-" if classic else "smpub1-pq-")
    positions = range(start, len(line)) if classic else range(start, len(line), 7)
    accepted_same = 0
    for pos in positions:
        replacement = B64URL[(B64URL.index(line[pos]) + 1) % 64]
        damaged = line[:pos] + replacement + line[pos + 1 :]
        try:
            parsed = PublicKey.from_line(damaged)
        except UsageError as exc:
            assert "damaged" in str(exc)
            continue
        assert parsed == public, pos
        accepted_same += 1
    assert accepted_same <= 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "not a securemedia public key"),
        ("ssh-ed25519 AAAAC3Nz", "not a securemedia public key"),
        ("smpub1-rsa-AAAA", "not a securemedia public key"),
        ("smpub1-x25519-A", "not valid base64"),
        ("smpub1-x25519-AAAA", "checksum mismatch"),
    ],
)
def test_bad_public_key_lines(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        PublicKey.from_line(line)


def test_truncated_and_mixed_up_lines() -> None:
    pq, classic = SecretKey.generate().public, SecretKey.generate(classic=True).public
    line = classic.to_line()
    for cut in (len(line) - 1, len(line) - 4, len(line) - 10):
        with pytest.raises(UsageError, match="damaged"):
            PublicKey.from_line(line[:cut])
    # The kind is covered by the checksum: relabelling a key is refused.
    with pytest.raises(UsageError, match="damaged"):
        PublicKey.from_line(line.replace("smpub1-x25519-", "smpub1-pq-"))
    with pytest.raises(UsageError, match="damaged"):
        PublicKey.from_line(pq.to_line().replace("smpub1-pq-", "smpub1-x25519-"))


def test_public_key_files(tmp_path: Path) -> None:
    keys = [SecretKey.generate(classic=True).public for _ in range(3)]
    path = tmp_path / "team.pub"
    path.write_text("# the team\n\n" + "\n".join(f"  {k.to_line()}  " for k in keys) + "\n# end\n")
    assert load_public_keys(str(path)) == keys
    assert len(load_recipients(str(path))) == 3
    assert load_signers(str(path)) == keys
    assert load_public_keys(keys[0].to_line()) == [keys[0]]
    damaged = tmp_path / "damaged.pub"
    line = keys[1].to_line()
    other = "B" if line[-6] == "A" else "A"
    damaged.write_text(keys[0].to_line() + "\n" + line[:-6] + other + line[-5:] + "\n")
    with pytest.raises(UsageError, match=r"damaged\.pub: public key is damaged"):
        load_recipients(str(damaged))
    empty = tmp_path / "empty.pub"
    empty.write_text("# nothing here\n")
    with pytest.raises(UsageError, match="holds no public key"):
        load_public_keys(str(empty))
    binary = tmp_path / "binary.pub"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="not a public key file"):
        load_public_keys(str(binary))


# -- key files ---------------------------------------------------------------------------


@pytest.mark.parametrize("classic", [False, True], ids=["pq", "x25519"])
def test_unprotected_key_file_round_trip(classic: bool, tmp_path: Path) -> None:
    secret = SecretKey.generate(classic=classic)
    pub_path = secret.save(tmp_path / "k", None)
    assert pub_path == tmp_path / "k.pub"
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert load_secret_key(str(tmp_path / "k"), never) == secret
    assert load_public_keys(str(pub_path)) == [secret.public]
    text = (tmp_path / "k").read_text()
    assert f"# fingerprint: {secret.public.fingerprint}" in text
    assert f"# public key: {secret.public.to_line()}" in text
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(body) == 1 and body[0].startswith("smkey2-")


def test_protected_key_file_round_trip(tmp_path: Path) -> None:
    secret = SecretKey.generate()
    text = secret.to_text(b"key passphrase", FAST_ARGON2)
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(body) == 1 and body[0].startswith("smkey2-enc-")
    asked: list[int] = []

    def source() -> bytes:
        asked.append(1)
        return b"key passphrase"

    assert SecretKey.from_text(text, "k", source) == secret
    assert asked == [1]
    with pytest.raises(NoIdentityError, match="wrong passphrase") as info:
        SecretKey.from_text(text, "k", lambda: b"key passphrasE")
    assert "key passphrase" not in str(info.value)
    # Two encryptions of one key differ (fresh salt).
    assert secret.to_text(b"key passphrase", FAST_ARGON2) != text


@pytest.mark.parametrize(
    "body",
    [
        "",
        "smkey1-",
        "smkey1-AAAA",
        "smkey1-A",
        "smkey1-enc-AAAA",
        "smkey1-enc-A",
        "smpub1-x25519-AAAA",
        "smkey1-AAAA\nsmkey1-AAAA",
        "smkey2-",
        "smkey2-AAAA",
        "smkey2-enc-AAAA",
    ],
)
def test_damaged_key_files(body: str) -> None:
    with pytest.raises(UsageError, match="key file"):
        SecretKey.from_text(f"# comment\n{body}\n", "k", never)


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    first, second = SecretKey.generate(classic=True), SecretKey.generate(classic=True)
    first.save(tmp_path / "k", None)
    with pytest.raises(DestinationExistsError):
        second.save(tmp_path / "k", None)
    assert load_secret_key(str(tmp_path / "k"), never) == first
    second.save(tmp_path / "k", None, force=True)
    assert load_secret_key(str(tmp_path / "k"), never) == second
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]


def test_identities_from_key_files(make_keys: Callable[..., KeyFiles]) -> None:
    keys = make_keys()
    [identity] = load_identities(str(keys.path), never)
    assert identity.unwrap(keys.secret.public.recipient().wrap(bytes(32))) == bytes(32)


# -- no secret in a repr -----------------------------------------------------------------


def _secret_strings(*blobs: bytes) -> list[str]:
    import base64

    out = []
    for blob in blobs:
        out += [blob.hex(), blob.hex().upper(), base64.urlsafe_b64encode(blob).decode()[:20]]
        out += [base64.b64encode(blob).decode()[:20], repr(blob)[2:30]]
    return out


def test_reprs_never_show_key_material_or_passphrases(tmp_path: Path) -> None:
    secret = SecretKey.generate()
    needles = _secret_strings(secret.encryption, secret.signing, secret.encryption[64:])
    passphrase = b"correct horse battery staple"
    objects: list[object] = [
        secret,
        secret.identity(),
        SecretKey.generate(classic=True).identity(),
        PassphraseRecipient(passphrase, FAST_ARGON2),
        PassphraseIdentity(passphrase),
        RSAIdentity(rsa.generate_private_key(65537, 3072)),
    ]
    secret.save(tmp_path / "k", None)
    [loaded] = load_identities(str(tmp_path / "k"), never)
    objects.append(loaded)
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert "correct horse" not in text, text
            assert "staple" not in text, text
            for needle in needles:
                assert needle not in text, (type(obj).__name__, text)
    assert "SecretKey" in repr(secret)


# -- keygen through the CLI ------------------------------------------------------------


def test_keygen_no_passphrase(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("keygen", "-o", "k", "--no-passphrase")
    assert result.code == 0, result.stderr
    key_path, pub_path = tmp_path / "k", tmp_path / "k.pub"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    [public] = load_public_keys(str(pub_path))
    assert result.out.strip() == public.to_line()
    assert public.fingerprint in result.stderr
    secret = load_secret_key(str(key_path), never)
    assert secret.public == public
    assert public.kind == "pq"


def test_keygen_classic(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("keygen", "-o", "k", "--no-passphrase", "--classic", "--json")
    assert result.code == 0, result.stderr
    assert '"kind": "X25519"' in result.out
    assert load_secret_key(str(tmp_path / "k"), never).kind == "x25519"


def test_keygen_protected_by_default(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("keygen", "-o", "k", env={KEY_ENV: "s3cret velvet orbit canyon"})
    assert result.code == 0, result.stderr
    key_path = tmp_path / "k"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    text = key_path.read_text()
    assert "smkey2-enc-" in text
    assert "s3cret" not in text and "s3cret" not in result.stderr + result.out
    secret = load_secret_key(str(key_path), lambda: b"s3cret velvet orbit canyon")
    assert load_public_keys(str(tmp_path / "k.pub")) == [secret.public]
    with pytest.raises(NoIdentityError):
        load_secret_key(str(key_path), lambda: b"another")


def test_keygen_passphrase_from_a_file(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from a file: velvet orbit canyon\nsecond line ignored\n")
    result = run_cli("keygen", "-o", "k", "--key-passphrase-file", "pw")
    assert result.code == 0, result.stderr
    load_secret_key(str(tmp_path / "k"), lambda: b"from a file: velvet orbit canyon")


def test_keygen_without_a_terminal_or_passphrase_source(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("keygen", "-o", "k")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("securemedia: error: ")
    assert "no terminal" in lines[0] and KEY_ENV in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "k").exists() and not (tmp_path / "k.pub").exists()
    assert os.listdir(tmp_path) == []


def test_keygen_refuses_to_overwrite(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("keygen", "-o", "k", "--no-passphrase").code == 0
    before = (tmp_path / "k").read_bytes()
    result = run_cli("keygen", "-o", "k", "--no-passphrase")
    assert result.code == 1
    assert "already exists" in result.stderr
    assert (tmp_path / "k").read_bytes() == before
    assert run_cli("keygen", "-o", "k", "--no-passphrase", "--force").code == 0
    assert (tmp_path / "k").read_bytes() != before


def test_wrong_key_passphrase_exits_3(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("keygen", "-o", "k", env={KEY_ENV: "right velvet orbit canyon"}).code == 0
    (tmp_path / "in.txt").write_text("hello")
    assert run_cli("pack", "in.txt", "-o", "a.sm", "-r", "k.pub", "-q").code == 0
    result = run_cli("unpack", "a.sm", "-i", "k", "-o", "out", env={KEY_ENV: "wrong"})
    assert result.code == 3, result.stderr
    assert result.stderr.startswith("securemedia: error: ")
    assert "wrong passphrase" in result.stderr and "wrong\n" not in result.stderr
    assert not (tmp_path / "out").exists()
    signing = run_cli(
        "pack", "in.txt", "-o", "b.sm", "-r", "k.pub", "--sign", "k", env={KEY_ENV: "wrong"}
    )
    assert signing.code == 3
    assert not (tmp_path / "b.sm").exists()
    ok = run_cli(
        "unpack", "a.sm", "-i", "k", "-o", "out", "-q", env={KEY_ENV: "right velvet orbit canyon"}
    )
    assert ok.code == 0, ok.stderr
    assert (tmp_path / "out" / "in.txt").read_text() == "hello"


@pytest.mark.parametrize(
    ("kind", "encryption", "message"),
    [
        ("pq", b"\xff" * (1184 + 32), "is not a valid key"),
        ("x25519", bytes(32), "not a usable public key"),
        ("x25519", b"\x01" + bytes(31), "not a usable public key"),
    ],
    ids=["mlkem-out-of-range", "x25519-zero", "x25519-low-order"],
)
def test_well_formed_line_holding_an_invalid_key(
    kind: str, encryption: bytes, message: str, run_cli: RunCli, tmp_path: Path
) -> None:
    """The checksum only catches accidents: a crafted line with a valid checksum
    but no usable key is a usage error, not an internal one."""
    line = PublicKey(kind, encryption, bytes(32)).to_line()
    with pytest.raises(UsageError, match=message):
        load_recipients(line)[0].wrap(bytes(32))
    (tmp_path / "in.txt").write_text("x")
    result = run_cli("pack", "in.txt", "-o", "a.sm", "-r", line)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("securemedia: error: ") and message in result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "a.sm").exists()


@pytest.mark.parametrize(("offset", "value"), [(16, 1000), (20, 0xFFFFFFFF), (24, 0)])
def test_key_file_with_damaged_kdf_parameters(offset: int, value: int) -> None:
    """Refused as a damaged key file before the passphrase is asked for or Argon2 runs."""
    import base64
    import struct

    text = SecretKey.generate(classic=True).to_text(b"pw", FAST_ARGON2)
    line = next(ln for ln in text.splitlines() if ln.startswith("smkey2-enc-"))
    b64 = line[len("smkey2-enc-") :]
    raw = bytearray(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)))
    raw[offset : offset + 4] = struct.pack(">I", value)
    damaged = "smkey2-enc-" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(UsageError, match="key file is damaged"):
        SecretKey.from_text(text.replace(line, damaged), "k", never)
