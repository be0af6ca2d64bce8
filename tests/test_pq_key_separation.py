"""docs/FORMAT.md section 3.1, "Key separation" (issue 10 item 10): the X25519
half of a post-quantum key never opens a type-1 stanza.

The vector ``nomatch_pq_key_x25519_half`` holds a type-1 stanza that wraps the
right file key to exactly that X25519 half. These tests show it is a real trap:
an X25519 identity made from the key's scalar opens it (so a lax reader would
succeed), while the key itself, loaded as a key file, does not.
"""

from __future__ import annotations

import io
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from securemedia.envelope import open_header
from securemedia.errors import NoIdentityError
from securemedia.header import StanzaType, read_header
from securemedia.keys import PQ, SecretKey
from securemedia.recipients.hpke import HPKEIdentity, HPKERecipient

TESTKIT = Path(__file__).parent / "vectors" / "testkit"


def _vector(name: str) -> tuple[SecretKey, bytes]:
    head, _, body = (TESTKIT / name).read_bytes().partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().split("\n"))
    return SecretKey.from_text(fields["identity"], name, lambda: b""), body


def test_the_x25519_half_would_open_the_stanza_but_the_pq_key_does_not() -> None:
    for name in ("nomatch_pq_key_x25519_half", "nomatch_pq_key_x25519_half_beside_other_pq"):
        key, body = _vector(name)
        assert key.kind == PQ
        header = read_header(io.BytesIO(body))
        assert StanzaType.X25519 in [s.type for s in header.stanzas]
        lax = HPKEIdentity(x25519.X25519PrivateKey.from_private_bytes(key.encryption[64:]))
        open_header(header, [lax])  # the trap is real: the half alone opens it
        try:
            open_header(header, [key.identity()])
        except NoIdentityError:
            pass
        else:
            raise AssertionError(f"{name}: a post-quantum key opened a type-1 stanza")


def test_a_pq_identity_ignores_every_type_1_stanza() -> None:
    key = SecretKey.generate()
    half = x25519.X25519PublicKey.from_public_bytes(key.public.encryption[1184:])
    stanza = HPKERecipient(half).wrap(bytes(32))
    assert stanza.type is StanzaType.X25519
    assert key.identity().unwrap(stanza) is None
