"""Conformance vectors for the signer kinds of FORMAT.md section 9: 3 (Ed25519 alone),
4 (ECDSA P-256 alone), and the Ed25519 strictness rules of every Ed25519 kind.

The blocks are built here from the spec (signer bytes, message, block), with pyca
for the primitives only; ECDSA signatures are deterministic (RFC 6979), so every
vector regenerates byte for byte. The builder is first checked against the library
writer for both new kinds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from generate import (
    BASIC,
    ID_PASS,
    MALLORY,
    Builder,
    Entry,
    b64,
    det,
    file_hash,
    header,
    index_doc,
    pass_recipient,
    payload,
    put,
    record,
    signer_blob,
    st_pass,
    stream,
    writer_archive,
)

from securemedia.envelope import payload_key
from securemedia.signing_keys import SigningPublicKey

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order
L = 2**252 + 27742317777372353535851937790883648493  # Ed25519 order
P = 2**255 - 19
IDENTITY = bytes([1]) + bytes(31)  # the Ed25519 neutral element, canonical encoding
LAX_FORGERY = IDENTITY + bytes(32)  # R = identity, S = 0: "verifies" under a small-order A

ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(det("sigformat/ed25519"))
ED_PUBLIC = ED_KEY.public_key().public_bytes_raw()
P256_KEY = ec.derive_private_key(int.from_bytes(det("sigformat/p256"), "big") % N, ec.SECP256R1())
P256_POINT = P256_KEY.public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
)
OTHER_ED = ed25519.Ed25519PrivateKey.from_private_bytes(det("sigformat/other-ed25519"))


def signing_line(kind: str, key: bytes) -> str:
    """FORMAT.md section 12: smpub1-sign-<kind>-base64url(key || SHA-256(prefix || key)[0:4])."""
    prefix = f"smpub1-sign-{kind}-"
    return prefix + b64(key + hashlib.sha256(prefix.encode() + key).digest()[:4])


def message(hdr: bytes, index_raw: bytes, signer: bytes) -> bytes:
    return (
        b"securemedia/v1 signature\x00"
        + hashlib.sha256(hdr).digest()
        + hashlib.sha256(index_raw).digest()
        + hashlib.sha256(signer).digest()
    )


def ecdsa(msg: bytes, *, high_s: bool = False) -> tuple[int, int]:
    der = P256_KEY.sign(msg, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    if (s > N // 2) != high_s:
        s = N - s  # the other valid s: both verify
    return r, s


def rs(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


Block = Callable[[bytes, bytes], bytes]
"""(header, index JSON) -> the signature block."""


def archive(name: str, block: Block, entries: list[Entry] = BASIC) -> bytes:
    """A passphrase archive (as ``Builder.pass_archive``) whose block ``block`` makes."""
    fk, nonce = det(f"{name}/file-key"), det(f"{name}/nonce", 16)
    hdr = header([st_pass(fk, name)], fk, nonce)
    index_raw = json.dumps(
        index_doc(entries, [record(e) for e in entries]), ensure_ascii=False, separators=(",", ":")
    ).encode()
    plain = payload(entries, hdr, signature=block(hdr, index_raw))
    return hdr + b"".join(stream(payload_key(fk, nonce), plain))


def ed_alone(key: ed25519.Ed25519PrivateKey = ED_KEY) -> Block:
    def make(hdr: bytes, index_raw: bytes) -> bytes:
        signer = b"\x03" + key.public_key().public_bytes_raw()
        return signer + key.sign(message(hdr, index_raw, signer))

    return make


def p256_alone(
    *, point: bytes = P256_POINT, high_s: bool = False, r: int | None = None, s: int | None = None
) -> Block:
    def make(hdr: bytes, index_raw: bytes) -> bytes:
        signer = b"\x04" + point
        r0, s0 = ecdsa(message(hdr, index_raw, b"\x04" + P256_POINT), high_s=high_s)
        return signer + rs(r0 if r is None else r, s0 if s is None else s)

    return make


class _SoftSigner:
    """The library's Signer interface over the keys above, to check the builder."""

    def __init__(self, public: SigningPublicKey, sign: Callable[[bytes], bytes]) -> None:
        self.public, self.sign = public, sign


def _check_builder() -> None:
    signers = (
        (_SoftSigner(SigningPublicKey("ed25519", ED_PUBLIC), ED_KEY.sign), ed_alone()),
        (_SoftSigner(SigningPublicKey("p256", P256_POINT), lambda m: rs(*ecdsa(m))), p256_alone()),
    )
    for signer, block in signers:
        name = "sigformat_builder_check"
        body = writer_archive([pass_recipient(name)], name, lambda w: put(w, BASIC), signer=signer)
        assert archive(name, block) == body, "generator and library writer disagree (kinds 3/4)"
        assert signing_line(signer.public.kind, signer.public.key) == signer.public.to_line()


def build(b: Builder) -> None:
    _check_builder()
    ed_line, p256_line = signing_line("ed25519", ED_PUBLIC), signing_line("p256", P256_POINT)

    def add(name: str, expect: str, block: Block, comment: str, required: str | None) -> None:
        extra: dict[str, Any] = {"payload": file_hash(BASIC)} if expect == "success" else {}
        b.add(
            name,
            expect,
            archive(name, block),
            comment,
            identities=[ID_PASS],
            require_signer=required,
            deterministic=True,
            **extra,
        )

    # -- success ---------------------------------------------------------------------
    add(
        "success_signed_ed25519_alone",
        "success",
        ed_alone(),
        "signer kind 3, Ed25519 alone (97-byte block), and that signer is required",
        ed_line,
    )
    add(
        "success_signed_p256_alone",
        "success",
        p256_alone(),
        "signer kind 4, ECDSA P-256 alone (130-byte block, low S), that signer required",
        p256_line,
    )
    add(
        "success_signed_p256_high_s",
        "success",
        p256_alone(high_s=True),
        "signer kind 4 with s > n/2 (high S): accepted, tokens do not normalise",
        p256_line,
    )

    # -- signature failure: the signature itself -------------------------------------
    def ed_s_plus_l(hdr: bytes, index_raw: bytes) -> bytes:
        block = ed_alone()(hdr, index_raw)
        return block[:-32] + (int.from_bytes(block[-32:], "little") + L).to_bytes(32, "little")

    add(
        "sig_ed25519_alone_s_not_canonical",
        "signature failure",
        ed_s_plus_l,
        "kind 3 with S replaced by S + L: the same point equation, refused (S < L)",
        None,
    )

    def pair_s_plus_l(hdr: bytes, index_raw: bytes) -> bytes:
        signer = signer_blob(MALLORY)
        sig = MALLORY.signing_key().sign(message(hdr, index_raw, signer))
        return signer + sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")

    add(
        "sig_key_pair_s_not_canonical",
        "signature failure",
        pair_s_plus_l,
        "kind 2 (x25519 key pair) with S replaced by S + L: refused (S < L)",
        None,
    )
    for label, r, s in (("r_zero", 0, None), ("s_zero", None, 0), ("r_is_n", N, None),
                        ("s_is_n", None, N)):  # fmt: skip
        add(
            f"sig_p256_{label}",
            "signature failure",
            p256_alone(r=r, s=s),
            f"kind 4 with {label.replace('_is_', ' = ').replace('_zero', ' = 0')}: "
            "r and s must be in [1, n-1]",
            None,
        )
    add(
        "sig_p256_other_signer_required",
        "signature failure",
        p256_alone(),
        "validly signed by kind 4, but the Ed25519 signing key (kind 3) is required",
        ed_line,
    )

    # -- signature failure: grafting across kinds (the kind byte is in SHA-256(signer))
    def pair_to_alone(hdr: bytes, index_raw: bytes) -> bytes:
        pair = signer_blob(MALLORY)
        sig = MALLORY.signing_key().sign(message(hdr, index_raw, pair))
        return b"\x03" + MALLORY.public.signing + sig

    add(
        "sig_grafted_key_pair_to_ed25519_alone",
        "signature failure",
        pair_to_alone,
        "mallory's key pair signature (kind 2) moved into a kind 3 block with the same Ed25519 key",
        None,
    )

    def alone_to_pair(hdr: bytes, index_raw: bytes) -> bytes:
        alone = b"\x03" + MALLORY.public.signing
        sig = MALLORY.signing_key().sign(message(hdr, index_raw, alone))
        return signer_blob(MALLORY) + sig

    add(
        "sig_grafted_ed25519_alone_to_key_pair",
        "signature failure",
        alone_to_pair,
        "a kind 3 signature by mallory's Ed25519 key moved into mallory's key pair block (kind 2)",
        None,
    )

    # -- index failure: the signer's key, kinds and lengths ---------------------------
    def fixed(block: bytes) -> Block:
        return lambda hdr, index_raw: block

    add(
        "index_sig_ed25519_small_order_key",
        "index failure",
        fixed(b"\x03" + IDENTITY + LAX_FORGERY),
        "kind 3 key = the identity (small order), R = identity, S = 0: verifies for any "
        "message under lax rules (OpenSSL), refused",
        None,
    )
    pair = signer_blob(MALLORY)
    add(
        "index_sig_key_pair_small_order_key",
        "index failure",
        fixed(pair[:-32] + IDENTITY + LAX_FORGERY),
        "kind 2 whose Ed25519 key is the identity, with the lax forgery (R = identity, S = 0)",
        None,
    )
    add(
        "index_sig_ed25519_key_not_canonical",
        "index failure",
        fixed(b"\x03" + (P + 1).to_bytes(32, "little") + LAX_FORGERY),
        "kind 3 key y = p + 1 (the identity, not reduced): OpenSSL accepts the lax forgery",
        None,
    )
    off = P256_POINT[:64] + bytes([P256_POINT[64] ^ 1])
    add(
        "index_sig_p256_point_off_curve",
        "index failure",
        p256_alone(point=off),
        "kind 4 whose point has Y changed by one bit: not on the curve",
        None,
    )
    compressed = bytes([2 + (P256_POINT[64] & 1)]) + P256_POINT[1:33]

    def compressed_block(hdr: bytes, index_raw: bytes) -> bytes:
        return b"\x04" + compressed + p256_alone()(hdr, index_raw)[-64:]

    add(
        "index_sig_p256_point_compressed",
        "index failure",
        compressed_block,
        "kind 4 with the point compressed (33 bytes): a 98-byte block",
        None,
    )
    hybrid = bytes([6 + (P256_POINT[64] & 1)]) + P256_POINT[1:]
    add(
        "index_sig_p256_point_hybrid",
        "index failure",
        p256_alone(point=hybrid),
        "kind 4 with the X9.62 hybrid form (0x06/0x07, 65 bytes): uncompressed only",
        None,
    )
    add(
        "index_sig_kind3_with_130_bytes",
        "index failure",
        lambda h, i: b"\x03" + p256_alone()(h, i)[1:],
        "a valid kind 4 block with its kind byte changed to 3: 130 bytes",
        None,
    )
    add(
        "index_sig_kind4_with_97_bytes",
        "index failure",
        lambda h, i: b"\x04" + ed_alone()(h, i)[1:],
        "a valid kind 3 block with its kind byte changed to 4: 97 bytes",
        None,
    )
    add(
        "index_sig_kind3_with_129_bytes",
        "index failure",
        lambda h, i: b"\x03" + pair_to_alone(h, i)[1:] + bytes(32),
        "a 129-byte block (a classic key pair's length) with kind 3",
        None,
    )
    add(
        "index_sig_kind4_with_1313_bytes",
        "index failure",
        lambda h, i: b"\x04" + bytes(1312),
        "a 1313-byte block (a pq key pair's length) with kind 4",
        None,
    )
