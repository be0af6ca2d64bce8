"""One fingerprint per key pair, through the library: the signature block
carries the signer's whole public key, the message binds it, and the API's
one-line loaders for signing keys and required signers (issue 11)."""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import securemedia
from conftest import KeyFiles, make_archive
from securemedia import signature
from securemedia.archive.reader import ArchiveReader
from securemedia.archive.records import TRAILER
from securemedia.envelope import open_header
from securemedia.errors import FormatError, KeyFileError, SignatureError, UsageError
from securemedia.header import read_header
from securemedia.keys import PublicKey, SecretKey, parse_fingerprint
from securemedia.stream import StreamReader, StreamWriter

MEMBERS = [("rows.csv", b"id,value\n1,alpha\n")]


def _block_and_plain(archive: bytes, key: SecretKey) -> tuple[bytes, bytes, int]:
    """The payload plaintext, its signature block and where that block starts."""
    source = io.BytesIO(archive)
    header = read_header(source)
    plain = b"".join(StreamReader(open_header(header, [key.identity()]), source).chunks())
    index_offset, index_len, sig_len, _ = TRAILER.unpack(plain[-TRAILER.size :])
    at = index_offset + 1 + index_len
    return plain[at : at + sig_len], plain, at


def _reseal(archive: bytes, key: SecretKey, plain: bytes) -> bytes:
    """The same header, the payload replaced (what anyone who can decrypt can do)."""
    source = io.BytesIO(archive)
    header = read_header(source)
    sink = io.BytesIO()
    stream = StreamWriter(open_header(header, [key.identity()]), sink)
    stream.write(plain)
    stream.close()
    return header.raw + sink.getvalue()


@pytest.mark.parametrize(("classic", "size"), [(True, 129), (False, 1313)], ids=["x25519", "pq"])
def test_the_block_carries_the_whole_public_key_and_reads_back_as_the_pair(
    classic_key: SecretKey, classic: bool, size: int
) -> None:
    sender = SecretKey.generate(classic=classic)
    archive = make_archive(MEMBERS, [classic_key.public.recipient()], signer=sender)
    block, _, _ = _block_and_plain(archive, classic_key)
    assert len(block) == size
    assert block[: size - 64] == sender.public.to_blob()
    reader = ArchiveReader(io.BytesIO(archive), [classic_key.identity()])
    assert reader.signer == sender.public
    # The fingerprint a reader shows is the one keygen printed for the pair.
    assert reader.signer is not None and reader.signer.fingerprint == sender.public.fingerprint


def test_a_grafted_encryption_key_breaks_the_signature(classic_key: SecretKey) -> None:
    """A co-recipient swaps the encryption key in the block for its own, to make
    readers show another fingerprint: the message binds the whole key."""
    sender, other = SecretKey.generate(classic=True), SecretKey.generate(classic=True)
    archive = make_archive(MEMBERS, [classic_key.public.recipient()], signer=sender)
    block, plain, at = _block_and_plain(archive, classic_key)
    grafted = block[:1] + other.public.encryption + block[33:]
    forged = _reseal(archive, classic_key, plain[:at] + grafted + plain[at + len(block) :])
    with pytest.raises(SignatureError, match="does not verify"):
        ArchiveReader(io.BytesIO(forged), [classic_key.identity()])


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(bytes(96), id="legacy-96"),
        pytest.param(b"\x03" + bytes(128), id="unknown-kind"),
        pytest.param(b"\x01" + bytes(128), id="pq-kind-x25519-length"),
    ],
)
def test_malformed_blocks_are_index_failures(classic_key: SecretKey, block: bytes) -> None:
    archive = make_archive(MEMBERS, [classic_key.public.recipient()])
    _, plain, at = _block_and_plain(archive, classic_key)
    index_offset, index_len, _, magic = TRAILER.unpack(plain[-TRAILER.size :])
    body = plain[:at] + block + struct.pack(">QQI8s", index_offset, index_len, len(block), magic)
    with pytest.raises(FormatError) as caught:
        ArchiveReader(io.BytesIO(_reseal(archive, classic_key, body)), [classic_key.identity()])
    assert type(caught.value) is FormatError


def test_wrong_signer_names_both_fingerprints(classic_key: SecretKey) -> None:
    sender, wanted = SecretKey.generate(classic=True), SecretKey.generate(classic=True)
    archive = make_archive(MEMBERS, [classic_key.public.recipient()], signer=sender)
    with pytest.raises(SignatureError) as caught:
        ArchiveReader(io.BytesIO(archive), [classic_key.identity()], require_signer=[wanted.public])
    assert sender.public.fingerprint in str(caught.value)
    assert wanted.public.fingerprint in str(caught.value)
    unsigned = make_archive(MEMBERS, [classic_key.public.recipient()])
    with pytest.raises(SignatureError, match=f"not signed.*{wanted.public.fingerprint}"):
        ArchiveReader(
            io.BytesIO(unsigned), [classic_key.identity()], require_signer=[wanted.public]
        )


def test_a_signer_with_the_same_ed25519_key_but_another_encryption_key_is_not_required(
    classic_key: SecretKey,
) -> None:
    """--require-signer compares the whole public key, not the Ed25519 half."""
    sender = SecretKey.generate(classic=True)
    twin = PublicKey(sender.public.kind, SecretKey.generate(classic=True).public.encryption,
                     sender.public.signing)  # fmt: skip
    archive = make_archive(MEMBERS, [classic_key.public.recipient()], signer=sender)
    with pytest.raises(SignatureError):
        ArchiveReader(io.BytesIO(archive), [classic_key.identity()], require_signer=[twin])


def test_message_is_the_documented_one(classic_key: SecretKey) -> None:
    """FORMAT.md section 9, computed here from the spec."""
    sender = SecretKey.generate(classic=True)
    archive = make_archive(MEMBERS, [classic_key.public.recipient()], signer=sender)
    block, plain, _ = _block_and_plain(archive, classic_key)
    header = read_header(io.BytesIO(archive))
    index_offset, index_len, _, _ = TRAILER.unpack(plain[-TRAILER.size :])
    index = plain[index_offset + 1 : index_offset + 1 + index_len]
    signer_bytes = b"\x02" + sender.public.encryption + sender.public.signing
    message = (
        b"securemedia/v1 signature\x00"
        + hashlib.sha256(header.raw).digest()
        + hashlib.sha256(index).digest()
        + hashlib.sha256(signer_bytes).digest()
    )
    assert block[:-64] == signer_bytes
    ed25519.Ed25519PublicKey.from_public_bytes(sender.public.signing).verify(block[-64:], message)
    assert signature.verify(block, header.raw, index, [sender.public]) == sender.public


def test_api_one_line_loaders_sign_and_require(
    tmp_path: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office, sender = make_keys("office.key"), make_keys("sender.key")
    protected = tmp_path / "protected.key"
    sender.secret.save(protected, b"key passphrase")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")
    signing = securemedia.load_signing_key(str(protected), lambda: b"key passphrase")
    assert signing == sender.secret
    recipients = securemedia.load_recipients(str(office.pub_path))
    summary = securemedia.pack([tmp_path / "in"], tmp_path / "a.sm", recipients, signer=signing)
    assert summary.signer == sender.secret.public.fingerprint
    identities = securemedia.load_identities(str(office.path), lambda: b"")
    for spec in (str(sender.pub_path), sender.pub_line):
        signers = securemedia.load_signers(spec)
        assert signers == [sender.secret.public]
        with securemedia.open_archive(tmp_path / "a.sm", identities, require_signer=signers) as r:
            assert r.signer == sender.secret.public
    with pytest.raises(UsageError, match="protected by a passphrase"):
        securemedia.load_signing_key(str(protected))
    with pytest.raises(KeyFileError, match="public key file, where the private key file"):
        securemedia.load_signing_key(str(sender.pub_path))
    with pytest.raises(KeyFileError, match="private key file, where a public key is needed"):
        securemedia.load_signers(str(sender.path))


def test_a_bare_ed25519_key_is_refused_as_signer_with_a_clear_type_error(
    tmp_path: Path, classic_key: SecretKey
) -> None:
    with pytest.raises(TypeError, match="load_signing_key"):
        securemedia.ArchiveWriter(
            io.BytesIO(),
            [classic_key.public.recipient()],
            signer=ed25519.Ed25519PrivateKey.generate(),  # type: ignore[arg-type]
        )


def test_require_signer_of_the_wrong_type_is_a_clear_type_error(classic_key: SecretKey) -> None:
    archive = make_archive(MEMBERS, [classic_key.public.recipient()])
    for wrong in (["sender.key.pub"], [classic_key.public.signing]):
        with pytest.raises(TypeError, match="load_signers"):
            ArchiveReader(io.BytesIO(archive), [classic_key.identity()], require_signer=wrong)  # type: ignore[arg-type]


def test_fingerprint_lookup_in_the_key_directory(
    tmp_path: Path, make_keys: Callable[..., KeyFiles], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    sender = make_keys("sender.key")
    (keys / "sender.key.pub").write_bytes(sender.pub_path.read_bytes())
    (keys / "notes.pub").write_text("not a key\n")  # skipped, not fatal
    monkeypatch.setenv("SECUREMEDIA_KEYS", str(keys))
    fingerprint = sender.secret.public.fingerprint
    for typed in (fingerprint, fingerprint.replace("-", "").lower(), f" {fingerprint.lower()} "):
        assert securemedia.load_signers(typed) == [sender.secret.public]
        assert len(securemedia.load_recipients(typed)) == 1
    stranger = SecretKey.generate(classic=True).public.fingerprint
    with pytest.raises(UsageError, match=f"no public key with fingerprint {stranger}") as caught:
        securemedia.load_signers(stranger)
    assert str(keys) in str(caught.value)
    # Without SECUREMEDIA_KEYS: $XDG_CONFIG_HOME/securemedia/keys.
    monkeypatch.delenv("SECUREMEDIA_KEYS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    default = tmp_path / "config" / "securemedia" / "keys"
    with pytest.raises(UsageError, match=str(default)):
        securemedia.load_signers(fingerprint)
    # A key given alongside is at hand too.
    assert securemedia.load_signers(fingerprint, extra=[str(sender.pub_path)]) == [
        sender.secret.public
    ]


def test_parse_fingerprint() -> None:
    assert parse_fingerprint("fzy7 2kqm aaaa bbbb cccc") == "FZY7-2KQM-AAAA-BBBB-CCCC"
    assert parse_fingerprint("FZY7-2KQM-AAAA-BBBB-CCC") is None  # 19 characters
    assert parse_fingerprint("FZY7-2KQM-AAAA-BBBB-CCC1") is None  # 1 is not base32
    assert parse_fingerprint("office.key.pub") is None
