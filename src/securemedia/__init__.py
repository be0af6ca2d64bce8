"""securemedia: encrypted, integrity-checked archives for datasets on discs.

The small public API::

    import securemedia
    key = securemedia.SecretKey.generate()
    securemedia.pack(["export/"], "ship.sm", [key.public.recipient()])
    securemedia.unpack("ship.sm", "received/", [key.identity()])

For streaming, :class:`ArchiveWriter` takes members as they are produced and
:class:`ArchiveReader` yields authenticated plaintext.
"""

from __future__ import annotations

from .api import pack, unpack
from .archive.compression import Compression
from .archive.index import Member
from .archive.reader import ArchiveReader
from .archive.writer import ArchiveSummary, ArchiveWriter
from .errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    SecureMediaError,
    SignatureError,
    UsageError,
)
from .keyring import load_identities, load_public_keys, load_recipients, load_signers
from .keys import PublicKey, SecretKey
from .recipients.passphrase import PassphraseIdentity, PassphraseRecipient

__all__ = [
    "ArchiveReader",
    "ArchiveSummary",
    "ArchiveWriter",
    "Compression",
    "FormatError",
    "IntegrityError",
    "Member",
    "NoIdentityError",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "PublicKey",
    "SecretKey",
    "SecureMediaError",
    "SignatureError",
    "UsageError",
    "load_identities",
    "load_public_keys",
    "load_recipients",
    "load_signers",
    "pack",
    "unpack",
]
