"""securemedia: encrypted, integrity-checked archives for datasets on discs.

The small public API::

    import securemedia
    key = securemedia.SecretKey.generate()
    securemedia.pack(["export/"], "ship.sm", [key.public.recipient()])
    securemedia.unpack("ship.sm", "received/", [key.identity()])

For streaming, ``create_archive`` gives an :class:`ArchiveWriter` that takes
members as they are produced, and ``open_archive`` an :class:`ArchiveReader`
that yields authenticated plaintext; both are context managers.

Names are loaded on first use (PEP 562), so that ``import securemedia`` and the
CLI start fast: start-up time is part of what an operator waits for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_getattr

_EXPORTS = {
    "create_archive": "api",
    "open_archive": "api",
    "pack": "api",
    "unpack": "api",
    "Compression": "archive.compression",
    "Member": "archive.index",
    "ArchiveReader": "archive.reader",
    "ArchiveSummary": "archive.writer",
    "ArchiveWriter": "archive.writer",
    "FormatError": "errors",
    "InputError": "errors",
    "IntegrityError": "errors",
    "KeyFileError": "errors",
    "NoIdentityError": "errors",
    "SecureMediaError": "errors",
    "SignatureError": "errors",
    "UsageError": "errors",
    "check_new_passphrase": "passphrase_strength",
    "load_identities": "keyring",
    "load_public_keys": "keyring",
    "load_recipients": "keyring",
    "load_signers": "keyring",
    "load_signing_key": "keyring",
    "PublicKey": "keys",
    "SecretKey": "keys",
    "Signer": "signing_keys",
    "SignerKey": "signing_keys",
    "SigningPublicKey": "signing_keys",
    "PassphraseIdentity": "recipients.passphrase",
    "PassphraseRecipient": "recipients.passphrase",
}

__all__ = [
    "ArchiveReader",
    "ArchiveSummary",
    "ArchiveWriter",
    "Compression",
    "FormatError",
    "InputError",
    "IntegrityError",
    "KeyFileError",
    "Member",
    "NoIdentityError",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "PublicKey",
    "SecretKey",
    "SecureMediaError",
    "SignatureError",
    "Signer",
    "SignerKey",
    "SigningPublicKey",
    "UsageError",
    "check_new_passphrase",
    "create_archive",
    "load_identities",
    "load_public_keys",
    "load_recipients",
    "load_signers",
    "load_signing_key",
    "open_archive",
    "pack",
    "unpack",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from .api import create_archive, open_archive, pack, unpack
    from .archive.compression import Compression
    from .archive.index import Member
    from .archive.reader import ArchiveReader
    from .archive.writer import ArchiveSummary, ArchiveWriter
    from .errors import (
        FormatError,
        InputError,
        IntegrityError,
        KeyFileError,
        NoIdentityError,
        SecureMediaError,
        SignatureError,
        UsageError,
    )
    from .keyring import (
        load_identities,
        load_public_keys,
        load_recipients,
        load_signers,
        load_signing_key,
    )
    from .keys import PublicKey, SecretKey
    from .passphrase_strength import check_new_passphrase
    from .recipients.passphrase import PassphraseIdentity, PassphraseRecipient
    from .signing_keys import Signer, SignerKey, SigningPublicKey
