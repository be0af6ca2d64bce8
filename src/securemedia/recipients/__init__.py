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


@runtime_checkable
class CostlyIdentity(Identity, Protocol):
    """An identity whose every try is slow work outside this process (a
    token's ECDH, on a smartcard tens of milliseconds): it is offered at most
    ``max_tries`` of the stanzas it would try per header, so that a finder's
    header of many stanzas cannot keep the token busy for minutes."""

    max_tries: int

    def would_try(self, stanza: Stanza) -> bool:
        """Whether :meth:`unwrap` would do the costly work for ``stanza``."""
        ...

    def capped(self, tried: int, offered: int) -> str:
        """What to say when it stopped: tried ``tried`` of ``offered`` stanzas."""
        ...


def unwrap_candidates(stanzas: Sequence[Stanza], identities: Iterable[Identity]) -> list[bytes]:
    """Every file key any identity recovers from any stanza, in order.

    The caller checks each against the header MAC: an attacker can add a stanza
    for a key of ours that wraps a different file key, and that one fails the MAC.
    A :class:`CostlyIdentity` is offered only its first ``max_tries`` stanzas;
    if nothing opens, the error says where one stopped.
    """
    found: list[bytes] = []
    idents = list(identities)
    costly = [i if isinstance(i, CostlyIdentity) else None for i in idents]
    offered = [0] * len(idents)
    for stanza in stanzas:
        for identity, bounded, n in zip(idents, costly, range(len(idents)), strict=True):
            if bounded is not None and bounded.would_try(stanza):
                offered[n] += 1
                if offered[n] > bounded.max_tries:
                    continue
            key = identity.unwrap(stanza)
            if key is not None and len(key) == FILE_KEY_SIZE:
                found.append(key)
    if not found:
        stopped = "".join(
            f"; {bounded.capped(bounded.max_tries, tried)}"
            for bounded, tried in zip(costly, offered, strict=True)
            if bounded is not None and tried > bounded.max_tries
        )
        raise NoIdentityError(
            "no identity opens this archive (wrong key or passphrase, or a damaged recipient "
            "entry)" + stopped
        )
    return found
