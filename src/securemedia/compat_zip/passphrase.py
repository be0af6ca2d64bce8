"""The generated passphrase, and the 0600 file it travels in."""

from __future__ import annotations

import secrets
from pathlib import Path

from ..atomic import atomic_output
from ..errors import (
    DestinationExistsError,
    OperationalError,
)

# RFC 4648 base32 alphabet in lower case: 32 symbols, so exactly 5 bits each, and
# no 0/1/8/9, so nothing reads like O, I, l or B when spoken or handwritten.
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_GROUPS = 6
_GROUP_LEN = 5
#: Entropy of a generated passphrase: 30 symbols of 5 bits.
PASSPHRASE_BITS = _GROUPS * _GROUP_LEN * 5


def generate_passphrase() -> str:
    """A fresh random passphrase of :data:`PASSPHRASE_BITS` (150) bits.

    Six groups of five lower-case base32 characters joined by ``-``, e.g.
    ``k3mzq-7vd2a-...``: easy to read aloud and type. The hyphens are part of the
    passphrase (WinZip AES hashes the exact bytes).
    """
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LEN)) for _ in range(_GROUPS)
    )


def write_passphrase_file(path: Path, passphrase: str) -> None:
    """Write ``passphrase`` and a newline to a new file of mode 0600.

    Refuses to overwrite or follow an existing file or link
    (:class:`DestinationExistsError`); the file is never readable by others,
    not even while it is written.
    """
    try:
        with atomic_output(path, private=True, durable=True) as handle:
            try:
                handle.write(passphrase.encode("ascii") + b"\n")
            except OSError as exc:
                raise OperationalError(f"cannot write {path}: {exc.strerror}") from None
    except DestinationExistsError:
        raise DestinationExistsError(
            f"passphrase file {path} already exists; refusing to overwrite it"
        ) from None
