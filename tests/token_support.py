"""A real SoftHSM2 token store in a temporary directory, for the token tests.

SoftHSM reads SOFTHSM2_CONF once per process (at C_Initialize), so the store is
made once per test run and shared: token "Registry" (PIN 1234) with an RSA-3072,
a P-256, a P-384 and an Ed25519 key pair made by securemedia's own
:func:`~securemedia.tokens.generate.generate_key_pair`, plus "copy", a P-256 key
imported from software (so that pyca/cryptography can open the same stanzas);
token "Second" (PIN 4321) with another P-256 key. Child processes see it
through ``token_env()``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
PIN = "1234"
SECOND_PIN = "4321"


@dataclass(frozen=True)
class TokenStore:
    conf: Path
    module: str
    copy_key: ec.EllipticCurvePrivateKey
    """The software original of the "copy" key on Registry (tests only)."""

    def env(self, **extra: str) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf), **extra}


_STORE: list[TokenStore] = []


def _module() -> str:
    for path in MODULE_CANDIDATES:
        if Path(path).is_file():
            return path
    pytest.fail("SoftHSM2 is not installed (apt-get install softhsm2): the token tests need it")


def _init_token(conf: Path, label: str, pin: str) -> None:
    tool = shutil.which("softhsm2-util")
    if tool is None:
        pytest.fail("softhsm2-util is not installed (apt-get install softhsm2)")
    subprocess.run(
        [tool, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "99999999"],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        check=True,
        capture_output=True,
    )


def fresh_store(root: Path, *labels: str) -> dict[str, str]:
    """A token store of its own in ``root`` with blank tokens ``labels`` (PIN
    PIN), and the environment that points child processes at it (this process
    keeps the shared one: SoftHSM reads its configuration once)."""
    (root / "tokens").mkdir(parents=True)
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    for label in labels:
        _init_token(conf, label, PIN)
    return {"SOFTHSM2_CONF": str(conf), "SECUREMEDIA_PKCS11_MODULE": _module()}


def _import_p256(session: object, key: ec.EllipticCurvePrivateKey) -> None:
    """Put a software P-256 key on the token (as a real office would not: tests only)."""
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    params = encode_named_curve_parameters("secp256r1")
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    common = {Attribute.KEY_TYPE: KeyType.EC, Attribute.EC_PARAMS: params, Attribute.TOKEN: True}
    session.create_object(  # type: ignore[attr-defined]
        {
            **common,
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.LABEL: "copy",
            Attribute.ID: b"\x05",
            Attribute.VALUE: key.private_numbers().private_value.to_bytes(32, "big"),
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.DERIVE: True,
            Attribute.PRIVATE: True,
        }
    )
    session.create_object(  # type: ignore[attr-defined]
        {
            **common,
            Attribute.CLASS: ObjectClass.PUBLIC_KEY,
            Attribute.LABEL: "copy",
            Attribute.ID: b"\x05",
            Attribute.EC_POINT: bytes([0x04, len(point)]) + point,
        }
    )


def token_store() -> TokenStore:
    """The one token store of this test run (made on first use)."""
    if _STORE:
        return _STORE[0]
    import pkcs11

    from securemedia.tokens.generate import TokenKeyKind, generate_key_pair

    module = _module()
    root = Path(tempfile.mkdtemp(prefix="sm-softhsm-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    _init_token(conf, "Registry", PIN)
    _init_token(conf, "Second", SECOND_PIN)
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before this process loads the module
    lib = pkcs11.lib(module)
    copy_key = ec.generate_private_key(ec.SECP256R1())
    with lib.get_token(token_label="Registry").open(rw=True, user_pin=PIN) as session:
        generate_key_pair(session, TokenKeyKind.RSA3072, "office-rsa", b"\x01")
        generate_key_pair(session, TokenKeyKind.P256, "office", b"\x02")
        generate_key_pair(session, TokenKeyKind.P384, "office-384", b"\x03")
        generate_key_pair(session, TokenKeyKind.ED25519, "sender", b"\x04")
        _import_p256(session, copy_key)
    with lib.get_token(token_label="Second").open(rw=True, user_pin=SECOND_PIN) as session:
        generate_key_pair(session, TokenKeyKind.P256, "other", b"\x01")
    _STORE.append(TokenStore(conf, module, copy_key))
    return _STORE[0]


def registry_session() -> Any:
    """A session on Registry that sees its private objects. Login is per process
    and token: if securemedia's loader logged in already, a new session shares it."""
    import pkcs11

    token = pkcs11.lib(token_store().module).get_token(token_label="Registry")
    try:
        return token.open(user_pin=PIN)
    except pkcs11.UserAlreadyLoggedIn:
        return token.open()


def public_key_of(label: str, token: str = "Registry") -> object:
    """The pyca/cryptography public key of a token key pair (read from the token:
    public objects need no login)."""
    import pkcs11
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, ObjectClass

    store = token_store()
    with pkcs11.lib(store.module).get_token(token_label=token).open() as session:
        wanted = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: label}
        key = next(session.get_objects(wanted))
        if key.key_type.name == "RSA":
            n = int.from_bytes(key[Attribute.MODULUS], "big")
            e = int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
        point = bytes(key[Attribute.EC_POINT])[2:]
        curve = ec.SECP384R1() if len(point) == 97 else ec.SECP256R1()
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)


def certificate_for(public_key: object, path: Path, subject: str = "office") -> Path:
    """A PEM certificate for a token key, signed by a throwaway software key.

    Only its public key matters to ``-r`` (a sender does not check the issuer);
    a certificate signed by the token itself is keygen --pkcs11's job.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    issuer_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(issuer_key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path
