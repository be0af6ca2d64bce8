"""HPKE recipients (RFC 9180): X25519, hybrid ML-KEM-768+X25519, P-256, P-384.

The stanza body is HPKE's single-shot output, ``enc || AEAD(file key)``, with
an ``info`` string that names the format version and the stanza kind, so a
wrapped key cannot be moved into another context.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)

from ..errors import UsageError
from ..header import Stanza, StanzaType

_SUITES = {
    StanzaType.X25519: Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
    StanzaType.MLKEM768_X25519: Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
    StanzaType.P256: Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
    StanzaType.P384: Suite(KEM.P384, KDF.HKDF_SHA384, AEAD.AES_256_GCM),
}

_NAMES = {
    StanzaType.X25519: "X25519",
    StanzaType.MLKEM768_X25519: "ML-KEM-768+X25519",
    StanzaType.P256: "P-256",
    StanzaType.P384: "P-384",
}

PublicKeyType = x25519.X25519PublicKey | MLKEM768X25519PublicKey | ec.EllipticCurvePublicKey
PrivateKeyType = x25519.X25519PrivateKey | MLKEM768X25519PrivateKey | ec.EllipticCurvePrivateKey


def info_for(kind: StanzaType) -> bytes:
    return b"securemedia/v1 stanza " + kind.name.encode()


def kind_of_public(key: PublicKeyType) -> StanzaType:
    if isinstance(key, x25519.X25519PublicKey):
        return StanzaType.X25519
    if isinstance(key, MLKEM768X25519PublicKey):
        return StanzaType.MLKEM768_X25519
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return StanzaType.P256
        if isinstance(key.curve, ec.SECP384R1):
            return StanzaType.P384
    raise ValueError(
        "unsupported public key type for HPKE (X25519, ML-KEM-768+X25519, P-256, P-384)"
    )


@dataclass(frozen=True)
class HPKERecipient:
    """Wraps the file key to one HPKE public key."""

    public_key: PublicKeyType
    description: str = ""

    @property
    def kind(self) -> StanzaType:
        return kind_of_public(self.public_key)

    @property
    def label(self) -> str:
        return self.description or f"{_NAMES[self.kind]} key"

    def wrap(self, file_key: bytes) -> Stanza:
        kind = self.kind
        try:
            body = _SUITES[kind].encrypt(file_key, self.public_key, info=info_for(kind))
        except ValueError:
            # A degenerate key (e.g. a low-order X25519 point) has no shared secret.
            raise UsageError(f"{self.label}: not a usable public key") from None
        return Stanza(kind, body)


class HPKEIdentity:
    """Unwraps stanzas made for one HPKE private key."""

    def __init__(self, private_key: PrivateKeyType) -> None:
        self._key = private_key
        public = private_key.public_key()
        self.kind = kind_of_public(public)

    def __repr__(self) -> str:
        return f"HPKEIdentity({_NAMES[self.kind]}, <secret>)"

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type is not self.kind:
            return None
        try:
            return _SUITES[self.kind].decrypt(stanza.body, self._key, info=info_for(self.kind))
        except (InvalidTag, ValueError):
            return None
