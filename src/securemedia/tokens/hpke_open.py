"""HPKE base-mode open (RFC 9180) for our P-256 and P-384 stanzas, with the
Diffie-Hellman step done elsewhere (on a token).

pyca/cryptography's HPKE wants the private key in memory; a token only offers
ECDH (``CKM_ECDH1_DERIVE``). So DHKEM's Decap and the key schedule are
composed here from HKDF and AES-GCM, for exactly the two suites
:mod:`securemedia.recipients.hpke` uses, single-shot (sequence number 0),
empty AAD, the stanza's ``info``. This is the one place where we compose HPKE
ourselves: tests/test_token_hpke.py checks it against pyca/cryptography's HPKE
on the same key pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from ..header import StanzaType
from ..recipients import FILE_KEY_SIZE

_AEAD_ID = 0x0002  # AES-256-GCM
_NK, _NN, _NT = 32, 12, 16
_MODE_BASE = b"\x00"


@dataclass(frozen=True)
class _Suite:
    curve: ec.EllipticCurve
    kem_id: int
    kdf_id: int
    hash: hashes.HashAlgorithm
    n_secret: int  # Nsecret = Nh of the KEM's KDF = Ndh
    n_pk: int  # an uncompressed point

    def kem_suite(self) -> bytes:
        return b"KEM" + self.kem_id.to_bytes(2, "big")

    def hpke_suite(self) -> bytes:
        return (
            b"HPKE"
            + self.kem_id.to_bytes(2, "big")
            + self.kdf_id.to_bytes(2, "big")
            + _AEAD_ID.to_bytes(2, "big")
        )


SUITES = {
    # DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
    StanzaType.P256: _Suite(ec.SECP256R1(), 0x0010, 0x0001, hashes.SHA256(), 32, 65),
    # DHKEM(P-384, HKDF-SHA384), HKDF-SHA384, AES-256-GCM
    StanzaType.P384: _Suite(ec.SECP384R1(), 0x0011, 0x0002, hashes.SHA384(), 48, 97),
}


def _extract(suite: _Suite, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """LabeledExtract (RFC 9180 §4)."""
    return HKDF.extract(suite.hash, salt, b"HPKE-v1" + suite_id + label + ikm)


def _expand(
    suite: _Suite, suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int
) -> bytes:
    """LabeledExpand (RFC 9180 §4)."""
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
    return HKDFExpand(suite.hash, length, labeled).derive(prk)


def open_stanza(
    kind: StanzaType,
    body: bytes,
    info: bytes,
    recipient_point: bytes,
    dh: Callable[[bytes], bytes],
) -> bytes | None:
    """The file key in an HPKE stanza body ``enc || ciphertext``, or None.

    ``recipient_point``: the recipient's public key, uncompressed (pkRm).
    ``dh(enc)``: the ECDH shared x-coordinate of the recipient's private key and
    the (already validated) point ``enc``. None for any stanza that does not
    open: wrong size, an invalid point, a failed tag; nothing says which.
    """
    suite = SUITES.get(kind)
    if suite is None or len(body) != suite.n_pk + FILE_KEY_SIZE + _NT:
        return None
    enc, ciphertext = body[: suite.n_pk], body[suite.n_pk :]
    if enc[0] != 0x04:  # SerializePublicKey is the uncompressed form only
        return None
    try:  # on the curve and not the identity, before the token sees it
        ec.EllipticCurvePublicKey.from_encoded_point(suite.curve, enc)
    except ValueError:
        return None
    shared = dh(enc)
    if len(shared) != suite.n_secret:
        return None
    # DHKEM Decap (RFC 9180 §4.1): ExtractAndExpand(dh, enc || pkRm).
    kem = suite.kem_suite()
    eae_prk = _extract(suite, kem, b"", b"eae_prk", shared)
    secret_kem = _expand(
        suite, kem, eae_prk, b"shared_secret", enc + recipient_point, suite.n_secret
    )
    # KeySchedule (RFC 9180 §5.1), mode_base, no PSK.
    hpke = suite.hpke_suite()
    psk_id_hash = _extract(suite, hpke, b"", b"psk_id_hash", b"")
    info_hash = _extract(suite, hpke, b"", b"info_hash", info)
    context = _MODE_BASE + psk_id_hash + info_hash
    secret = _extract(suite, hpke, secret_kem, b"secret", b"")
    key = _expand(suite, hpke, secret, b"key", context, _NK)
    base_nonce = _expand(suite, hpke, secret, b"base_nonce", context, _NN)
    try:  # sequence number 0: the nonce is base_nonce itself
        return AESGCM(key).decrypt(base_nonce, ciphertext, b"")
    except InvalidTag:
        return None
