"""The compatibility ZIP: a WinZip-AES (AE-2, AES-256) ZIP that plain 7-Zip can open.

A labelled second-class format for recipients who have nothing but 7-Zip (see
``docs/COMPAT-ZIP.md``). Its weaknesses are those of WinZip AES: PBKDF2-HMAC-SHA1
with 1,000 iterations, an 80-bit MAC per entry, no public-key recipients and no
signature. We make up for what we can:

* the passphrase is generated here, long and random (150 bits), so that the weak
  key derivation does not matter;
* the dataset travels as ONE POSIX tar (pax) inside ONE encrypted
  entry with a neutral name, so the ZIP directory shows no dataset name or size;
* the tar is deflated (or stored, on request); where it ends is decided by the
  deflate stream (or, stored, by the ciphertext length), which the MAC covers,
  never by the unauthenticated size fields, and a reader refuses an entry whose
  declared sizes disagree with what it holds;
* extraction stages everything and commits only after the MAC verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr

# Loaded on first use: pyzipper pulls in pycryptodome, which `securemedia unpack`
# of a native archive should not pay for at start-up.
_EXPORTS = {
    "INNER_NAME": "layout",
    "is_compat_zip": "layout",
    "PASSPHRASE_BITS": "passphrase",
    "generate_passphrase": "passphrase",
    "write_passphrase_file": "passphrase",
    "extract_compat_zip": "reader",
    "list_compat_zip": "reader",
    "ZipMember": "reader",
    "ZipFacts": "structure",
    "describe_compat_zip": "structure",
    "DEFLATE_LEVEL": "writer",
    "ZipSummary": "writer",
    "write_compat_zip": "writer",
}

__all__ = [
    "DEFLATE_LEVEL",
    "INNER_NAME",
    "PASSPHRASE_BITS",
    "ZipFacts",
    "ZipMember",
    "ZipSummary",
    "describe_compat_zip",
    "extract_compat_zip",
    "generate_passphrase",
    "is_compat_zip",
    "list_compat_zip",
    "write_compat_zip",
    "write_passphrase_file",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .layout import INNER_NAME, is_compat_zip
    from .passphrase import PASSPHRASE_BITS, generate_passphrase, write_passphrase_file
    from .reader import ZipMember, extract_compat_zip, list_compat_zip
    from .structure import ZipFacts, describe_compat_zip
    from .writer import DEFLATE_LEVEL, ZipSummary, write_compat_zip
