"""Recipients wrap the file key into a stanza; identities unwrap it.

Each module here handles one stanza kind and nothing more: no chunks, no files.
Stanzas are anonymous: nothing in them says which key they are for, so an
identity tries every stanza of its kind and a failure means "not for me".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from ..errors import NoIdentityError
from ..header import Stanza

FILE_KEY_SIZE = 32


@runtime_checkable
class Recipient(Protocol):
    """Something the file key can be wrapped to."""

    def wrap(self, file_key: bytes) -> Stanza:
        """Return a stanza that only the matching identity can unwrap."""
        ...

    @property
    def label(self) -> str:
        """A short public description ("ML-KEM-768+X25519 key 7Q2M-..."), no secret."""
        ...


@runtime_checkable
class Identity(Protocol):
    """Something that can unwrap file keys."""

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key if ``stanza`` is for this identity, else None.

        Must not raise for a stanza of another kind or for another key: an
        unwrap failure is indistinguishable from "not for me".
        """
        ...


def unwrap_candidates(stanzas: Sequence[Stanza], identities: Iterable[Identity]) -> list[bytes]:
    """Every file key any identity recovers from any stanza, in order.

    The caller checks each against the header MAC: an attacker can add a stanza
    for a key of ours that wraps a different file key, and that one fails the MAC.
    """
    found: list[bytes] = []
    idents = list(identities)
    for stanza in stanzas:
        for identity in idents:
            key = identity.unwrap(stanza)
            if key is not None and len(key) == FILE_KEY_SIZE:
                found.append(key)
    if not found:
        raise NoIdentityError(
            "no identity opens this archive (wrong key or passphrase, or a damaged recipient entry)"
        )
    return found
