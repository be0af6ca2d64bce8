"""The public specifications, shipped inside the package so every disc can carry them.

``FORMAT.md`` and ``MEDIA.md`` are symbolic links to ``docs/`` in a source
checkout; the wheel stores their content (hatchling follows the links), so an
installed securemedia has them too. Each disc image carries them as
``FORMAT.TXT`` and ``MEDIA.TXT`` beside ``README.TXT``: a finder who has the
disc and nothing else can still read how it is built.
"""

from __future__ import annotations

from importlib import resources

from ..errors import OperationalError

DISC_FILES: tuple[tuple[str, str], ...] = (("FORMAT.TXT", "FORMAT.md"), ("MEDIA.TXT", "MEDIA.md"))
"""(name on the disc, file in this package) for every specification an image carries."""


def spec_bytes(source: str) -> bytes:
    """The bytes of one specification file of this package, exactly as published."""
    try:
        text = (resources.files(__name__) / source).read_bytes()
    except OSError as exc:
        raise OperationalError(
            f"the specification {source} is missing from this securemedia installation "
            f"({exc.strerror or exc}): reinstall securemedia"
        ) from None
    # A checkout made without symbolic links holds the link's target path as
    # text: never put that on a disc in place of the specification.
    if not text.startswith(b"# "):
        raise OperationalError(
            f"the specification {source} in this securemedia installation is not the "
            "document (a checkout without symbolic links?): reinstall securemedia"
        )
    return text


def disc_specs() -> list[tuple[str, bytes]]:
    """(name on the disc, content) of every specification file, in a fixed order."""
    return [(name, spec_bytes(source)) for name, source in DISC_FILES]
