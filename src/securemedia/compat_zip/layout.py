"""What a compatibility ZIP looks like from outside: one neutral entry, AE-2, deflated or stored."""

from __future__ import annotations

from pathlib import Path

from ..errors import OperationalError

#: The one entry of every compatibility ZIP. Neutral on purpose: it is readable
#: without the passphrase.
INNER_NAME = "dataset.tar"

#: The entry's time (ZIP's DOS date, no time zone): 1980-01-01 00:00:00, the
#: earliest a ZIP can hold and the date every disc image carries
#: (media/iso_dates.py). Fixed so that a finder learns nothing of when or
#: where the ZIP was made.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)

ZIP_MAGIC = b"PK\x03\x04"

# Extra field 0x9901 strength code for AES-256.
AES_STRENGTH_256 = 3
# WinZip AES framing around the ciphertext: 16-byte salt, 2-byte password
# verifier, 10-byte MAC (AES-256).
AES_OVERHEAD = 16 + 2 + 10


def is_compat_zip(path: Path) -> bool:
    """True if ``path`` starts with the ZIP local-header magic ``PK\\x03\\x04``.

    Only says "a ZIP": whether it is one of ours is for
    :func:`~securemedia.compat_zip.structure.check_layout` to decide.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
