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

import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

# Run by path from generate.build_all(), also when generate.py itself was loaded
# by path (tests/test_vectors.py): its folder may not be on sys.path.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    writer_archive,
)

from securemedia.envelope import payload_key
from securemedia.keys import SecretKey
from securemedia.recipients.hpke import HPKERecipient

_MLKEM_PUBLIC = 1184


def _x25519_half(key: SecretKey) -> x25519.X25519PublicKey:
    """The X25519 part (pk_X) of a post-quantum public key: ek_M (1184) || pk_X (32)."""
    return x25519.X25519PublicKey.from_public_bytes(key.public.encryption[_MLKEM_PUBLIC:])


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
