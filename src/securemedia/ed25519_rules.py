"""The Ed25519 verification rules of FORMAT.md section 9, made library-independent.

We verify with RFC 8032 section 5.1.7, cofactorless (``[S]B = R + [k]A``), with
S < L. pyca/cryptography (OpenSSL) already checks S < L and compares R byte for
byte with the encoding of ``[S]B - [k]A``; it does not refuse a small-order or
non-canonically encoded public key A. Those are where libraries disagree on a
crafted signature (with A of small order, ``R = A = identity``, ``S = 0``
"verifies" for every message), so we check them here, on the bytes, before the
library sees them: constant data and an integer comparison, no curve arithmetic.
"""

from __future__ import annotations

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
"""The order of the Ed25519 base point (RFC 8032 section 5.1)."""

# The canonical encodings of the eight points of small order (1, 2, 4, 8), and the
# sign-bit variants of the two points with x = 0 (which RFC 8032 decoding refuses,
# but a lax library may accept). Little-endian y, the sign of x in the top bit.
_SMALL_ORDER_Y = (
    "0000000000000000000000000000000000000000000000000000000000000000",  # y = 0, order 4
    "0100000000000000000000000000000000000000000000000000000000000000",  # y = 1, identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = -1, order 2
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
)
SMALL_ORDER_KEYS = frozenset(
    bytes.fromhex(y)[:31] + bytes([bytes.fromhex(y)[31] | sign])
    for y in _SMALL_ORDER_Y
    for sign in (0x00, 0x80)
)
"""Every encoding of a small-order point (both signs of x): refused as a signer key."""


def key_problem(key: bytes) -> str | None:
    """Why ``key`` (32 bytes) cannot be a signer's Ed25519 key, or None."""
    if len(key) != 32:
        return "an Ed25519 key is 32 bytes"
    if int.from_bytes(key, "little") & ((1 << 255) - 1) >= _P:
        return "the Ed25519 key is not canonically encoded (y >= p)"
    if key in SMALL_ORDER_KEYS:
        return "the Ed25519 key is a point of small order"
    return None


def canonical_signature(signature: bytes) -> bool:
    """True if ``signature`` is 64 bytes and its S (the last 32, little-endian) is < L."""
    return len(signature) == 64 and int.from_bytes(signature[32:], "little") < _L
