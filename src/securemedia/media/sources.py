"""Where the bytes of one volume's payload come from when a set is read.

A reader of a set asks each volume for payload bytes by offset. The plain
source reads them straight from the volume file or image; other sources (heal
with the disc's recovery data, rebuild from spare volumes) give the same bytes
when the disc is damaged or missing, or raise :class:`LostDataError`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Protocol

from ..errors import LostDataError, MediaError, os_error
from .header import FLAG_IMAGE_PROTECTED, FLAG_VOLUME_PROTECTED, HEADER_SIZE, VolumeHeader

if TYPE_CHECKING:
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
        data, lost = self.read_partial(offset, size)
        if lost:
            start, end = lost[0]
            raise LostDataError(
                f"{self.info.path}: {self.header.label()} is truncated",
                [(self.header.payload_offset + start, self.header.payload_offset + end)],
            )
        return data

    def read_partial(self, offset: int, size: int) -> tuple[bytes, list[tuple[int, int]]]:
        """Payload bytes (zeros where the file is cut short) and the missing payload ranges."""
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
            return data + bytes(size - len(data)), [(offset + len(data), offset + size)]
        return data, []

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


def carries_recovery(info: VolumeInfo) -> bool:
    """True if the disc file of ``info`` was written with recovery data.

    An image's recovery data covers the whole image; a volume file taken off
    a protected image carries none of its own.
    """
    flag = FLAG_IMAGE_PROTECTED if info.image else FLAG_VOLUME_PROTECTED
    return bool(info.header.flags & flag)


def open_source(info: VolumeInfo) -> PayloadSource:
    """The source for one volume: healing when its disc file carries usable
    recovery data, plain otherwise (a lost recovery region: bytes as they are,
    which the archive still authenticates).
    """
    from .healing import HealingSource

    if carries_recovery(info):
        try:
            return HealingSource(info)
        except MediaError:
            pass  # recovery data gone or unusable: verify says so; read as is
    return PlainSource(info)


def open_sources(infos: list[VolumeInfo]) -> dict[int, PayloadSource]:
    """A source per given volume (``open_source``), by volume number (first given wins)."""
    out: dict[int, PayloadSource] = {}
    try:
        for info in infos:
            if info.header.number not in out:
                out[info.header.number] = open_source(info)
    except BaseException:
        for source in out.values():
            source.close()
        raise
    return out


__all__ = [
    "LostDataError",
    "MediaError",
    "PayloadSource",
    "PlainSource",
    "carries_recovery",
    "open_source",
    "open_sources",
]
