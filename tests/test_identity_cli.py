"""Identity the people can check, through the real CLI (issue 11): one
fingerprint per key pair, shown by keygen, pack, list, unpack and verify -i;
fingerprints accepted by -r and --require-signer; messages that say what was
given and what is needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import CliResult, KeyFiles, RunCli, write_certificate

NOT_SIGNED = "not signed: nobody vouches for who made it"


def one_error(result: CliResult, code: int, *needles: str) -> str:
    assert result.code == code, (result.code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("securemedia: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "rows.csv").write_text("id,value\n1,alpha\n")
    return tmp_path / "export"


def test_keygen_fingerprint_is_the_one_every_command_shows(
    run_cli: RunCli, tmp_path: Path, make_keys: Callable[..., KeyFiles], data: Path
) -> None:
    office = make_keys("office.key", classic=True)
    made = run_cli("keygen", "-o", "sender.key", "--no-passphrase", "--classic")
    assert made.code == 0, made.stderr
    fingerprint = made.stderr.split("# fingerprint: ")[1].split()[0]
    packed = run_cli(
        "pack", data, "-o", "s.sm", "-r", office.pub_path, "--sign", "sender.key", "--json"
    )
    assert packed.code == 0, packed.stderr
    doc = json.loads(packed.out)
    assert doc["signer"] == fingerprint
    assert doc["recipients"] == [f"X25519 key {office.secret.public.fingerprint}"]
    listed = run_cli("list", "s.sm", "-i", office.path)
    assert f"signed by {fingerprint}" in listed.stderr
    assert json.loads(run_cli("list", "s.sm", "-i", office.path, "--json").out)["signer"] == (
        fingerprint
    )
    unpacked = run_cli("unpack", "s.sm", "-i", office.path, "-o", "out")
    assert unpacked.code == 0, unpacked.stderr
    assert f"signed by {fingerprint}" in unpacked.stderr
    verified = run_cli("verify", "s.sm", "-i", office.path)
    assert f"signed by {fingerprint}" in verified.out


def test_pack_names_every_recipient_and_unsigned_is_said_plainly(
    run_cli: RunCli, tmp_path: Path, make_keys: Callable[..., KeyFiles], data: Path
) -> None:
    office, other = make_keys("office.key"), make_keys("other.key", classic=True)
    cert, _ = write_certificate(tmp_path, ec.generate_private_key(ec.SECP256R1()), "Registry")
    packed = run_cli(
        "pack", data, "-o", "u.sm", "-r", office.pub_path, "-r", other.pub_line, "-r", cert
    )
    assert packed.code == 0, packed.stderr
    line = packed.stderr.strip()
    assert f"ML-KEM-768+X25519 key {office.secret.public.fingerprint}" in line
    assert f"X25519 key {other.secret.public.fingerprint}" in line
    assert "certificate CN=Registry (SHA-256 " in line and line.endswith("; not signed")
    sha = x509.load_pem_x509_certificate(cert.read_bytes()).fingerprint(hashes.SHA256())
    assert sha.hex(":").upper() in line  # as openssl x509 -fingerprint -sha256 shows it
    listed = run_cli("list", "u.sm", "-i", office.path)
    assert NOT_SIGNED in listed.stderr
    unpacked = run_cli("unpack", "u.sm", "-i", office.path, "-o", "out")
    assert unpacked.code == 0 and NOT_SIGNED in unpacked.stderr
    strong = {"SECUREMEDIA_PASSPHRASE": "velvet orbit canyon lantern"}
    passphrase = run_cli("pack", data, "-o", "p.sm", "-p", env=strong)
    assert "for a passphrase; not signed" in passphrase.stderr


def test_fingerprints_for_r_and_require_signer(
    run_cli: RunCli, tmp_path: Path, make_keys: Callable[..., KeyFiles], data: Path
) -> None:
    office, sender = make_keys("office.key", classic=True), make_keys("sender.key", classic=True)
    keys = tmp_path / ".config" / "securemedia" / "keys"  # HOME is tmp_path in run_cli
    keys.mkdir(parents=True)
    (keys / "office.pub").write_bytes(office.pub_path.read_bytes())
    (keys / "sender.pub").write_bytes(sender.pub_path.read_bytes())
    office_fp = office.secret.public.fingerprint
    sender_fp = sender.secret.public.fingerprint
    typed = office_fp.replace("-", "").lower()  # as read over the phone
    packed = run_cli("pack", data, "-o", "s.sm", "-r", typed, "--sign", sender.path)
    assert packed.code == 0, packed.stderr
    assert office_fp in packed.stderr
    ok = run_cli("unpack", "s.sm", "-i", office.path, "-o", "out", "--require-signer", sender_fp)
    assert ok.code == 0, ok.stderr
    wrong = run_cli("unpack", "s.sm", "-i", office.path, "-o", "o2", "--require-signer", office_fp)
    one_error(wrong, 4, f"signed by {sender_fp}", f"required signer ({office_fp})")
    assert not (tmp_path / "o2").exists()
    # SECUREMEDIA_KEYS moves the key directory; a miss says where it looked.
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    missed = run_cli(
        "unpack", "s.sm", "-i", office.path, "-o", "o3", "--require-signer", sender_fp,
        env={"SECUREMEDIA_KEYS": str(empty)},
    )  # fmt: skip
    one_error(missed, 2, f"no public key with fingerprint {sender_fp}", str(empty))
    # A key file given on the same command line is at hand too.
    beside = run_cli(
        "pack", data, "-o", "t.sm", "-r", office.pub_path, "-r", office_fp,
        env={"SECUREMEDIA_KEYS": str(empty)},
    )  # fmt: skip
    assert beside.code == 0, beside.stderr


def test_key_options_say_what_was_given_and_what_is_needed(
    run_cli: RunCli, tmp_path: Path, make_keys: Callable[..., KeyFiles], data: Path
) -> None:
    office, sender = make_keys("office.key", classic=True), make_keys("sender.key", classic=True)
    signed = run_cli("pack", data, "-o", "s.sm", "-r", office.pub_path, "--sign", sender.pub_path)
    one_error(signed, 2, "sender.key.pub is a public key file", "private key file is needed")
    assert not (tmp_path / "s.sm").exists()
    assert (
        run_cli("pack", data, "-o", "s.sm", "-r", office.pub_path, "--sign", sender.path).code == 0
    )
    required = run_cli(
        "unpack", "s.sm", "-i", office.path, "-o", "out", "--require-signer", sender.path
    )
    one_error(required, 2, "sender.key is a private key file", "public key is needed", ".pub")
    cert, _ = write_certificate(tmp_path, ec.generate_private_key(ec.SECP256R1()), "Office")
    as_identity = run_cli("unpack", "s.sm", "-i", cert, "-o", "out")
    one_error(as_identity, 2, "is an X.509 certificate", "private key")


def test_passphrase_archive_and_passphrase_file(
    run_cli: RunCli, tmp_path: Path, make_keys: Callable[..., KeyFiles], data: Path
) -> None:
    office = make_keys("office.key", classic=True)
    (tmp_path / "pw.txt").write_text("a long enough passphrase for this test\n")
    # --passphrase-file alone means -p, for pack and for unpack.
    packed = run_cli("pack", data, "-o", "p.sm", "--passphrase-file", "pw.txt")
    assert packed.code == 0, packed.stderr
    with_key = run_cli("unpack", "p.sm", "-i", office.path, "-o", "out")
    one_error(with_key, 3, "encrypted to a passphrase", "-p")
    listed = run_cli("list", "p.sm", "-i", office.path)
    one_error(listed, 3, "encrypted to a passphrase", "-p")
    verified = run_cli("verify", "p.sm", "-i", office.path)
    assert verified.code == 3, verified.stderr
    assert "encrypted to a passphrase" in verified.stderr and "unpack -p" in verified.stderr
    restored = run_cli("unpack", "p.sm", "--passphrase-file", "pw.txt", "-o", "out")
    assert restored.code == 0, restored.stderr
    assert (tmp_path / "out" / "export" / "rows.csv").exists()
    # The reverse: a passphrase given for an archive made for keys.
    assert run_cli("pack", data, "-o", "k.sm", "-r", office.pub_path).code == 0
    with_passphrase = run_cli("unpack", "k.sm", "--passphrase-file", "pw.txt", "-o", "o2")
    one_error(with_passphrase, 3, "encrypted to keys", "-i KEYFILE")
