"""Sender signatures: what is signed, and how it is checked.

Anyone who can decrypt an archive knows its file key and could write a new one
for the other recipients, so sender authenticity needs a signature. The signed
message binds the header (and so the recipient list and the file key, through
the header MAC), the index (which holds the BLAKE3 digest of every member) and
the signer's whole public key:

    message = "securemedia/v1 signature" 0x00 || SHA-256(header) || SHA-256(index)
              || SHA-256(signer)
    block   = signer || signature (64)
    signer  = 1 || ML-KEM-768+X25519 public || ed25519 public     key pair, pq
            | 2 || x25519 public || ed25519 public                key pair, classic
            | 3 || ed25519 public (32)                            Ed25519 alone
            | 4 || P-256 point, SEC1 uncompressed (65)            ECDSA P-256 alone

A key pair's block carries its whole public half, not only its Ed25519 key, so
a reader can show the one fingerprint that ``keygen`` showed (which covers the
encryption key too); binding that key into the message stops anyone who can
decrypt from grafting another encryption key onto a valid signature to show
another fingerprint. Kinds 3 and 4 are keys that only sign, as a PKCS#11 token
holds them (:mod:`.signing_keys`); the kind byte is inside SHA-256(signer), so a
signature cannot be moved from one kind to another.

The signature block lives inside the encrypted payload: a finder learns nothing
about who sent the disc; recipients learn the signer's public key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature

from .errors import FormatError, OperationalError, SignatureError
from .keys import PublicKey
from .signing_keys import (
    SIGNATURE_SIZE,
    Signer,
    SignerKey,
    SigningPublicKey,
    same_signer,
    signer_key_from_blob,
)

BLOCK_SIZES = tuple(
    sorted(
        size + SIGNATURE_SIZE
        for size in (*PublicKey.BLOB_SIZES.values(), *SigningPublicKey.BLOB_SIZES.values())
    )
)
"""Every valid length of a signature block (besides 0: unsigned): 97, 129, 130, 1313."""
MAX_BLOCK_SIZE = max(BLOCK_SIZES)
_DOMAIN = b"securemedia/v1 signature\x00"


def _message(header_raw: bytes, index_digest: bytes, public: SignerKey) -> bytes:
    return (
        _DOMAIN
        + hashlib.sha256(header_raw).digest()
        + index_digest
        + hashlib.sha256(public.to_blob()).digest()
    )


def sign(signer: Signer, header_raw: bytes, index: bytes) -> bytes:
    """The signature block: the signer's public key blob, then the signature (64)."""
    return sign_digest(signer, header_raw, hashlib.sha256(index).digest())


def sign_digest(signer: Signer, header_raw: bytes, index_digest: bytes) -> bytes:
    """:func:`sign` given SHA-256(index) rather than the index: the writer hashes
    the index piece by piece as it streams it, never holding it whole.

    The signature is checked under the signer's public key before it is used: a
    token that signed with another key than the one it reported, or returned
    something else than 64 bytes, must not produce an archive that every reader
    refuses (OperationalError, before the block is written)."""
    public = signer.public
    message = _message(header_raw, index_digest, public)
    signed = signer.sign(message)
    try:
        if len(signed) != SIGNATURE_SIZE:
            raise InvalidSignature
        public.verify(signed, message)
    except (InvalidSignature, ValueError):
        raise OperationalError(
            f"the signature made by {public.description} does not verify under that key "
            "(a token that signed with another key?): the archive is left unfinished"
        ) from None
    return public.to_blob() + signed


def verify(
    block: bytes,
    header_raw: bytes,
    index: bytes,
    required: Sequence[SignerKey] | None,
) -> SignerKey | None:
    """Check a signature block; return the signer's public key (or None if unsigned).

    ``required`` lists acceptable signers; when given, an unsigned archive or
    another signer is refused.
    """
    return verify_digest(block, header_raw, hashlib.sha256(index).digest(), required)


def verify_digest(
    block: bytes,
    header_raw: bytes,
    index_digest: bytes,
    required: Sequence[SignerKey] | None,
) -> SignerKey | None:
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
        # Kind, length, and the key itself (a P-256 point on the curve, an Ed25519
        # key neither of small order nor non-canonical): all before any signature math.
        public = signer_key_from_blob(block[:-SIGNATURE_SIZE])
    except ValueError:
        raise FormatError("archive signature block is malformed") from None
    try:
        public.verify(block[-SIGNATURE_SIZE:], _message(header_raw, index_digest, public))
    except (InvalidSignature, ValueError):
        raise SignatureError(
            "archive signature does not verify: altered after it was signed"
        ) from None
    if required and not any(same_signer(public, r) for r in required):
        raise SignatureError(
            f"archive is signed by {public.description}, not by the required signer "
            f"({_names(required)})"
        )
    return public


def _names(keys: Sequence[SignerKey]) -> str:
    return ", ".join(dict.fromkeys(k.description for k in keys))
