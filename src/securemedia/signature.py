"""Sender signatures: what is signed, and how it is checked.

Anyone who can decrypt an archive knows its file key and could write a new one
for the other recipients, so sender authenticity needs a signature. The signed
message binds the header (and so the recipient list and the file key, through
the header MAC), the index (which holds the BLAKE3 digest of every member) and
the signer's whole public key:

    message = "securemedia/v1 signature" 0x00 || SHA-256(header) || SHA-256(index)
              || SHA-256(kind || encryption public || ed25519 public)
    block   = kind || encryption public || ed25519 public (32) || signature (64)

The block carries the whole key pair's public half, not only its Ed25519 key,
so a reader can show the one fingerprint that ``keygen`` showed (which covers
the encryption key too); binding that key into the message stops anyone who
can decrypt from grafting another encryption key onto a valid signature to
show another fingerprint.

The signature block lives inside the encrypted payload: a finder learns nothing
about who sent the disc; recipients learn the signer's public key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature

from .errors import FormatError, SignatureError
from .keys import PublicKey, SecretKey

_SIGNATURE = 64
BLOCK_SIZES = tuple(size + _SIGNATURE for size in PublicKey.BLOB_SIZES.values())
"""Every valid length of a signature block (besides 0: unsigned)."""
MAX_BLOCK_SIZE = max(BLOCK_SIZES)
_DOMAIN = b"securemedia/v1 signature\x00"


def _message(header_raw: bytes, index_digest: bytes, public: PublicKey) -> bytes:
    return (
        _DOMAIN
        + hashlib.sha256(header_raw).digest()
        + index_digest
        + hashlib.sha256(public.to_blob()).digest()
    )


def sign(key: SecretKey, header_raw: bytes, index: bytes) -> bytes:
    """The signature block: the signer's public key blob, then the signature (64)."""
    return sign_digest(key, header_raw, hashlib.sha256(index).digest())


def sign_digest(key: SecretKey, header_raw: bytes, index_digest: bytes) -> bytes:
    """:func:`sign` given SHA-256(index) rather than the index: the writer hashes
    the index piece by piece as it streams it, never holding it whole."""
    public = key.public
    return public.to_blob() + key.signing_key().sign(_message(header_raw, index_digest, public))


def verify(
    block: bytes,
    header_raw: bytes,
    index: bytes,
    required: Sequence[PublicKey] | None,
) -> PublicKey | None:
    """Check a signature block; return the signer's public key (or None if unsigned).

    ``required`` lists acceptable signers; when given, an unsigned archive or
    another signer is refused.
    """
    return verify_digest(block, header_raw, hashlib.sha256(index).digest(), required)


def verify_digest(
    block: bytes,
    header_raw: bytes,
    index_digest: bytes,
    required: Sequence[PublicKey] | None,
) -> PublicKey | None:
    """:func:`verify` given SHA-256(index) rather than the index: a reader hashes
    a large index piece by piece and checks the signature before parsing it."""
    if not block:
        if required:
            raise SignatureError(
                f"archive is not signed, but a signer is required ({_names(required)})"
            )
        return None
    if len(block) not in BLOCK_SIZES:
        raise FormatError("archive signature block is malformed")
    try:
        public = PublicKey.from_blob(block[:-_SIGNATURE])
    except ValueError:
        raise FormatError("archive signature block is malformed") from None
    try:
        public.verify_key().verify(block[-_SIGNATURE:], _message(header_raw, index_digest, public))
    except (InvalidSignature, ValueError):
        raise SignatureError(
            "archive signature does not verify: altered after it was signed"
        ) from None
    if required and not any(same_key(public, r) for r in required):
        raise SignatureError(
            f"archive is signed by {public.fingerprint}, not by the required signer "
            f"({_names(required)})"
        )
    return public


def same_key(a: PublicKey, b: PublicKey) -> bool:
    """True if ``a`` and ``b`` are the same key pair (kind, encryption and signing keys)."""
    return hmac.compare_digest(a.to_blob(), b.to_blob())


def _names(keys: Sequence[PublicKey]) -> str:
    return ", ".join(dict.fromkeys(k.fingerprint for k in keys))
