"""Signing on a real SoftHSM2 token through the real CLI: keygen --pkcs11 of a
signing key (Ed25519, ECDSA P-256) writes NAME.pub; pack --sign pkcs11:...
signs with CKM_EDDSA or CKM_ECDSA; unpack --require-signer NAME.pub accepts
it and refuses another signer; a wrong PIN is said before any output; a
signature that does not verify leaves no archive."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, ObjectClass

from conftest import KeyFiles, RunCli
from securemedia.signing_keys import SigningPublicKey
from token_support import PIN, TokenStore, registry_session, token_store

CONTENT = os.urandom(3000)


@pytest.fixture
def store() -> TokenStore:
    return token_store()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "registry.csv").write_bytes(CONTENT)
    return data


def _keygen(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, kind: str, label: str
) -> SigningPublicKey:
    uri = f"pkcs11:token=Registry;object={label}"
    env = store.env(SECUREMEDIA_PKCS11_PIN=PIN, SECUREMEDIA_PKCS11_MODULE=store.module)
    made = run_cli("keygen", "--pkcs11", uri, "--kind", kind, "-o", label, env=env)
    assert made.code == 0, made.stderr
    lines = [
        line
        for line in (tmp_path / f"{label}.pub").read_text().splitlines()
        if not line.startswith("#")
    ]
    key = SigningPublicKey.from_line(lines[0])
    assert key.kind == ("ed25519" if kind == "ed25519" else "p256")
    assert made.out.strip() == key.description  # kind and fingerprint
    return key


def _attributes(label: str) -> dict[Attribute, object]:
    with registry_session() as session:
        (key,) = session.get_objects(
            {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label}
        )
        wanted = [
            Attribute.SIGN, Attribute.DERIVE, Attribute.DECRYPT, Attribute.UNWRAP,
            Attribute.SENSITIVE, Attribute.EXTRACTABLE, Attribute.NEVER_EXTRACTABLE,
            Attribute.ALWAYS_SENSITIVE, Attribute.LOCAL, Attribute.TOKEN, Attribute.PRIVATE,
        ]  # fmt: skip
        found = {a: key[a] for a in wanted}
        with pytest.raises(pkcs11.AttributeSensitive):
            key[Attribute.VALUE]
        return found


@pytest.mark.parametrize(("kind", "label"), [("ed25519", "sign-ed"), ("p256-sign", "sign-p256")])
def test_sign_on_the_token_and_require_the_signer(
    run_cli: RunCli,
    tmp_path: Path,
    store: TokenStore,
    make_keys: Callable[..., KeyFiles],
    kind: str,
    label: str,
) -> None:
    signer = _keygen(run_cli, tmp_path, store, kind, label)
    assert _attributes(label) == {
        Attribute.SIGN: True,  # it signs, and does nothing else
        Attribute.DERIVE: False,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.NEVER_EXTRACTABLE: True,
        Attribute.ALWAYS_SENSITIVE: True,
        Attribute.LOCAL: True,
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
    }
    office = make_keys("office")
    uri = f"pkcs11:token=Registry;object={label}?module-path={store.module}"
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    packed = run_cli(
        "pack", _data(tmp_path), "-o", "a.sm", "-r", office.pub_path, "--sign", uri,
        "--pin-file", pin_file, env=store.env(),
    )  # fmt: skip
    assert packed.code == 0, packed.stderr
    assert f"signed by {signer.description}" in packed.stderr

    ok = run_cli(
        "unpack", "a.sm", "-i", office.path, "--require-signer", f"{label}.pub", "-o", "out"
    )
    assert ok.code == 0, ok.stderr
    assert (tmp_path / "out" / "data" / "registry.csv").read_bytes() == CONTENT
    assert signer.fingerprint in ok.stderr

    other = make_keys("other")
    refused = run_cli(
        "unpack", "a.sm", "-i", office.path, "--require-signer", other.pub_path, "-o", "no"
    )
    assert refused.code == 4, refused.stderr
    assert "signer" in _one_line(refused.stderr)
    assert not (tmp_path / "no").exists()


def test_wrong_pin_before_any_output(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, make_keys: Callable[..., KeyFiles]
) -> None:
    """With the archive going to standard output, not one byte is written
    before the wrong PIN is refused: login comes before packing."""
    office = make_keys("office")
    uri = f"pkcs11:token=Registry;object=sender?module-path={store.module}"
    for output in ("-", "a.sm"):
        wrong = run_cli(
            "pack", _data(tmp_path), "-o", output, "-r", office.pub_path, "--sign", uri,
            env=store.env(SECUREMEDIA_PKCS11_PIN="9999"),
        )  # fmt: skip
        assert wrong.code == 3
        line = _one_line(wrong.stderr)
        assert "wrong PIN" in line and "9999" not in line
        assert wrong.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "office", "office.pub"]


@pytest.mark.parametrize(
    ("label", "words", "code"),
    [
        ("office", "CKA_SIGN is false", 2),  # an encryption key (derive only)
        ("office-384", "only Ed25519 and ECDSA P-256 keys sign", 2),
        ("office-rsa", "RSA keys cannot sign archives", 2),
        ("nothing-here", "no such private key", 1),
    ],
)
def test_keys_that_cannot_sign_are_one_line(
    run_cli: RunCli,
    tmp_path: Path,
    store: TokenStore,
    make_keys: Callable[..., KeyFiles],
    label: str,
    words: str,
    code: int,
) -> None:
    office = make_keys("office")
    uri = f"pkcs11:token=Registry;object={label}?module-path={store.module}"
    result = run_cli(
        "pack", _data(tmp_path), "-o", "a.sm", "-r", office.pub_path, "--sign", uri,
        env=store.env(SECUREMEDIA_PKCS11_PIN=PIN),
    )  # fmt: skip
    assert result.code == code, result.stderr
    assert words in _one_line(result.stderr)
    assert not (tmp_path / "a.sm").exists()


def test_a_key_file_passphrase_is_not_a_pin(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office")
    (tmp_path / "pin").write_text(PIN + "\n")
    uri = f"pkcs11:token=Registry;object=sender?module-path={store.module}"
    result = run_cli(
        "pack", _data(tmp_path), "-o", "a.sm", "-r", office.pub_path, "--sign", uri,
        "--key-passphrase-file", "pin", env=store.env(),
    )  # fmt: skip
    assert result.code == 2
    assert "a token's PIN is --pin-file" in _one_line(result.stderr)


def test_a_signature_that_does_not_verify_leaves_no_archive(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, make_keys: Callable[..., KeyFiles]
) -> None:
    """A token whose public object is not its private key's (a broken or
    hostile token): the token signs at the end, the signature does not verify
    under the key the block would name, and no archive is left."""
    from securemedia.tokens.generate import TokenKeyKind, generate_key_pair

    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = stranger.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    token = pkcs11.lib(store.module).get_token(token_label="Registry")
    try:
        session = token.open(rw=True, user_pin=PIN)
    except pkcs11.UserAlreadyLoggedIn:  # login is per process and token
        session = token.open(rw=True)
    with session:
        public, _ = generate_key_pair(session, TokenKeyKind.P256_SIGN, "liar", b"\x0a")
        template = {a: public[a] for a in (Attribute.KEY_TYPE, Attribute.EC_PARAMS)}
        public.destroy()
        session.create_object(
            {
                **template,
                Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                Attribute.LABEL: "liar",
                Attribute.ID: b"\x0a",
                Attribute.TOKEN: True,
                Attribute.EC_POINT: bytes([0x04, len(point)]) + point,
            }
        )
    office = make_keys("office")
    uri = f"pkcs11:token=Registry;object=liar?module-path={store.module}"
    result = run_cli(
        "pack", _data(tmp_path), "-o", "a.sm", "-r", office.pub_path, "--sign", uri,
        env=store.env(SECUREMEDIA_PKCS11_PIN=PIN),
    )  # fmt: skip
    assert result.code == 1, result.stderr
    assert "does not verify under that key" in _one_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "office", "office.pub"]


def test_a_key_that_wants_its_pin_per_signature_is_refused_before_packing(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, make_keys: Callable[..., KeyFiles]
) -> None:
    """CKA_ALWAYS_AUTHENTICATE (a PIV card's signature key): refused at once,
    not after the pack when the one signature would fail."""
    from pkcs11 import KeyType, Mechanism
    from pkcs11.util.ec import encode_named_curve_parameters

    token = pkcs11.lib(store.module).get_token(token_label="Registry")
    try:
        session = token.open(rw=True, user_pin=PIN)
    except pkcs11.UserAlreadyLoggedIn:
        session = token.open(rw=True)
    with session:
        params = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        params.generate_keypair(
            id=b"\x0b",
            label="piv-like",
            store=True,
            mechanism=Mechanism.EC_KEY_PAIR_GEN,
            private_template={Attribute.SIGN: True, Attribute.ALWAYS_AUTHENTICATE: True},
        )
    office = make_keys("office")
    uri = f"pkcs11:token=Registry;object=piv-like?module-path={store.module}"
    result = run_cli(
        "pack", _data(tmp_path), "-o", "-", "-r", office.pub_path, "--sign", uri,
        env=store.env(SECUREMEDIA_PKCS11_PIN=PIN),
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert "CKA_ALWAYS_AUTHENTICATE" in _one_line(result.stderr)
    assert result.stdout == b""
