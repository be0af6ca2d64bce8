"""Media kinds and the ``--media`` argument: a named disc kind or a SIZE.

Capacities are the user-data figures of the design notes (MEDIA.md) (2,048-byte
sectors, the smaller of the -R and +R figures so a volume fits either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

SECTOR = 2048
"""Bytes per data sector on every kind of optical disc."""

MEDIA_SECTORS: dict[str, int] = {
    "cd": 360_000,
    "cd74": 333_000,
    "dvd": 2_295_104,
    "dvd-dl": 4_171_712,
    "bd": 12_219_392,
    "bd-dl": 24_438_784,
}
"""Recordable sectors of each named medium."""

_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

_SIZE_RE = re.compile(r"^\s*(\d{1,16})\s*([a-zA-Z]{0,3})\s*$")

LARGEST_MEDIUM = MEDIA_SECTORS["bd-dl"] * SECTOR
"""Bytes on the largest disc (BD-R DL): no volume, image or repaired file is larger.

Readers bound every size a disc announces by it (a recovery descriptor, a
volume header), so a forged disc cannot make them allocate or write more."""

# A SIZE larger than the largest disc is surely a typo; a tiny one cannot hold the
# file system and the recovery data.
MAX_SIZE = LARGEST_MEDIUM
MIN_SIZE = 256 * 1024


@dataclass(frozen=True)
class Medium:
    """One kind of disc: its name as the user gave it, and its usable bytes."""

    name: str
    capacity: int

    @property
    def sectors(self) -> int:
        """Whole 2,048-byte sectors on the medium."""
        return self.capacity // SECTOR


def parse_size(text: str) -> int:
    """Parse ``8MB`` (8,000,000), ``700MiB`` (734,003,200) or a plain byte count.

    Decimal units (kB, MB, GB, TB) are powers of 1000 and binary units (KiB,
    MiB, GiB, TiB) powers of 1024, as on disc labels and in ``ls -h --si``.
    """
    match = _SIZE_RE.match(text)
    if match is None:
        raise UsageError(f"invalid size {text!r}: expected a number and a unit like 8MB or 700MiB")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        units = "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB"
        raise UsageError(f"invalid size unit in {text!r}: use {units}")
    return int(number) * factor


def parse_medium(text: str) -> Medium:
    """Resolve ``--media``: a named kind (``cd``, ``dvd``, ``bd-dl``...) or a SIZE.

    A SIZE is rounded down to whole sectors, since a disc holds nothing smaller.
    """
    name = text.strip().lower()
    if name in MEDIA_SECTORS:
        return Medium(name, MEDIA_SECTORS[name] * SECTOR)
    if not name or not name[0].isdigit():
        kinds = ", ".join(MEDIA_SECTORS)
        raise UsageError(f"unknown medium {text!r}: use one of {kinds}, or a SIZE like 700MiB")
    size = parse_size(text)
    if size > MAX_SIZE:
        raise UsageError(
            f"medium size {text!r} is larger than any disc (at most {MAX_SIZE:,} bytes, a BD-R DL)"
        )
    if size < MIN_SIZE:
        raise UsageError(
            f"medium size {text!r} is too small: at least 256KiB (ISO images need more)"
        )
    return Medium(text.strip(), size // SECTOR * SECTOR)


def parse_redundancy(text: str) -> float | None:
    """``--redundancy``: ``10%`` or ``0.10`` of the data; ``0`` or ``none`` for no recovery data.

    Returns the fraction, or None for no recovery data at all.
    """
    raw = text.strip().lower()
    if raw in ("0", "0%", "none", "off"):
        return None
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"invalid redundancy {text!r}: use a percentage like 10%") from None
    if not 0 < value <= 1:
        raise UsageError(f"redundancy {text!r} out of range: use more than 0% and at most 100%")
    return value
