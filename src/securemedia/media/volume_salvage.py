"""The salvage copy's part of writing a volume set: the reserve kept free in
every volume, and the copy block appended to each volume at close.

:class:`SalvageCopies` is mixed into :class:`~securemedia.media.volumes.VolumeSetWriter`
(the block itself is built by :mod:`.salvage_copy`); it keeps the writer's
second job, the copy, out of the module that splits the archive into volumes.
"""

from __future__ import annotations

from typing import BinaryIO

from ..atomic import StagingDirectory
from . import salvage_copy as salvage
from .header import SECTOR, VolumeHeader

_COPY_NAME = "salvage-copy"  # staged only, never published


class SalvageCopies:
    """The salvage-copy methods of a volume set writer.

    The writer provides the state named below: its volumes so far (staged names
    and payload lengths), the room left for payload per volume, the bytes
    written, the set id, and its staging directory.
    """

    _state: str
    _parts: list[str]
    _lengths: list[int]
    _fronts: list[int]
    _payload_capacity: int
    _written: int
    set_id: bytes

    def _staged(self) -> StagingDirectory:
        raise NotImplementedError

    def _open_staged(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def _salvage_init(self, reserve: int) -> None:
        self._reserve = 0
        self._tail: tuple[int, int] | None = None
        self._copy: salvage.CopyInfo | None = None
        self.salvage_skipped: str | None = "no bound on the index was given"
        """Why the set carries no salvage copy; None when it does (or will)."""
        if reserve:
            self.reserve_salvage(reserve)

    def reserve_salvage(self, reserve: int) -> bool:
        """Keep ``reserve`` bytes (:func:`.salvage_copy.salvage_reserve`) free in
        every volume for the salvage copy of the archive's header and tail.

        Call it before the first volume is full (``pack`` does right after the
        archive header went out). Returns False, and no copy will be written,
        when the reserve is more than 1/8 of a volume's room: the disc space is
        worth more than the copy then.
        """
        reserve = -(-reserve // SECTOR) * SECTOR
        room = self._payload_capacity + self._reserve
        used = self._lengths[0] if self._lengths else 0
        if (
            self._state != "open"
            or len(self._parts) > 1
            or not salvage.reserve_fits(reserve, room)
            or used > room - reserve
        ):
            self.salvage_skipped = "the index is too large for the medium"
            return False
        self._payload_capacity = room - reserve
        self._reserve = reserve
        self.salvage_skipped = None
        return True

    def salvage_layout(self, header_length: int, tail_offset: int) -> None:
        """Called by the archive writer before it writes the index: the archive
        header is bytes [0, header_length), the tail starts at ``tail_offset``."""
        self._tail = (header_length, tail_offset)

    @property
    def has_salvage_copy(self) -> bool:
        """True once ``close`` wrote a salvage copy into every volume."""
        return self._copy is not None

    def _salvage_copy(self) -> salvage.CopyInfo | None:
        """Stage the copy block for this set, or None (and say why) if there is none."""
        if not self._reserve:
            return None
        if self._tail is None:
            self.salvage_skipped = "the archive's writer did not say where its tail starts"
            return None
        header_length, tail = self._tail
        info = salvage.CopyInfo(header_length, tail, self._written, self.set_id)
        if tail > self._written or info.block_length > self._reserve:
            self.salvage_skipped = "the index is too large for the medium"
            return None
        path = self._staged().path
        volumes = [
            (path / p, n, front)
            for p, n, front in zip(self._parts, self._lengths, self._fronts, strict=True)
        ]
        with self._open_staged(_COPY_NAME) as out:
            salvage.write_block(info, salvage.staged_pieces(info, volumes), out)
        self._copy = info
        return info

    def _append_copy(self, fp: BinaryIO, header: VolumeHeader, front: int = 0) -> None:
        """Append the staged copy block to volume file ``fp``, which starts at
        ``front`` of its file (helper A: spares too)."""
        if self._copy is not None:
            with (self._staged().path / _COPY_NAME).open("rb") as block:
                salvage.append_block(fp, header, block, 0, front=front)

    def _drop_copy(self) -> None:
        if self._copy is not None:
            self._staged().remove(_COPY_NAME)


__all__ = ["SalvageCopies"]
