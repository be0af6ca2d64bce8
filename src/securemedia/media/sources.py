"""Where the bytes of one volume's payload come from when a set is read.

A reader of a set asks each volume for payload bytes by offset. The plain
source reads them straight from the volume file or image; other sources (heal
with the disc's recovery data, rebuild from spare volumes) give the same bytes
when the disc is damaged or missing, or raise :class:`LostDataError`.
"""

from __future__ import annotations

import io
from typing import Protocol

from ..errors import LostDataError, MediaError, os_error
from .header import HEADER_SIZE, VolumeHeader
from .volume_set import VolumeInfo


class PayloadSource(Protocol):
    """The payload of one volume of a set, read by offset."""

    header: VolumeHeader

    def read_payload(self, offset: int, size: int) -> bytes:
        """``size`` bytes of the payload from ``offset`` (both within the payload).

        Returns exactly ``size`` bytes, or raises :class:`LostDataError` naming the
        volume and the bytes that cannot be read or rebuilt.
        """
        ...

    def close(self) -> None:
        """Release the open file, if any."""
        ...


class PlainSource:
    """A volume read as it is: no repair. A short read is a truncated volume."""

    def __init__(self, info: VolumeInfo) -> None:
        self.info = info
        self.header = info.header
        self._fp: io.BufferedReader | None = None

    def read_payload(self, offset: int, size: int) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.header.payload_length:
            raise ValueError("read outside the payload")
        try:
            if self._fp is None:
                self._fp = self.info.path.open("rb")
            self._fp.seek(self.info.offset + HEADER_SIZE + offset)
            data = self._fp.read(size)
        except OSError as exc:
            raise os_error(exc, "read", self.info.path) from exc
        if len(data) != size:
            start = self.header.payload_offset + offset + len(data)
            raise LostDataError(
                f"{self.info.path}: {self.header.label()} is truncated",
                [(start, self.header.payload_offset + offset + size)],
            )
        return data

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


__all__ = ["LostDataError", "MediaError", "PayloadSource", "PlainSource"]
