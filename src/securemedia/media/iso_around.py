"""Building a disc image around a volume file already in place, without copying it.

``pack --media --iso`` writes each staged volume at the very offset where
:func:`securemedia.media.iso.build_image` would put it in the image (the
offset is planned when the volume starts, :func:`planned_offset`), so that at
close only the file system, README.TXT and the specifications are written
around it: the volume's bytes are neither read nor written a second time. The
image is byte for byte the one ``build_image`` writes from a separate volume
file (pycdlib composes it in both cases; only the volume's data is left where
it is), and when the plan no longer holds (the README grew a sector, the
volume needs UDF after all) the caller falls back to ``build_image``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from ..errors import MediaError, OperationalError
from ..progress import Progress, ignore
from .iso import compose, needs_udf, volume_offset, write_image

_BLOCK = 1024 * 1024  # pycdlib's copy block in write_image


class _InPlace:
    """Stands for the volume's data, which is already in the image file:
    pycdlib's copy reads this and the writes are dropped by :class:`_Around`."""

    mode = "rb"  # what pycdlib checks for a binary file
    _zeros = memoryview(bytes(_BLOCK))

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        return pos

    def read(self, size: int = -1) -> memoryview:
        return self._zeros[: max(0, min(size, _BLOCK))]


class _Around:
    """The image file, where writes into the volume's extent [start, end) are
    skipped (counted, so that the caller can check pycdlib wrote nothing else
    there); every other write goes to the file."""

    mode = "r+b"

    def __init__(self, fp: BinaryIO, start: int, end: int) -> None:
        self._fp, self._start, self._end = fp, start, end
        self.skipped = 0

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        return self._fp.seek(pos, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def read(self, size: int = -1) -> bytes:
        return self._fp.read(size)

    def write(self, data: bytes | memoryview) -> int:
        pos, n = self._fp.tell(), len(data)
        if pos + n <= self._start or pos >= self._end:
            return self._fp.write(data)
        if pos < self._start or pos + n > self._end:
            raise MediaError("the disc image would overlap its volume file: please report this bug")
        self._fp.seek(n, io.SEEK_CUR)
        self.skipped += n
        return n


def planned_offset(*, volume_name: str, number: int, readme: bytes, set_hex: str, udf: bool) -> int:
    """Where ``build_image`` will place volume ``volume_name`` in its image,
    given the README it will carry (the volume's size does not move it)."""
    image = compose(
        _InPlace(),
        1,
        volume_name=volume_name,
        number=number,
        readme=readme,
        set_hex=set_hex,
        udf=udf,
    )
    try:
        return volume_offset(image, volume_name)
    finally:
        image.close()


def build_around(
    path: Path,
    offset: int,
    *,
    volume_name: str,
    number: int,
    readme: bytes,
    set_hex: str,
    udf: bool | None = None,
    progress: Progress = ignore,
) -> bool:
    """Make ``path``, whose bytes from ``offset`` on are the volume file, into
    the disc image :func:`.iso.build_image` would write for it, in place.

    Returns False, and changes nothing, when the image places the volume
    elsewhere than ``offset``: the caller then builds the image by a copy.
    Arguments as for ``build_image``.
    """
    from pycdlib.pycdlibexception import PyCdlibException

    size = path.stat().st_size - offset
    udf = needs_udf(size) if udf is None else udf
    image = compose(
        _InPlace(),
        size,
        volume_name=volume_name,
        number=number,
        readme=readme,
        set_hex=set_hex,
        udf=udf,
    )
    try:
        if volume_offset(image, volume_name) != offset:
            return False
        with path.open("r+b") as fp:
            out = _Around(fp, offset, offset + size)
            write_image(image, out, progress)  # type: ignore[arg-type]
        if out.skipped != size:
            raise MediaError(
                f"the disc image left {size - out.skipped} bytes of its volume file "
                "unaccounted for: please report this bug"
            )
    except PyCdlibException as exc:
        raise OperationalError(f"cannot build disc image {path}: {exc}") from exc
    finally:
        image.close()
    return True


__all__ = ["build_around", "planned_offset"]
