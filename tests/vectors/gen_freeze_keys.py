"""Conformance vectors for the key rules of docs/FORMAT.md (issue 10 items 10 and 11).

* Item 10 (section 3.1, "Key separation"): the X25519 half of a post-quantum
  (type 2) key MUST NOT open a type-1 stanza, even one that wraps the right file
  key to exactly that X25519 public key.
* Item 11 (section 12): identities given as ``smkey2-`` lines (with their
  4-byte check), the form keygen writes, for both kinds of key; every other
  vector gives its identities in the older ``smkey1-`` form.

Registered by one line in ``generate.build_all()``.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from generate import (
    ALICE,
    BASIC,
    BOB,
    SENDER,
    Builder,
    Entry,
    det,
    file_hash,
    header,
    id_key,
    payload,
    put,
    st_key,
    stream,
    u16,
    writer_archive,
)

from securemedia.envelope import payload_key
from securemedia.header import StanzaType
from securemedia.keys import SecretKey
from securemedia.recipients.hpke import HPKERecipient, info_for

_MLKEM_PUBLIC = 1184


def _x25519_half(key: SecretKey) -> x25519.X25519PublicKey:
    """The X25519 part (pk_X) of a post-quantum public key: ek_M (1184) || pk_X (32)."""
    return x25519.X25519PublicKey.from_public_bytes(key.public.encryption[_MLKEM_PUBLIC:])


XWING_LABEL = b"\\.//^\\"  # the six ASCII bytes 5c 2e 2f 2f 5e 5c
_T_MLKEM = 2


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _hpke_seal(shared_secret: bytes, info: bytes, plaintext: bytes) -> bytes:
    """RFC 9180 base-mode single-shot seal for KEM 0x647A, HKDF-SHA256, AES-256-GCM,
    from the KEM shared secret (written here from FORMAT.md 3.1, test-only)."""
    suite = b"HPKE" + u16(0x647A) + u16(0x0001) + u16(0x0002)

    def extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return _hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)

    def expand(prk: bytes, label: bytes, ctx: bytes, length: int) -> bytes:
        return _hkdf_expand(prk, u16(length) + b"HPKE-v1" + suite + label + ctx, length)

    context = b"\x00" + extract(b"", b"psk_id_hash", b"") + extract(b"", b"info_hash", info)
    secret = extract(shared_secret, b"secret", b"")
    key, nonce = expand(secret, b"key", context, 32), expand(secret, b"base_nonce", context, 12)
    return AESGCM(key).encrypt(nonce, plaintext, b"")


def low_order_xwing_stanza(key: SecretKey, file_key: bytes) -> tuple[int, bytes]:
    """A type-2 stanza for ``key`` whose ct_X is the X25519 point u = 0 (low order):
    ss_X is then 32 zero bytes, known to the sender, and the stanza is otherwise
    exactly what the X-Wing formula of FORMAT.md 3.1 opens."""
    ek_m, pk_x = key.public.encryption[:_MLKEM_PUBLIC], key.public.encryption[_MLKEM_PUBLIC:]
    ss_m, ct_m = mlkem.MLKEM768PublicKey.from_public_bytes(ek_m).encapsulate()
    ct_x = bytes(32)
    ss = hashlib.sha3_256(ss_m + bytes(32) + ct_x + pk_x + XWING_LABEL).digest()
    sealed = _hpke_seal(ss, info_for(StanzaType.MLKEM768_X25519), file_key)
    return _T_MLKEM, ct_m + ct_x + sealed


def _smkey2(key: SecretKey) -> tuple[str, str]:
    """The identity as an unprotected key file's smkey2 line (deterministic)."""
    lines = [ln for ln in key.to_text(None).splitlines() if ln.startswith("smkey2-")]
    assert len(lines) == 1
    return ("identity", lines[0])


def build(b: Builder) -> None:
    """Add the freeze-keys vectors to ``b``."""
    one = [Entry("hello.txt", b"hello, world\n")]

    def archive(name: str, stanzas: list[tuple[int, bytes]], file_key: bytes) -> bytes:
        nonce = det(f"{name}/nonce", 16)
        hdr = header(stanzas, file_key, nonce)
        return hdr + b"".join(stream(payload_key(file_key, nonce), payload(one, hdr)))

    # -- item 10: a PQ key's X25519 half is not an X25519 identity -----------------
    name = "nomatch_pq_key_x25519_half"
    fk = det(f"{name}/file-key")
    half = HPKERecipient(_x25519_half(BOB)).wrap(fk)
    assert int(half.type) == 1
    b.add(
        name,
        "no match",
        archive(name, [(int(half.type), half.body)], fk),
        "type-1 stanza wrapped to the X25519 half of bob's ML-KEM-768+X25519 key, "
        "opened by bob's key: MUST NOT open (FORMAT.md 3.1 key separation)",
        identities=[id_key(BOB)],
    )
    name = "nomatch_pq_key_x25519_half_beside_other_pq"
    fk = det(f"{name}/file-key")
    half = HPKERecipient(_x25519_half(BOB)).wrap(fk)
    b.add(
        name,
        "no match",
        archive(name, [st_key(SENDER, fk), (int(half.type), half.body)], fk),
        "a type-2 stanza for another key, then a type-1 stanza to the X25519 half of "
        "bob's key: bob's key opens neither",
        identities=[id_key(BOB)],
    )

    # -- item 1: type 2 refuses a low-order X25519 part (all-zero ss_X) ------------
    name = "nomatch_mlkem_x25519_low_order_point"
    fk = det(f"{name}/file-key")
    b.add(
        name,
        "no match",
        archive(name, [low_order_xwing_stanza(BOB, fk)], fk),
        "type-2 stanza for bob whose ct_X is the low-order point u = 0 (X25519 output all "
        "zero), otherwise valid and MAC right: not for this identity (FORMAT.md 3.1)",
        identities=[id_key(BOB)],
    )

    # -- item 11: identities in the smkey2 form ------------------------------------
    for label, key in (("x25519", ALICE), ("pq", BOB)):
        name = f"success_identity_smkey2_{label}"
        body = writer_archive([key.public.recipient()], name, lambda w: put(w, BASIC))
        b.add(
            name,
            "success",
            body,
            f"the {label} identity as an smkey2 line with its 4-byte check (FORMAT.md 12)",
            identities=[_smkey2(key)],
            payload=file_hash(BASIC),
        )
