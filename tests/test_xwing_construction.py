"""docs/FORMAT.md section 3.1, stanza type 2, checked from its parts.

The spec states type 2 in full (X-Wing: ML-KEM-768 + X25519 combined by
SHA3-256, in RFC 9180 HPKE as KEM 0x647A) so that a reader can be written
without pyca/cryptography. These tests recompute the shared secret the way the
text says, from pyca's ML-KEM-768 and X25519 and hashlib's SHA3-256 alone, and
check it twice: against the draft's own published test vector, and against
pyca's HPKE decapsulation of a stanza that our writer made (the HPKE key
schedule of RFC 9180 section 5.1 is recomputed here too, test-only). If the
text named the wrong label, label position, input order or key layout, the
recomputed secret would differ and the AES-GCM tag would not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemedia.envelope import header_key, open_header
from securemedia.errors import NoIdentityError
from securemedia.header import StanzaType, read_header
from securemedia.keys import PQ, SecretKey
from securemedia.recipients.hpke import info_for

XWING_LABEL = bytes.fromhex("5c2e2f2f5e5c")  # the six ASCII characters \.//^\
MLKEM_CT, MLKEM_PK, X25519_LEN = 1088, 1184, 32
VECTOR = json.loads((Path(__file__).parent / "xwing_test_vector.json").read_text())


def combine(
    ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes, *, label_first: bool = False
) -> bytes:
    """FORMAT.md 3.1: ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || label)."""
    if label_first:  # as early drafts had it (a control: it must NOT match)
        return hashlib.sha3_256(XWING_LABEL + ss_m + ss_x + ct_x + pk_x).digest()
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def parts(secret: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    """A key file's encryption secret (FORMAT.md 12): d || z (64) || X25519 scalar (32)."""
    assert len(secret) == 96
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[:64]),
        x25519.X25519PrivateKey.from_private_bytes(secret[64:]),
    )


def decapsulate(secret: bytes, enc: bytes, *, label_first: bool = False) -> bytes:
    """The X-Wing shared secret from ``enc`` = ct_M (1088) || ct_X (32), by the text."""
    assert len(enc) == MLKEM_CT + X25519_LEN
    m, x = parts(secret)
    ct_m, ct_x = enc[:MLKEM_CT], enc[MLKEM_CT:]
    ss_m = m.decapsulate(ct_m)
    ss_x = x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = x.public_key().public_bytes_raw()
    return combine(ss_m, ss_x, ct_x, pk_x, label_first=label_first)


# -- RFC 9180 section 5.1 key schedule, base mode (test-only reference) ------------


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def hpke_open(shared_secret: bytes, info: bytes, ciphertext: bytes, kem: int = 0x647A) -> bytes:
    """Open a single-shot base-mode HPKE ciphertext (KEM ``kem``, HKDF-SHA256, AES-256-GCM)."""
    suite = b"HPKE" + kem.to_bytes(2, "big") + (1).to_bytes(2, "big") + (2).to_bytes(2, "big")

    def labeled_extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return _extract(salt, b"HPKE-v1" + suite + label + ikm)

    def labeled_expand(prk: bytes, label: bytes, ctx: bytes, length: int) -> bytes:
        return _expand(prk, length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + ctx, length)

    context = (
        b"\x00"
        + labeled_extract(b"", b"psk_id_hash", b"")
        + labeled_extract(b"", b"info_hash", info)
    )
    secret = labeled_extract(shared_secret, b"secret", b"")
    key = labeled_expand(secret, b"key", context, 32)
    nonce = labeled_expand(secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")


# -- the tests ---------------------------------------------------------------------


def test_the_draft_vector_matches_the_text() -> None:
    """Seed conversion, public key layout and combiner against X-Wing's own vector."""
    seed = bytes.fromhex(VECTOR["seed"])
    # FORMAT.md 12: a standard X-Wing seed converts to our encryption secret as
    # SHAKE256(seed, 96) = d || z || X25519 scalar (the reverse is impossible).
    ours = hashlib.shake_256(seed).digest(96)
    key = SecretKey(PQ, ours, bytes(32))
    assert key.public.encryption == bytes.fromhex(VECTOR["pk"])  # ek_M || pk_X
    enc = bytes.fromhex(VECTOR["ct"])
    assert decapsulate(ours, enc).hex() == VECTOR["ss"]
    assert decapsulate(ours, enc, label_first=True).hex() != VECTOR["ss"]


@pytest.mark.parametrize("round_", range(3))
def test_our_stanzas_open_by_the_text(round_: int) -> None:
    """A type-2 stanza from our writer opens with the recomputed secret, and pyca's
    own HPKE decapsulation gives the same file key."""
    key = SecretKey.generate()
    file_key = hashlib.sha256(b"file key %d" % round_).digest()
    stanza = key.public.recipient().wrap(file_key)
    assert stanza.type is StanzaType.MLKEM768_X25519 and len(stanza.body) == 1168
    enc, sealed = stanza.body[:1120], stanza.body[1120:]
    # ct_X is the last 32 bytes of enc, and the public key is ek_M || pk_X.
    assert (
        key.public.encryption[MLKEM_PK:] == parts(key.encryption)[1].public_key().public_bytes_raw()
    )
    info = info_for(StanzaType.MLKEM768_X25519)
    assert info == b"securemedia/v1 stanza MLKEM768_X25519"
    assert hpke_open(decapsulate(key.encryption, enc), info, sealed) == file_key
    assert key.identity().unwrap(stanza) == file_key  # pyca's decapsulation agrees
    with pytest.raises(InvalidTag):
        hpke_open(decapsulate(key.encryption, enc, label_first=True), info, sealed)


def test_the_key_schedule_reference_is_rfc9180() -> None:
    """The test-only key schedule opens a type-1 (DHKEM X25519) stanza too, once its
    DHKEM shared secret is derived by RFC 9180 section 4.1: so the reference above
    is RFC 9180's, not something fitted to type 2."""
    key = SecretKey.generate(classic=True)
    file_key = bytes(range(32))
    stanza = key.public.recipient().wrap(file_key)
    enc, sealed = stanza.body[:32], stanza.body[32:]
    sk = x25519.X25519PrivateKey.from_private_bytes(key.encryption)
    dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + sk.public_key().public_bytes_raw()
    kem_suite = b"KEM" + (0x0020).to_bytes(2, "big")
    prk = _extract(b"", b"HPKE-v1" + kem_suite + b"eae_prk" + dh)
    shared = _expand(
        prk, (32).to_bytes(2, "big") + b"HPKE-v1" + kem_suite + b"shared_secret" + kem_context, 32
    )
    assert hpke_open(shared, info_for(StanzaType.X25519), sealed, kem=0x0020) == file_key


def test_the_low_order_vector_is_a_real_trap() -> None:
    """``nomatch_mlkem_x25519_low_order_point``: with ss_X taken as the X25519 output
    (all zero) and no check, the X-Wing formula opens the stanza and the header MAC
    verifies; FORMAT.md 3.1 says such a stanza is not for this identity, and ours
    refuses it."""
    path = Path(__file__).parent / "vectors" / "testkit" / "nomatch_mlkem_x25519_low_order_point"
    head, _, body = path.read_bytes().partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().split("\n"))
    key = SecretKey.from_text(fields["identity"], path.name, lambda: b"")
    header = read_header(io.BytesIO(body))
    (stanza,) = header.stanzas
    enc, sealed = stanza.body[:1120], stanza.body[1120:]
    ct_x = enc[MLKEM_CT:]
    assert ct_x == bytes(32)
    m, _ = parts(key.encryption)
    ss = combine(m.decapsulate(enc[:MLKEM_CT]), bytes(32), ct_x, key.public.encryption[MLKEM_PK:])
    file_key = hpke_open(ss, info_for(StanzaType.MLKEM768_X25519), sealed)
    mac = hmac.new(header_key(file_key), header.raw[:-32], hashlib.sha256).digest()
    assert mac == header.raw[-32:]  # a reader without the check would succeed
    assert key.identity().unwrap(stanza) is None
    with pytest.raises(NoIdentityError):
        open_header(header, [key.identity()])
