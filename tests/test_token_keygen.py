"""keygen --pkcs11 on a real SoftHSM2 token: the README's workflow end to end
(make the key on the token, send the certificate, unpack with the URI)."""

from __future__ import annotations

import os
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, ObjectClass

from conftest import RunCli
from token_support import PIN, TokenStore, registry_session, token_store


@pytest.fixture
def store() -> TokenStore:
    return token_store()


def _private(label: str) -> dict[Attribute, object]:
    with registry_session() as session:
        keys = list(
            session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label})
        )
        assert len(keys) == 1
        wanted = [Attribute.SIGN, Attribute.SENSITIVE, Attribute.NEVER_EXTRACTABLE]
        return {a: keys[0][a] for a in wanted}


@pytest.mark.parametrize(("kind", "label"), [("p256", "made-p256"), ("rsa-3072", "made-rsa")])
def test_keygen_on_the_token_then_pack_and_unpack(
    run_cli: RunCli, tmp_path: Path, store: TokenStore, kind: str, label: str
) -> None:
    uri = f"pkcs11:token=Registry;object={label}?module-path={store.module}"
    env = store.env(SECUREMEDIA_PKCS11_PIN=PIN)
    made = run_cli("keygen", "--pkcs11", uri, "--kind", kind, "-o", label, env=env)
    assert made.code == 0, made.stderr
    cert = x509.load_pem_x509_certificate((tmp_path / f"{label}.crt").read_bytes())
    cert.verify_directly_issued_by(cert)  # signed by the token key itself
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey if kind == "rsa-3072" else ec.EllipticCurvePublicKey)
    assert made.out.strip().endswith(cert.fingerprint(hashes.SHA256()).hex(":").upper())
    attributes = _private(label)
    assert attributes[Attribute.SIGN] is False  # it signed its certificate, and no more
    assert attributes[Attribute.SENSITIVE] is True
    assert attributes[Attribute.NEVER_EXTRACTABLE] is True

    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_bytes(content := os.urandom(1000))
    assert run_cli("pack", data, "-o", "a.sm", "-r", f"{label}.crt").code == 0
    unpacked = run_cli("unpack", "a.sm", "-i", uri, "-o", "out", env=env)
    if kind == "rsa-3072" and pkcs11.lib(store.module).library_version < (2, 7):
        assert unpacked.code == 2  # SoftHSM 2.6: OAEP with SHA-1 only (test_token_cli.py)
        return
    assert unpacked.code == 0, unpacked.stderr
    assert (tmp_path / "out" / "data" / "x.csv").read_bytes() == content


def test_keygen_refuses_a_taken_label_and_an_existing_file(
    run_cli: RunCli, tmp_path: Path, store: TokenStore
) -> None:
    env = store.env(SECUREMEDIA_PKCS11_PIN=PIN, SECUREMEDIA_PKCS11_MODULE=store.module)
    taken = run_cli("keygen", "--pkcs11", "pkcs11:token=Registry;object=office", "-o", "o", env=env)
    assert taken.code == 2
    assert "already holds an object with this label" in taken.stderr
    assert not (tmp_path / "o.crt").exists()
    (tmp_path / "n.crt").write_bytes(b"keep")
    exists = run_cli(
        "keygen", "--pkcs11", "pkcs11:token=Registry;object=never-made", "-o", "n", env=env
    )
    assert exists.code == 1
    assert (tmp_path / "n.crt").read_bytes() == b"keep"
    with registry_session() as session:
        assert not list(session.get_objects({Attribute.LABEL: "never-made"}))
