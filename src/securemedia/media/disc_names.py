"""The names of the files of a disc set.

Names: volume ``k`` of ``ship.sm`` is ``ship.sm.00k.smv``, its disc image
``ship.sm.00k.iso`` (which holds ``ship.sm.00k.smv``). The number is never the
last extension: 7-Zip (and the Windows file association it installs) takes a
file ending in ``.001`` for the first part of a split archive and joins
``.001``, ``.002``... into one file that is not a securemedia volume.
"""

from __future__ import annotations

import re

VOLUME_SUFFIX = ".smv"
"""Extension of a volume file (a securemedia volume)."""

IMAGE_SUFFIX = ".iso"
"""Extension of a disc image."""

_DISC_NAME = re.compile(r"(?P<base>.+)\.(?P<number>\d{3})(?P<kind>\.smv|\.iso)", re.DOTALL)

DISC_NAME_PATTERN = r"\.\d{3}(?:\.smv|\.iso)"
"""What follows ``NAME`` in the name of a disc file of set ``NAME`` (a regex)."""


def volume_file_name(base_name: str, number: int) -> str:
    """``ship.sm`` and 2 give ``ship.sm.002.smv``."""
    return disc_file_name(base_name, number, iso=False)


def disc_file_name(base_name: str, number: int, *, iso: bool) -> str:
    """The file that goes on disc ``number``: ``ship.sm.002.smv`` or ``ship.sm.002.iso``."""
    return f"{base_name}.{number:03d}{IMAGE_SUFFIX if iso else VOLUME_SUFFIX}"


def parse_disc_file_name(name: str) -> tuple[str, int, bool] | None:
    """``(NAME, number, is_image)`` of a disc file name, or None if it is not one."""
    found = _DISC_NAME.fullmatch(name)
    if found is None:
        return None
    return found["base"], int(found["number"]), found["kind"] == IMAGE_SUFFIX
