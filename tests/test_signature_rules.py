"""The verification rules of FORMAT.md section 9 for every signer kind, checked on
signature blocks directly: Ed25519 strictness (freeze item 12) and ECDSA P-256.

A tiny Edwards25519 reference (affine, test-only) checks that the small-order
list in :mod:`securemedia.ed25519_rules` is exactly the torsion points."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from securemedia import signature
from securemedia.ed25519_rules import SMALL_ORDER_KEYS
from securemedia.errors import FormatError, OperationalError, SignatureError
from securemedia.keys import SecretKey
from securemedia.signing_keys import P256_ORDER, SigningPublicKey
from signer_support import Ed25519Signer, P256Signer

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, -1, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
HEADER = b"a header"
INDEX = hashlib.sha256(b"an index").digest()
Point = tuple[int, int]


def _decode(key: bytes) -> Point | None:
    """RFC 8032 section 5.1.3, strict (y < p, no x = 0 with the sign bit set)."""
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    sign = key[31] >> 7
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    if x2 == 0:
        return None if sign else (0, y)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return (P - x if x & 1 != sign else x), y


def _add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2
    return (
        (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P,
    )


def _encode(point: Point) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def test_small_order_list_is_every_torsion_point_and_no_other() -> None:
    order8 = _decode(
        bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    )
    assert order8 is not None
    torsion, point = set(), order8
    for _ in range(8):
        torsion.add(_encode(point))
        point = _add(point, order8)
    assert point == order8 and len(torsion) == 8  # a cyclic group of order 8
    # Plus the two encodings with x = 0 and the sign bit set, which strict decoding
    # refuses and OpenSSL accepts (see test_openssl_accepts_what_we_refuse).
    zero_x = {k[:31] + bytes([k[31] | 0x80]) for k in torsion if _decode(k) in ((0, 1), (0, P - 1))}
    assert len(zero_x) == 2
    assert torsion | zero_x == SMALL_ORDER_KEYS


def _ed_block(key: bytes, sig: bytes, kind: int = 3) -> bytes:
    return bytes([kind]) + key + sig


def _lax_forgery() -> bytes:
    """R = identity, S = 0: [S]B = R + [k]A holds for every message when [k]A is the
    identity, i.e. for A of small order with k a multiple of its order, and for A the
    identity always."""
    return bytes([1]) + bytes(31) + bytes(32)


@pytest.mark.parametrize(
    "key",
    [
        bytes([1]) + bytes(31),  # the identity
        bytes([1]) + bytes(30) + b"\x80",  # the identity, x = 0 with the sign bit
        (P + 1).to_bytes(32, "little"),  # the identity, y not reduced (y >= p)
    ],
)
def test_openssl_accepts_what_we_refuse(key: bytes) -> None:
    """The reason for our own key checks: the library alone verifies these for any message."""
    ed25519.Ed25519PublicKey.from_public_bytes(key).verify(_lax_forgery(), b"any message")
    block = _ed_block(key, _lax_forgery())
    with pytest.raises(FormatError, match="malformed"):
        signature.verify_digest(block, HEADER, INDEX, None)


def test_small_order_key_in_a_key_pair_block_is_malformed(classic_key: SecretKey) -> None:
    public = classic_key.public
    for key in sorted(SMALL_ORDER_KEYS):
        block = bytes([2]) + public.encryption + key + _lax_forgery()
        with pytest.raises(FormatError, match="malformed"):
            signature.verify_digest(block, HEADER, INDEX, None)


def test_non_canonical_s_is_a_signature_failure(classic_key: SecretKey) -> None:
    for signer in (classic_key, Ed25519Signer.generate()):
        block = signature.sign_digest(signer, HEADER, INDEX)
        assert signature.verify_digest(block, HEADER, INDEX, None) == signer.public
        s = int.from_bytes(block[-32:], "little")
        forged = block[:-32] + (s + L).to_bytes(32, "little")
        with pytest.raises(SignatureError, match="does not verify"):
            signature.verify_digest(forged, HEADER, INDEX, None)


def _p256_block(signer: P256Signer, r: int | None = None, s: int | None = None) -> bytes:
    block = signature.sign_digest(signer, HEADER, INDEX)
    r0, s0 = int.from_bytes(block[-64:-32], "big"), int.from_bytes(block[-32:], "big")
    r, s = r0 if r is None else r, s0 if s is None else s
    return block[:-64] + r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, None), (None, 0), (P256_ORDER, None), (None, P256_ORDER), (2**256 - 1, None)],
)
def test_ecdsa_r_and_s_out_of_range(r: int | None, s: int | None) -> None:
    block = _p256_block(P256Signer.from_secret(7), r, s)
    with pytest.raises(SignatureError, match="does not verify"):
        signature.verify_digest(block, HEADER, INDEX, None)


def test_ecdsa_high_and_low_s_both_verify() -> None:
    for high in (False, True):
        signer = P256Signer.from_secret(12345, high_s=high)
        block = signature.sign_digest(signer, HEADER, INDEX)
        assert (int.from_bytes(block[-32:], "big") > P256_ORDER // 2) is high
        assert signature.verify_digest(block, HEADER, INDEX, None) == signer.public
        # Its twin (n - s) is a valid signature too: the signature is no identifier.
        twin = block[:-32] + (P256_ORDER - int.from_bytes(block[-32:], "big")).to_bytes(32, "big")
        assert signature.verify_digest(twin, HEADER, INDEX, None) == signer.public


def test_ecdsa_point_must_be_uncompressed_and_on_the_curve() -> None:
    block = _p256_block(P256Signer.from_secret(99))
    point = block[1:66]
    off_curve = point[:64] + bytes([point[64] ^ 1])
    compressed = bytes([2 + (point[64] & 1)]) + point[1:33] + bytes(32)  # 65 bytes, not 0x04
    hybrid = bytes([6 + (point[64] & 1)]) + point[1:]
    for bad in (off_curve, compressed, hybrid, bytes(65)):
        with pytest.raises(FormatError, match="malformed"):
            signature.verify_digest(block[:1] + bad + block[66:], HEADER, INDEX, None)
        with pytest.raises(ValueError, match="P-256"):
            SigningPublicKey("p256", bad)


def test_grafting_across_kinds_fails(classic_key: SecretKey) -> None:
    """The kind byte is inside SHA-256(signer): one Ed25519 key's signature cannot
    move from a key pair's block (kind 2) to a signing key's (kind 3), or back."""
    pair_block = signature.sign_digest(classic_key, HEADER, INDEX)
    ed_key = classic_key.public.signing
    grafted = bytes([3]) + ed_key + pair_block[-64:]
    with pytest.raises(SignatureError, match="does not verify"):
        signature.verify_digest(grafted, HEADER, INDEX, None)
    alone = Ed25519Signer(classic_key.signing_key())
    alone_block = signature.sign_digest(alone, HEADER, INDEX)
    assert len(alone_block) == 97
    back = pair_block[:-64] + alone_block[-64:]
    with pytest.raises(SignatureError, match="does not verify"):
        signature.verify_digest(back, HEADER, INDEX, None)


def test_kind_and_length_must_agree(classic_key: SecretKey) -> None:
    ed = signature.sign_digest(Ed25519Signer.generate(), HEADER, INDEX)
    p256 = signature.sign_digest(P256Signer.generate(), HEADER, INDEX)
    pair = signature.sign_digest(classic_key, HEADER, INDEX)
    assert (len(ed), len(p256), len(pair)) == (97, 130, 129)
    assert signature.BLOCK_SIZES == (97, 129, 130, 1313)
    for bad in (b"\x04" + ed[1:], b"\x03" + p256[1:], b"\x03" + pair[1:], b"\x02" + ed[1:],
                b"\x05" + ed[1:], ed + b"\x00"):  # fmt: skip
        with pytest.raises(FormatError, match="malformed"):
            signature.verify_digest(bad, HEADER, INDEX, None)


class _Liar:
    """A signer that reports one key and signs with another (a token mix-up)."""

    def __init__(self) -> None:
        self.public = Ed25519Signer.generate().public
        self._other = Ed25519Signer.generate()

    def sign(self, message: bytes) -> bytes:
        return self._other.sign(message)


class _Short(P256Signer):
    def sign(self, message: bytes) -> bytes:
        return super().sign(message)[:63]


def test_writer_checks_what_a_signer_returns() -> None:
    for bad in (_Liar(), _Short.from_secret(5)):
        with pytest.raises(OperationalError, match="does not verify under that key"):
            signature.sign_digest(bad, HEADER, INDEX)


def test_verify_methods_raise_the_documented_errors(classic_key: SecretKey) -> None:
    message = b"message"
    classic_key.public.verify(classic_key.sign(message), message)
    with pytest.raises(InvalidSignature):
        classic_key.public.verify(classic_key.sign(message), b"other")
    for signer in (Ed25519Signer.generate(), P256Signer.generate()):
        sig = signer.sign(message)
        assert len(sig) == 64
        signer.public.verify(sig, message)
        with pytest.raises(InvalidSignature):
            signer.public.verify(sig, b"other")
        with pytest.raises(InvalidSignature):
            signer.public.verify(sig[:63], message)
