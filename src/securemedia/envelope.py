"""The encryption envelope: a fresh file key, wrapped once per recipient; the
header MAC keyed from it; the payload key derived from it.

    header_key  = HKDF-SHA256(ikm=file_key, salt="", info="securemedia/v1 header")
    payload_key = HKDF-SHA256(ikm=file_key, salt=payload_nonce, info="securemedia/v1 payload")

The MAC over the whole header is the key commitment: an identity that unwraps a
file key accepts the archive only if the header MAC verifies under that key, so
one archive cannot open to different contents for different recipients.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import IntegrityError, Remedy, UsageError
from .header import NONCE_SIZE, Header, Stanza, StanzaType, encode_unsigned, seal
from .recipients import FILE_KEY_SIZE, Identity, Recipient, unwrap_candidates

_HEADER_INFO = b"securemedia/v1 header"
_PAYLOAD_INFO = b"securemedia/v1 payload"


def _hkdf(file_key: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(file_key)


def header_key(file_key: bytes) -> bytes:
    return _hkdf(file_key, None, _HEADER_INFO)


def payload_key(file_key: bytes, payload_nonce: bytes) -> bytes:
    return _hkdf(file_key, payload_nonce, _PAYLOAD_INFO)


class FileKeyIdentity:
    """The writer's own way back into the archive it just wrote: it holds that
    archive's file key, so it opens that archive and no other (the header MAC
    is checked as for any identity).

    Private to the package: made by the archive writer for ``pack``'s read-back,
    it lives only in the process that wrote the archive; it is never stored,
    printed or passed on. Its repr shows nothing.
    """

    __slots__ = ("_file_key",)

    def __init__(self, file_key: bytes) -> None:
        self._file_key = file_key

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """The file key, whatever the stanza: the header MAC decides."""
        return self._file_key

    def __repr__(self) -> str:
        return "FileKeyIdentity(<file key hidden>)"


def seal_header(
    recipients: Sequence[Recipient],
    *,
    _file_key: bytes | None = None,
    _payload_nonce: bytes | None = None,
) -> tuple[Header, bytes]:
    """Make a header for ``recipients``; returns it and the payload key.

    The underscored arguments are a deterministic seam for conformance vectors
    and must never be set otherwise.
    """
    header, key, _ = seal_header_for_writer(
        recipients, _file_key=_file_key, _payload_nonce=_payload_nonce
    )
    return header, key


def seal_header_for_writer(
    recipients: Sequence[Recipient],
    *,
    _file_key: bytes | None = None,
    _payload_nonce: bytes | None = None,
) -> tuple[Header, bytes, FileKeyIdentity]:
    """:func:`seal_header`, and the writer's own :class:`FileKeyIdentity`."""
    if not recipients:
        raise UsageError(
            "at least one recipient is needed (a public key or a passphrase)",
            remedy=Remedy.RECIPIENT,
        )
    file_key = _file_key if _file_key is not None else os.urandom(FILE_KEY_SIZE)
    nonce = _payload_nonce if _payload_nonce is not None else os.urandom(NONCE_SIZE)
    stanzas = [r.wrap(file_key) for r in recipients]
    if any(s.type is StanzaType.ARGON2ID for s in stanzas) and len(stanzas) > 1:
        raise UsageError("a passphrase cannot be combined with other recipients")
    try:
        unsigned = encode_unsigned(nonce, stanzas)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    header = seal(unsigned, header_key(file_key))
    return header, payload_key(file_key, nonce), FileKeyIdentity(file_key)


def open_header(header: Header, identities: Sequence[Identity]) -> bytes:
    """Unwrap the file key, check the header MAC, return the payload key.

    NoIdentityError when no identity unwraps any stanza; IntegrityError when a
    stanza unwraps but the MAC does not verify (the header was altered).
    """
    for file_key in unwrap_candidates(header.stanzas, identities):
        try:
            header.verify_mac(header_key(file_key))
        except IntegrityError:
            continue
        return payload_key(file_key, header.payload_nonce)
    raise IntegrityError()
