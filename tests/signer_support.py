"""Software signers of kinds 3 and 4 (FORMAT.md section 9), made from pyca keys.

The CLI makes such keys only on a token (``keygen --pkcs11``); tests and the
conformance vectors need them without one. Each is a tiny
:class:`securemedia.Signer`: its repr shows no key material.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from securemedia.signing_keys import SigningPublicKey


@dataclass(frozen=True)
class Ed25519Signer:
    """Signer kind 3: an Ed25519 key alone."""

    key: ed25519.Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public(self) -> SigningPublicKey:
        return SigningPublicKey("ed25519", self.key.public_key().public_bytes_raw())

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


@dataclass(frozen=True)
class P256Signer:
    """Signer kind 4: an ECDSA P-256 key alone; signatures are r || s (32 each).

    ``high_s`` makes every signature's s the larger of its two values (n - s), as
    a token that does not normalise may return: readers accept both."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    high_s: bool | None = None

    @classmethod
    def generate(cls) -> P256Signer:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_secret(cls, secret: int, *, high_s: bool | None = None) -> P256Signer:
        return cls(ec.derive_private_key(secret, ec.SECP256R1()), high_s)

    @property
    def public(self) -> SigningPublicKey:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return SigningPublicKey("p256", point)

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        n = _N
        if self.high_s is not None and (s > n // 2) != self.high_s:
            s = n - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
