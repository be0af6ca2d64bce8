"""Signer kinds 3 (Ed25519 alone) and 4 (ECDSA P-256 alone): the API and the CLI
end to end with software signers (tests/signer_support.py), their public key
lines in --require-signer and the key directory, the display of their kind, and
a signing key given where a recipient is needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import securemedia
from conftest import KeyFiles, RunCli
from securemedia import SigningPublicKey
from securemedia.archive.writer import ArchiveSummary
from securemedia.cli.inputs import recipients_said
from securemedia.ed25519_rules import SMALL_ORDER_KEYS
from securemedia.errors import KeyFileError, SignatureError, UsageError
from securemedia.keys import _b64e, _checksum
from signer_support import Ed25519Signer, P256Signer

SoftSigner = Ed25519Signer | P256Signer
NAMES = {"ed25519": "Ed25519 signing key", "p256": "ECDSA P-256 signing key"}


@pytest.fixture(params=["ed25519", "p256"])
def sender(request: pytest.FixtureRequest) -> SoftSigner:
    return Ed25519Signer.generate() if request.param == "ed25519" else P256Signer.generate()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "rows.csv").write_text("id,value\n1,alpha\n")
    return tmp_path / "export"


def _pub_file(path: Path, key: SigningPublicKey) -> Path:
    path.write_text(f"# securemedia signing key, fingerprint {key.fingerprint}\n{key.to_line()}\n")
    return path


def test_line_round_trip_and_fingerprint(sender: SoftSigner) -> None:
    public = sender.public
    line = public.to_line()
    assert line.startswith(f"smpub1-sign-{public.kind}-")
    assert SigningPublicKey.from_line(line) == public
    assert SigningPublicKey.from_blob(public.to_blob()) == public
    assert securemedia.load_signers(line) == [public]
    assert public.description == f"{NAMES[public.kind]} {public.fingerprint}"
    assert public.fingerprint == securemedia.load_signers(line)[0].fingerprint
    damaged = line[:-3] + ("A" if line[-3] != "A" else "B") + line[-2:]
    with pytest.raises(UsageError, match="damaged"):
        SigningPublicKey.from_line(damaged)
    # A signer's repr names its kind, never its key.
    assert "key=" not in repr(sender) and "Private" not in repr(sender)


def test_a_well_formed_line_with_an_unusable_key_is_refused() -> None:
    prefix = "smpub1-sign-ed25519-"
    for key in sorted(SMALL_ORDER_KEYS):
        line = prefix + _b64e(key + _checksum(prefix, key))
        with pytest.raises(UsageError, match="small order"):
            SigningPublicKey.from_line(line)
    prefix = "smpub1-sign-p256-"
    point = b"\x04" + bytes(64)
    with pytest.raises(UsageError, match="not on the curve"):
        SigningPublicKey.from_line(prefix + _b64e(point + _checksum(prefix, point)))


def test_api_round_trip_and_required_signer(
    tmp_path: Path, data: Path, sender: SoftSigner, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key", classic=True)
    summary = securemedia.pack(
        [data], tmp_path / "s.sm", [office.secret.public.recipient()], signer=sender
    )
    assert (summary.signer, summary.signer_kind) == (sender.public.fingerprint, sender.public.kind)
    assert summary.to_json()["signer_kind"] == sender.public.kind
    identities = [office.secret.identity()]
    with securemedia.open_archive(
        tmp_path / "s.sm", identities, require_signer=[sender.public]
    ) as reader:
        assert reader.signer == sender.public
    other = P256Signer.generate() if sender.public.kind == "ed25519" else Ed25519Signer.generate()
    with pytest.raises(SignatureError, match=f"signed by {NAMES[sender.public.kind]}"):
        securemedia.unpack(
            tmp_path / "s.sm", tmp_path / "o", identities, require_signer=[other.public]
        )
    # The key pair with the same Ed25519 key is another signer (kind 2, not 3).
    if isinstance(sender, Ed25519Signer):
        pair = securemedia.SecretKey(
            "x25519", office.secret.encryption, sender.key.private_bytes_raw()
        )
        with pytest.raises(SignatureError, match="not by the required signer"):
            securemedia.unpack(
                tmp_path / "s.sm", tmp_path / "o", identities, require_signer=[pair.public]
            )
    assert not (tmp_path / "o").exists()


def test_cli_reads_the_new_signers(
    run_cli: RunCli,
    tmp_path: Path,
    data: Path,
    sender: SoftSigner,
    make_keys: Callable[..., KeyFiles],
) -> None:
    office = make_keys("office.key", classic=True)
    securemedia.pack([data], tmp_path / "s.sm", [office.secret.public.recipient()], signer=sender)
    public = sender.public
    pub = _pub_file(tmp_path / "sender.pub", public)
    said = f"signed by {public.description}"

    listed = run_cli("list", "s.sm", "-i", office.path)
    assert listed.code == 0 and said in listed.stderr, listed.stderr
    doc = json.loads(run_cli("list", "s.sm", "-i", office.path, "--json").out)
    assert (doc["signer"], doc["signer_kind"]) == (public.fingerprint, public.kind)

    unpacked = run_cli("unpack", "s.sm", "-i", office.path, "-o", "out", "--require-signer", pub)
    assert unpacked.code == 0 and said in unpacked.stderr, unpacked.stderr
    assert (tmp_path / "out" / "export" / "rows.csv").read_text().startswith("id,value")
    as_json = run_cli(
        "unpack",
        "s.sm",
        "-i",
        office.path,
        "-o",
        "out2",
        "--require-signer",
        public.to_line(),
        "--json",
    )
    assert as_json.code == 0, as_json.stderr
    assert json.loads(as_json.out)["signer_kind"] == public.kind

    verified = run_cli("verify", "s.sm", "-i", office.path, "--require-signer", pub)
    assert verified.code == 0 and said in verified.out + verified.stderr
    verified_json = json.loads(run_cli("verify", "s.sm", "-i", office.path, "--json").out)
    assert verified_json["signer_kind"] == public.kind

    # Another signer required: refused (exit 4), naming the kind of the one who signed.
    other = make_keys("other.key", classic=True)
    refused = run_cli(
        "unpack", "s.sm", "-i", office.path, "-o", "out3", "--require-signer", other.pub_path
    )
    assert refused.code == 4 and said.replace("signed by ", "") in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out3").exists()


def test_required_signer_by_fingerprint_from_the_key_directory(
    run_cli: RunCli,
    tmp_path: Path,
    data: Path,
    sender: SoftSigner,
    make_keys: Callable[..., KeyFiles],
) -> None:
    office = make_keys("office.key", classic=True)
    securemedia.pack([data], tmp_path / "s.sm", [office.secret.public.recipient()], signer=sender)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    _pub_file(keys / "sender.pub", sender.public)
    env = {"SECUREMEDIA_KEYS": str(keys)}
    fingerprint = sender.public.fingerprint.lower().replace("-", "")
    done = run_cli(
        "unpack", "s.sm", "-i", office.path, "-o", "out", "--require-signer", fingerprint, env=env
    )
    assert done.code == 0, done.stderr
    # The same fingerprint as a recipient: found, then refused as a signing key.
    packed = run_cli("pack", data, "-o", "x.sm", "-r", fingerprint, env=env)
    assert packed.code == 2 and "is a signing key" in packed.stderr, packed.stderr


def test_a_signing_key_is_not_a_recipient(
    run_cli: RunCli, tmp_path: Path, data: Path, sender: SoftSigner
) -> None:
    pub = _pub_file(tmp_path / "sender.pub", sender.public)
    for spec in (str(pub), sender.public.to_line()):
        with pytest.raises(KeyFileError, match="it checks signatures and cannot receive archives"):
            securemedia.load_recipients(spec)
        packed = run_cli("pack", data, "-o", "x.sm", "-r", spec)
        assert packed.code == 2, packed.stderr
        line = packed.stderr.strip()
        assert len(line.splitlines()) == 1 and "is a signing key" in line, line
        assert not (tmp_path / "x.sm").exists()


def test_pack_summary_names_the_kind(sender: SoftSigner) -> None:
    summary = ArchiveSummary("id", signer=sender.public.fingerprint, signer_kind=sender.public.kind)
    assert recipients_said(summary).endswith(f"signed by {sender.public.description}")
    pair = ArchiveSummary("id", signer="ABCD-EFGH-IJKL-MNOP-QRST", signer_kind="x25519")
    assert recipients_said(pair).endswith("signed by ABCD-EFGH-IJKL-MNOP-QRST")


def test_signer_argument_takes_any_signer_and_refuses_bare_keys(tmp_path: Path, data: Path) -> None:
    class Token:  # a Signer with its public key as an attribute, as a token key may be
        def __init__(self) -> None:
            self._soft = P256Signer.generate()
            self.public = self._soft.public

        def sign(self, message: bytes) -> bytes:
            return self._soft.sign(message)

    office = securemedia.SecretKey.generate(classic=True)
    recipients = [office.public.recipient()]
    token = Token()
    assert isinstance(token, securemedia.Signer)
    securemedia.pack([data], tmp_path / "a.sm", recipients, signer=token)
    with pytest.raises(TypeError, match="another Signer"):
        securemedia.pack([data], tmp_path / "b.sm", recipients, signer=token._soft.key)  # type: ignore[arg-type]
    assert not (tmp_path / "b.sm").exists()
    with pytest.raises(TypeError, match="SigningPublicKey"):
        securemedia.unpack(
            tmp_path / "a.sm", tmp_path / "o", [office.identity()], require_signer=[object()]
        )  # type: ignore[list-item]
