"""Sender signatures: what is signed, and how it is checked.

Anyone who can decrypt an archive knows its file key and could write a new one
for the other recipients, so sender authenticity needs a signature. The signed
message binds the header (and so the recipient list and the file key, through
the header MAC) and the index (which holds the BLAKE3 digest of every member):

    message = "securemedia/v1 signature" 0x00 || SHA-256(header) || SHA-256(index)

The signature block lives inside the encrypted payload: a finder learns nothing
about who sent the disc; recipients learn the signer's public key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import FormatError, SignatureError

BLOCK_SIZE = 32 + 64
_DOMAIN = b"securemedia/v1 signature\x00"


def _message(header_raw: bytes, index_digest: bytes) -> bytes:
    return _DOMAIN + hashlib.sha256(header_raw).digest() + index_digest


def sign(key: ed25519.Ed25519PrivateKey, header_raw: bytes, index: bytes) -> bytes:
    """The signature block: signer's public key (32) then the signature (64)."""
    return sign_digest(key, header_raw, hashlib.sha256(index).digest())


def sign_digest(key: ed25519.Ed25519PrivateKey, header_raw: bytes, index_digest: bytes) -> bytes:
    """:func:`sign` given SHA-256(index) rather than the index: the writer hashes
    the index piece by piece as it streams it, never holding it whole."""
    public = key.public_key().public_bytes_raw()
    return public + key.sign(_message(header_raw, index_digest))


def verify(
    block: bytes,
    header_raw: bytes,
    index: bytes,
    required: Sequence[bytes] | None,
) -> bytes | None:
    """Check a signature block; return the signer's public key (or None if unsigned).

    ``required`` lists acceptable signer public keys (raw 32 bytes); when given,
    an unsigned archive or another signer is refused.
    """
    return verify_digest(block, header_raw, hashlib.sha256(index).digest(), required)


def verify_digest(
    block: bytes,
    header_raw: bytes,
    index_digest: bytes,
    required: Sequence[bytes] | None,
) -> bytes | None:
    """:func:`verify` given SHA-256(index) rather than the index: a reader hashes
    a large index piece by piece and checks the signature before parsing it."""
    if not block:
        if required:
            raise SignatureError("archive is not signed, but a signer is required")
        return None
    if len(block) != BLOCK_SIZE:
        raise FormatError("archive signature block is malformed")
    public, signature = block[:32], block[32:]
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(
            signature, _message(header_raw, index_digest)
        )
    except (InvalidSignature, ValueError):
        raise SignatureError(
            "archive signature does not verify: altered after it was signed"
        ) from None
    if required and not any(hmac.compare_digest(public, r) for r in required):
        raise SignatureError("archive is signed by a key other than the required signer")
    return public
