"""Every recipient kind, alone and mixed: securemedia keys (X25519 and the
ML-KEM-768+X25519 hybrid), X.509 certificates (RSA-OAEP, EC P-256/P-384) and
Argon2id passphrases."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import FAST_ARGON2, KeyFiles, make_archive, write_certificate
from securemedia.archive.reader import ArchiveReader
from securemedia.envelope import header_key, open_header, payload_key, seal_header
from securemedia.errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    OperationalError,
    UsageError,
)
from securemedia.header import Stanza, StanzaType, encode_unsigned, seal
from securemedia.keyring import load_identities, load_recipients
from securemedia.keys import SecretKey
from securemedia.recipients import Identity, Recipient
from securemedia.recipients.hpke import HPKEIdentity, HPKERecipient
from securemedia.recipients.passphrase import PassphraseIdentity, PassphraseRecipient
from securemedia.recipients.rsa import RSAIdentity, RSARecipient

CONTENT = b"id,value\n" + os.urandom(3000)


def no_passphrase() -> bytes:
    raise AssertionError("no passphrase should be asked for")


def opens(archive: bytes, identities: Sequence[Identity]) -> bytes:
    reader = ArchiveReader(io.BytesIO(archive), identities)
    with reader.open_member("data.csv") as member:
        return member.read()


def refused(archive: bytes, identities: Sequence[Identity]) -> None:
    with pytest.raises(NoIdentityError):
        ArchiveReader(io.BytesIO(archive), identities)


# -- key material, generated once per module -------------------------------------------


@pytest.fixture(scope="module")
def rsa3072() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 3072)


@pytest.fixture(scope="module")
def rsa4096() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 4096)


@pytest.fixture(scope="module")
def certs(
    tmp_path_factory: pytest.TempPathFactory,
    rsa3072: rsa.RSAPrivateKey,
    rsa4096: rsa.RSAPrivateKey,
) -> dict[str, tuple[Path, Path]]:
    """name -> (certificate path, private key path); PEM and DER of each kind."""
    d = tmp_path_factory.mktemp("certs")
    keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {
        "rsa3072": rsa3072,
        "rsa4096": rsa4096,
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
    }
    out = {}
    for name, key in keys.items():
        out[name] = write_certificate(d, key, name)
        out[f"{name}-der"] = write_certificate(d, key, f"{name}-der", der=True)
    return out


CERT_KINDS = {
    "rsa3072": (RSARecipient, StanzaType.RSA_OAEP, 384),
    "rsa4096": (RSARecipient, StanzaType.RSA_OAEP, 512),
    "p256": (HPKERecipient, StanzaType.P256, 65 + 48),
    "p384": (HPKERecipient, StanzaType.P384, 97 + 48),
}


# -- each kind alone ----------------------------------------------------------------


@pytest.mark.parametrize("classic", [False, True], ids=["mlkem768x25519", "x25519"])
def test_securemedia_key_alone(classic: bool, make_keys: Callable[..., KeyFiles]) -> None:
    keys = make_keys(classic=classic)
    [recipient] = load_recipients(str(keys.pub_path))
    assert recipient.label == keys.secret.public.recipient().label
    archive = make_archive([("data.csv", CONTENT)], [recipient])
    kind = StanzaType.X25519 if classic else StanzaType.MLKEM768_X25519
    reader = ArchiveReader(io.BytesIO(archive), load_identities(str(keys.path), no_passphrase))
    assert [s.type for s in reader.header.stanzas] == [kind]
    assert opens(archive, [keys.secret.identity()]) == CONTENT
    refused(archive, [SecretKey.generate(classic=classic).identity()])
    refused(archive, [SecretKey.generate(classic=not classic).identity()])


@pytest.mark.parametrize("name", ["rsa3072", "rsa4096", "p256", "p384"])
@pytest.mark.parametrize("der", [False, True], ids=["pem", "der"])
def test_certificate_alone(name: str, der: bool, certs: dict[str, tuple[Path, Path]]) -> None:
    cert_path, key_path = certs[f"{name}-der" if der else name]
    cls, kind, body = CERT_KINDS[name]
    [recipient] = load_recipients(str(cert_path))
    assert isinstance(recipient, cls)
    assert f"CN={name}" in recipient.label
    archive = make_archive([("data.csv", CONTENT)], [recipient])
    identities = load_identities(str(key_path), no_passphrase)
    reader = ArchiveReader(io.BytesIO(archive), identities)
    assert [(s.type, len(s.body)) for s in reader.header.stanzas] == [(kind, body)]
    assert opens(archive, identities) == CONTENT
    refused(archive, [SecretKey.generate().identity()])


def test_rsa_identity_does_not_open_another_rsa_key(
    certs: dict[str, tuple[Path, Path]],
) -> None:
    [recipient] = load_recipients(str(certs["rsa3072"][0]))
    archive = make_archive([("data.csv", CONTENT)], [recipient])
    refused(archive, load_identities(str(certs["rsa4096"][1]), no_passphrase))
    other = rsa.generate_private_key(65537, 3072)
    refused(archive, [RSAIdentity(other)])


def test_ec_identity_does_not_open_another_curve(certs: dict[str, tuple[Path, Path]]) -> None:
    [recipient] = load_recipients(str(certs["p256"][0]))
    archive = make_archive([("data.csv", CONTENT)], [recipient])
    refused(archive, load_identities(str(certs["p384"][1]), no_passphrase))
    refused(archive, [HPKEIdentity(ec.generate_private_key(ec.SECP256R1()))])


def test_encrypted_pem_private_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert, key_path = write_certificate(tmp_path, key, "enc", key_password=b"pem secret")
    archive = make_archive([("data.csv", CONTENT)], load_recipients(str(cert)))
    asked: list[int] = []

    def source() -> bytes:
        asked.append(1)
        return b"pem secret"

    assert opens(archive, load_identities(str(key_path), source)) == CONTENT
    assert asked == [1]
    with pytest.raises(NoIdentityError, match="wrong passphrase"):
        load_identities(str(key_path), lambda: b"not it")


def test_passphrase_alone() -> None:
    archive = make_archive([("data.csv", CONTENT)], [PassphraseRecipient(b"correct", FAST_ARGON2)])
    assert opens(archive, [PassphraseIdentity(b"correct")]) == CONTENT
    refused(archive, [PassphraseIdentity(b"Correct")])
    refused(archive, [PassphraseIdentity(b"")])
    # A key identity does not try a passphrase stanza at all.
    refused(archive, [SecretKey.generate().identity()])


def test_passphrase_stanza_records_its_parameters() -> None:
    header, _ = seal_header([PassphraseRecipient(b"pw", FAST_ARGON2)])
    [s] = header.stanzas
    assert s.type is StanzaType.ARGON2ID
    assert len(s.body) == 76
    assert s.body[16:28] == (1).to_bytes(4, "big") + (1024).to_bytes(4, "big") + (1).to_bytes(
        4, "big"
    )
    other, _ = seal_header([PassphraseRecipient(b"pw", FAST_ARGON2)])
    assert other.stanzas[0].body[:16] != s.body[:16]  # a fresh salt every time


def test_passphrase_mixed_with_a_public_key_refused(classic_key: SecretKey) -> None:
    for recipients in (
        [PassphraseRecipient(b"pw", FAST_ARGON2), classic_key.public.recipient()],
        [classic_key.public.recipient(), PassphraseRecipient(b"pw", FAST_ARGON2)],
        [PassphraseRecipient(b"pw", FAST_ARGON2), PassphraseRecipient(b"pw2", FAST_ARGON2)],
    ):
        with pytest.raises(UsageError, match="cannot be combined"):
            make_archive([("data.csv", b"x")], recipients)


# -- refusals -----------------------------------------------------------------------


def test_rsa_2048_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(65537, 2048)
    cert, key_path = write_certificate(tmp_path, key, "weak")
    with pytest.raises(UsageError, match="2048 bits refused"):
        load_recipients(str(cert))
    with pytest.raises(UsageError, match="2048 bits refused"):
        load_identities(str(key_path), no_passphrase)
    with pytest.raises(UsageError):
        RSARecipient(key.public_key())


@pytest.mark.parametrize(("start", "end"), [(-400, -1), (5, 400)], ids=["expired", "not-yet-valid"])
@pytest.mark.parametrize("der", [False, True], ids=["pem", "der"])
def test_certificate_outside_its_validity_refused(
    tmp_path: Path, start: int, end: int, der: bool
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert, _ = write_certificate(
        tmp_path, key, "dated", der=der, valid_from_days=start, valid_to_days=end
    )
    with pytest.raises(UsageError, match="certificate is not valid now"):
        load_recipients(str(cert))


def test_unsupported_certificate_keys_refused(tmp_path: Path) -> None:
    p521 = ec.generate_private_key(ec.SECP521R1())
    cert, key_path = write_certificate(tmp_path, p521, "p521")
    with pytest.raises(UsageError, match="not supported"):
        load_recipients(str(cert))
    with pytest.raises(UsageError, match="not supported"):
        load_identities(str(key_path), no_passphrase)


def test_ed25519_certificate_refused(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    key = ed25519.Ed25519PrivateKey.generate()
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)
    )
    path = tmp_path / "ed.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(UsageError, match="not supported"):
        load_recipients(str(path))


def test_garbage_certificate_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(UsageError, match=r"not a readable X\.509 certificate"):
        load_recipients(str(path))
    der = tmp_path / "bad.der"
    der.write_bytes(b"\x30\x03\x02\x01\x00")
    with pytest.raises(UsageError, match=r"not a readable X\.509 certificate"):
        load_recipients(str(der))


def test_recipient_specs_that_are_not_recipients(
    tmp_path: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    keys = make_keys()
    with pytest.raises(UsageError, match="private key file"):
        load_recipients(str(keys.path))
    # A missing file is operational (exit 1) like every missing input.
    with pytest.raises(OperationalError, match="no such public key or certificate file"):
        load_recipients(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="is a public key file, where the private key file"):
        load_identities(str(keys.pub_path), no_passphrase)
    with pytest.raises(OperationalError, match="no such key file"):
        load_identities(str(tmp_path / "missing"), no_passphrase)


# -- mixed and many -----------------------------------------------------------------


def test_every_kind_mixed_each_opens_alone(
    certs: dict[str, tuple[Path, Path]], pq_key: SecretKey, classic_key: SecretKey
) -> None:
    recipients: list[Recipient] = [pq_key.public.recipient(), classic_key.public.recipient()]
    identities: list[list[Identity]] = [[pq_key.identity()], [classic_key.identity()]]
    for name in ("rsa3072", "rsa4096-der", "p256-der", "p384"):
        cert, key_path = certs[name]
        recipients += load_recipients(str(cert))
        identities.append(load_identities(str(key_path), no_passphrase))
    archive = make_archive([("data.csv", CONTENT)], recipients)
    kinds = [s.type for s in ArchiveReader(io.BytesIO(archive), identities[0]).header.stanzas]
    assert kinds == [
        StanzaType.MLKEM768_X25519,
        StanzaType.X25519,
        StanzaType.RSA_OAEP,
        StanzaType.RSA_OAEP,
        StanzaType.P256,
        StanzaType.P384,
    ]
    for ids in identities:
        assert opens(archive, ids) == CONTENT
    refused(archive, [SecretKey.generate().identity(), PassphraseIdentity(b"x")])


def test_many_recipients_each_opens_alone() -> None:
    secrets = [SecretKey.generate(classic=i % 2 == 0) for i in range(40)]
    archive = make_archive([("data.csv", CONTENT)], [s.public.recipient() for s in secrets])
    header_ids = set()
    for secret in secrets:
        reader = ArchiveReader(io.BytesIO(archive), [secret.identity()])
        header_ids.add(reader.archive_id)
        with reader.open_member("data.csv") as member:
            assert member.read() == CONTENT
    assert len(header_ids) == 1


def test_recipient_limit() -> None:
    secret = SecretKey.generate(classic=True)
    recipients = [secret.public.recipient()] * 128
    header, _ = seal_header(recipients)
    assert len(header.stanzas) == 128
    open_header(header, [secret.identity()])
    with pytest.raises(UsageError, match="between 1 and 128"):
        seal_header([*recipients, secret.public.recipient()])


# -- unwrap behaviour ---------------------------------------------------------------


def _identities_and_stanzas(
    certs: dict[str, tuple[Path, Path]],
) -> list[tuple[Identity, Stanza]]:
    file_key = os.urandom(32)
    pairs: list[tuple[Identity, Stanza]] = []
    for classic in (False, True):
        secret = SecretKey.generate(classic=classic)
        pairs.append((secret.identity(), secret.public.recipient().wrap(file_key)))
    for name in ("rsa3072", "p256", "p384"):
        [recipient] = load_recipients(str(certs[name][0]))
        [identity] = load_identities(str(certs[name][1]), no_passphrase)
        pairs.append((identity, recipient.wrap(file_key)))
    pw = PassphraseRecipient(b"pw", FAST_ARGON2)
    pairs.append((PassphraseIdentity(b"pw"), pw.wrap(file_key)))
    for identity, stanza in pairs:
        assert identity.unwrap(stanza) == file_key
    return pairs


def test_damaged_stanzas_unwrap_to_nothing_never_raise(
    certs: dict[str, tuple[Path, Path]],
) -> None:
    """An identity meeting a damaged stanza of its kind, or a stanza of another
    kind, answers None: a failure is indistinguishable from "not for me"."""
    pairs = _identities_and_stanzas(certs)
    for identity, stanza in pairs:
        for _, other in pairs:
            if other is not stanza:
                assert identity.unwrap(other) is None
        positions = sorted({0, 1, len(stanza.body) // 2, len(stanza.body) - 1})
        if stanza.type is StanzaType.ARGON2ID:
            positions = [0, 15, 40, 75]  # salt and wrapped key; parameters: test_header
        for pos in positions:
            body = bytearray(stanza.body)
            body[pos] ^= 0x01
            assert identity.unwrap(Stanza(stanza.type, bytes(body))) is None
        for fill in (0x00, 0xFF):
            if stanza.type is StanzaType.ARGON2ID:
                continue
            assert identity.unwrap(Stanza(stanza.type, bytes([fill]) * len(stanza.body))) is None


def test_a_stanza_wrapping_another_file_key_fails_the_header_mac(pq_key: SecretKey) -> None:
    """Key commitment: someone who can write a stanza for our key cannot make us
    accept a header whose MAC was made under another file key."""
    recipient = pq_key.public.recipient()
    real_key, fake_key = os.urandom(32), os.urandom(32)
    nonce = os.urandom(16)
    stanzas = [recipient.wrap(fake_key), recipient.wrap(real_key)]
    header = seal(encode_unsigned(nonce, stanzas), header_key(real_key))
    # The fake stanza unwraps first, fails the MAC, and the real one is used.
    assert open_header(header, [pq_key.identity()]) == payload_key(real_key, nonce)
    only_fake = seal(encode_unsigned(nonce, stanzas[:1]), header_key(real_key))
    with pytest.raises(IntegrityError):
        open_header(only_fake, [pq_key.identity()])


def test_no_identities_at_all(pq_key: SecretKey) -> None:
    archive = make_archive([("data.csv", b"x")], [pq_key.public.recipient()])
    refused(archive, [])


def test_passphrase_identity_only_runs_argon2_within_caps() -> None:
    body = bytearray(PassphraseRecipient(b"pw", FAST_ARGON2).wrap(os.urandom(32)).body)
    body[16:20] = (11).to_bytes(4, "big")  # time cost over the cap
    with pytest.raises(FormatError, match="out of range"):
        PassphraseIdentity(b"pw").unwrap(Stanza(StanzaType.ARGON2ID, bytes(body)))
