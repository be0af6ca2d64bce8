"""The read-only, seekable raw stream both disc readers present (the payload of
a volume set, a damaged file repaired in memory): position and size kept here,
the bytes supplied by the subclass's ``readinto``."""

from __future__ import annotations

import io


class SizedView(io.RawIOBase):
    """``size`` bytes read from position ``_pos``; subclasses implement ``readinto``
    (reading from ``_pos`` and advancing it) and may hold ``_size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos
