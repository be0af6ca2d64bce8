"""Writing an archive as a set of volumes that each fit one disc.

The archive writer streams into a :class:`VolumeSetWriter` as into any binary
file. Bytes go to ``.NAME.001.ID.part``, ``.NAME.002.ID.part``... (hidden, temporary
names). Only at ``close`` is the volume count known: it is patched into every
header, then each volume becomes either ``NAME.001`` (protected with recovery
data) or the disc image ``NAME.001.iso`` (the whole image protected). If
anything fails, or the writer is aborted, every file it created is removed, so
no half-written set is ever left behind.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import DestinationExistsError, MediaError, UsageError
from ..finishing import Finishing
from . import iso as iso_mod
from . import recovery
from .header import (
    FLAG_IMAGE_PROTECTED,
    FLAG_VOLUME_PROTECTED,
    HEADER_SIZE,
    MAX_VOLUMES,
    SET_ID_SIZE,
    VolumeHeader,
)
from .readme import render_readme

if TYPE_CHECKING:
    from typing_extensions import Buffer


def volume_name(base: Path, number: int) -> str:
    """``ship.sm`` and 2 give ``ship.sm.002``."""
    return f"{base.name}.{number:03d}"


def output_paths(base: Path, count: int, *, iso: bool) -> list[Path]:
    """The files a finished set of ``count`` volumes consists of."""
    suffix = ".iso" if iso else ""
    return [base.with_name(volume_name(base, n) + suffix) for n in range(1, count + 1)]


class VolumeSetWriter(Finishing, io.RawIOBase):
    """A writable binary file that splits what is written into disc-sized volumes.

    ``redundancy`` is the recovery data to add (a fraction; ``"default"`` for the
    recovery module's default, None for none) to each volume file, or with
    ``iso`` to each whole image.
    ``capacity_per_volume`` is the largest volume file (header included) to write;
    :func:`securemedia.media.plan.volume_capacity` computes it for a medium so
    that image and recovery data fit too. ``disc_capacity``, if given, is checked
    against every finished disc file as a last guard. Memory use is constant.

    Use it as a context manager: leaving the block normally finishes the set,
    leaving it by an exception removes everything written.
    """

    def __init__(
        self,
        base: Path,
        capacity_per_volume: int,
        *,
        iso: bool = False,
        redundancy: float | Literal["default"] | None = "default",
        notice: str | None = None,
        disc_capacity: int | None = None,
        overwrite: bool = False,
    ) -> None:
        super().__init__()
        self._state = "open"
        self._current: io.BufferedWriter | None = None
        self._created: list[Path] = []  # everything to remove on abort
        if capacity_per_volume <= HEADER_SIZE:
            self._state = "aborted"
            raise UsageError("the medium is too small to hold a volume")
        self.base = base
        self.iso = iso
        self.redundancy = redundancy
        self.notice = notice
        self.disc_capacity = disc_capacity
        self.set_id = secrets.token_bytes(SET_ID_SIZE)
        # Temporary names are unique to this writer: a crashed or concurrent pack
        # to the same name can neither collide with nor clobber them.
        self._token = self.set_id.hex()[:12]
        self._payload_capacity = capacity_per_volume - HEADER_SIZE
        self._overwrite = overwrite
        self._parts: list[Path] = []
        self._lengths: list[int] = []
        self._written = 0
        self.paths: list[Path] = []
        """The finished disc files, in volume order, once ``close`` has returned."""
        if not overwrite:
            # Catch the common case early, before any work; finishing checks again.
            first = output_paths(base, 1, iso=iso)[0]
            if first.exists():
                raise DestinationExistsError(f"{first} already exists (use --force)")

    # -- file object protocol ------------------------------------------------

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Buffer) -> int:
        """Append ``data`` to the archive; always consumes all of it."""
        if self._state != "open":
            raise ValueError("write to a closed VolumeSetWriter")
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            if self._current is None or self._lengths[-1] == self._payload_capacity:
                self._start_volume()
            room = self._payload_capacity - self._lengths[-1]
            piece = view[done : done + room]
            assert self._current is not None
            self._current.write(piece)
            self._lengths[-1] += len(piece)
            done += len(piece)
        self._written += done
        return done

    def close(self) -> None:
        """Finish the set: patch headers, build images or add recovery data."""
        if self._state != "open":
            super().close()
            return
        self._state = "closing"
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        super().close()

    def abort(self) -> None:
        """Remove every file written so far; the writer is closed afterwards."""
        if self._state == "aborted":
            return
        self._state = "aborted"
        if self._current is not None:
            self._current.close()
            self._current = None
        for path in self._created:
            path.unlink(missing_ok=True)
        self.paths = []
        super().close()

    def __del__(self) -> None:
        # Never finish a set implicitly: an unclosed writer means the archive
        # writer stopped half-way, so its volumes must not survive.
        if getattr(self, "_state", None) == "open":
            self.abort()

    # -- internals -----------------------------------------------------------

    def _start_volume(self) -> None:
        if self._current is not None:
            self._current.close()
        number = len(self._parts) + 1
        if number > MAX_VOLUMES:
            raise UsageError(
                f"the archive needs more than {MAX_VOLUMES} volumes: choose a larger medium"
            )
        part = self.base.with_name(f".{volume_name(self.base, number)}.{self._token}.part")
        self._current = part.open("xb")
        self._created.append(part)
        self._parts.append(part)
        self._lengths.append(0)
        # Placeholder header: the count and total length are unknown until close.
        self._current.write(bytes(HEADER_SIZE))

    def _finish(self) -> None:
        if not self._parts:
            self._start_volume()  # an empty archive still makes one volume
        assert self._current is not None
        self._current.close()
        self._current = None
        count = len(self._parts)
        finals = output_paths(self.base, count, iso=self.iso)
        if not self._overwrite:
            for final in finals:
                if final.exists():
                    raise DestinationExistsError(f"{final} already exists (use --force)")
        offset = 0
        for number, (part, length) in enumerate(zip(self._parts, self._lengths, strict=True), 1):
            header = VolumeHeader(
                self.set_id, number, count, offset, length, self._written, self._flags()
            )
            with part.open("r+b") as fp:
                fp.write(header.pack())
                fp.flush()
                os.fsync(fp.fileno())
            offset += length
        for number, (part, final) in enumerate(zip(self._parts, finals, strict=True), 1):
            self._finish_volume(number, count, part, final)
        self.paths = finals

    def _flags(self) -> int:
        if self.redundancy is None:
            return 0
        return FLAG_IMAGE_PROTECTED if self.iso else FLAG_VOLUME_PROTECTED

    def _finish_volume(self, number: int, count: int, part: Path, final: Path) -> None:
        name = volume_name(self.base, number)
        if self.iso:
            tmp = final.with_name(f".{final.name}.{self._token}.part")
            self._created.append(tmp)
            readme = render_readme(
                volume_name=name,
                number=number,
                count=count,
                set_hex=self.set_id.hex(),
                notice=self.notice,
            )
            iso_mod.build_image(part, tmp, volume_name=name, number=number, readme=readme)
            part.unlink()  # keep peak disk use to the archive plus one image
        else:
            tmp = part
        if self.redundancy is not None:
            if self.redundancy == "default":
                recovery.protect_file(tmp)
            else:
                recovery.protect_file(tmp, self.redundancy)
        size = tmp.stat().st_size
        if self.disc_capacity is not None and size > self.disc_capacity:
            raise MediaError(
                f"volume {number} of {count} came out at {size} bytes, more than the "
                f"medium's {self.disc_capacity}: please report this as a bug"
            )
        self._created.append(final)
        os.replace(tmp, final)
