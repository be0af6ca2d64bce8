"""The HPKE composed around a token's ECDH (tokens/hpke_open.py) against
pyca/cryptography's HPKE: the same stanza, the same key pair, both paths."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from securemedia.header import Stanza, StanzaType
from securemedia.recipients.hpke import HPKEIdentity, HPKERecipient, info_for
from securemedia.tokens import load_token_identities
from securemedia.tokens.hpke_open import open_stanza
from token_support import PIN, token_store


def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _software_dh(key: ec.EllipticCurvePrivateKey):  # type: ignore[no-untyped-def]
    def dh(enc: bytes) -> bytes:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, enc)
        return key.exchange(ec.ECDH(), peer)

    return dh


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()])
@settings(max_examples=20, deadline=None)
@given(file_key=st.binary(min_size=32, max_size=32))
def test_composed_open_equals_pyca_hpke(curve: ec.EllipticCurve, file_key: bytes) -> None:
    key = ec.generate_private_key(curve)
    stanza = HPKERecipient(key.public_key()).wrap(file_key)
    ours = open_stanza(
        stanza.type, stanza.body, info_for(stanza.type), _point(key), _software_dh(key)
    )
    assert ours == HPKEIdentity(key).unwrap(stanza) == file_key


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()])
def test_composed_open_refuses_what_pyca_refuses(curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve)
    stanza = HPKERecipient(key.public_key()).wrap(os.urandom(32))
    info = info_for(stanza.type)
    dh = _software_dh(key)
    for index in (0, 1, len(stanza.body) // 2, len(stanza.body) - 1):
        body = bytearray(stanza.body)
        body[index] ^= 0x01
        bad = Stanza(stanza.type, bytes(body))
        assert open_stanza(bad.type, bad.body, info, _point(key), dh) is None
        assert HPKEIdentity(key).unwrap(bad) is None
    assert open_stanza(stanza.type, stanza.body, b"another context", _point(key), dh) is None
    assert open_stanza(stanza.type, stanza.body[:-1], info, _point(key), dh) is None
    other = ec.generate_private_key(curve)
    assert open_stanza(stanza.type, stanza.body, info, _point(other), _software_dh(other)) is None


def test_a_software_copy_and_the_token_open_the_same_stanza() -> None:
    """The "copy" key is on the token and in memory: pyca's HPKE and the token's
    ECDH with our key schedule recover the same file key from one stanza."""
    store = token_store()
    file_key = os.urandom(32)
    stanza = HPKERecipient(store.copy_key.public_key()).wrap(file_key)
    uri = f"pkcs11:token=Registry;object=copy?module-path={store.module}"
    (token_identity,) = load_token_identities(uri, pin=PIN)
    assert token_identity.unwrap(stanza) == HPKEIdentity(store.copy_key).unwrap(stanza) == file_key
    # A stanza for another key is "not for me", not an error.
    other = HPKERecipient(ec.generate_private_key(ec.SECP256R1()).public_key()).wrap(file_key)
    assert token_identity.unwrap(other) is None
    assert token_identity.unwrap(Stanza(StanzaType.P384, stanza.body)) is None


def test_token_p384_key_opens_its_stanza() -> None:
    from token_support import public_key_of

    store = token_store()
    file_key = os.urandom(32)
    public = public_key_of("office-384")
    assert isinstance(public, ec.EllipticCurvePublicKey)
    stanza = HPKERecipient(public).wrap(file_key)
    uri = f"pkcs11:token=Registry;object=office-384?module-path={store.module}"
    (identity,) = load_token_identities(uri, pin=PIN)
    assert identity.unwrap(stanza) == file_key
