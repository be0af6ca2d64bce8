"""Writing an archive as a set of volumes that each fit one disc.

The archive writer streams into a :class:`VolumeSetWriter` as into any binary
file. Everything is written into a private staging directory beside the outputs
(``.NAME.partial-<random>/``, see :mod:`securemedia.atomic`). Only at ``close``
is the volume count known: it is patched into every header, the spare volumes
(if any) are computed from the data volumes (``spares.py``), then each volume
becomes either ``NAME.001.smv`` (protected with recovery data) or the disc image
``NAME.001.iso`` (the whole image protected; names in ``disc_names.py``), the
whole set is optionally read
back, and only then do all files move to their final names together. If
anything fails - a full disk, Ctrl-C, a signal, a read-back that does not
authenticate - or the writer is aborted, the staging directory and everything
in it is removed: no file of an unfinished set is left behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from ..atomic import StagingDirectory, already_exists
from ..errors import MediaError, OperationalError, UsageError
from ..finishing import Finishing
from ..progress import Phases, no_phases
from . import salvage_copy as salvage
from .disc_files import finish_disc
from .disc_names import disc_file_name, volume_file_name
from .header import (
    FLAG_IMAGE_PROTECTED,
    FLAG_SALVAGE_COPY,
    FLAG_SPARE,
    FLAG_VOLUME_PROTECTED,
    HEADER_SIZE,
    MAX_CODED_VOLUMES,
    MAX_VOLUMES,
    SET_ID_SIZE,
    VolumeHeader,
)
from .iso import needs_udf
from .iso_around import planned_offset
from .plan import check_spare_count
from .readme import render_readme
from .sector_sums import SectorSums, StagedSums
from .spare_files import check_spare_files, write_spare_files
from .volume_salvage import SalvageCopies

if TYPE_CHECKING:
    from typing_extensions import Buffer


def volume_name(base: Path, number: int) -> str:
    """``ship.sm`` and 2 give ``ship.sm.002.smv``."""
    return volume_file_name(base.name, number)


def output_paths(base: Path, count: int, *, iso: bool) -> list[Path]:
    """The files a finished set of ``count`` volumes consists of."""
    return [base.with_name(disc_file_name(base.name, n, iso=iso)) for n in range(1, count + 1)]


ReadBack = Callable[[list[Path]], None]
"""Checks a finished set before it is published: given the staged disc files of
the data volumes in volume order, it raises if they do not hold the archive
that was written. (The spare discs are checked by the writer itself.)"""


class VolumeSetWriter(SalvageCopies, Finishing, io.RawIOBase):
    """A writable binary file that splits what is written into disc-sized volumes.

    ``redundancy`` is the recovery data to add (a fraction; ``"default"`` for the
    recovery module's default, None for none) to each volume file, or with
    ``iso`` to each whole image.
    ``capacity_per_volume`` is the largest volume file (header included) to write;
    :func:`securemedia.media.plan.volume_capacity` computes it for a medium so
    that image and recovery data fit too. ``disc_capacity``, if given, is checked
    against every finished disc file as a last guard. Memory use is constant.
    ``read_back``, if set (also after construction), is called with the finished
    files before they get their final names; if it raises, nothing is kept.
    ``spares`` adds that many spare volumes of cross-volume parity after the
    data volumes, so that any ``spares`` volumes of the set may be lost; with a
    ``read_back``, each finished spare disc is also read back and compared with
    the parity computed.

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
        read_back: ReadBack | None = None,
        spares: int = 0,
        salvage_reserve: int = 0,
    ) -> None:
        super().__init__()
        self._state = "aborted"  # until the checks below pass: nothing to remove
        self._current: BinaryIO | None = None
        self._staging: StagingDirectory | None = None
        if capacity_per_volume <= HEADER_SIZE:
            raise UsageError("the medium is too small to hold a volume")
        check_spare_count(1, spares)
        self.spares = spares
        self.base = Path(base)
        self.iso = iso
        self.redundancy = redundancy
        self.notice = notice
        self.disc_capacity = disc_capacity
        self.read_back = read_back
        self.phases: Phases = no_phases
        """Told of each step of finishing the set (spares, images, recovery data, read-back)."""
        self.set_id = secrets.token_bytes(SET_ID_SIZE)
        self._payload_capacity = capacity_per_volume - HEADER_SIZE
        self._overwrite = overwrite
        self._parts: list[str] = []  # staged volume file names
        self._lengths: list[int] = []
        self._fronts: list[int] = []  # where each staged volume file starts in its file
        self._sums: SectorSums | None = None  # the current volume's sector checksums
        self._staged_sums: list[StagedSums | None] = []
        self._written = 0
        self._salvage_init(salvage_reserve)
        self.paths: list[Path] = []
        """The finished disc files, in volume order (spares last), once ``close`` has returned."""
        self.count = 0
        """Data volumes of the finished set (``paths`` holds ``spares`` more)."""
        if not overwrite:
            # Catch the common case early, before any work; publishing checks again.
            first = output_paths(self.base, 1, iso=iso)[0]
            if os.path.lexists(first):
                raise already_exists(first)
        self._state = "open"

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
            if self._sums is not None:
                self._sums.update(piece)
            self._lengths[-1] += len(piece)
            done += len(piece)
        self._written += done
        return done

    def close(self) -> None:
        """Finish the set: patch headers, build images or add recovery data,
        read it back if asked, then give every file its final name."""
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
        self._discard_staging()
        super().close()

    def abort(self) -> None:
        """Remove every file written so far; the writer is closed afterwards.

        Never fails for the file system: it runs on the way out of failures,
        a full disk among them (where closing the current volume cannot flush).
        """
        if self._state == "aborted":
            return
        self._state = "aborted"
        self.paths = []
        self._discard_staging()
        super().close()

    def __del__(self) -> None:
        # Never finish a set implicitly: an unclosed writer means the archive
        # writer stopped half-way, so its volumes must not survive.
        if getattr(self, "_state", None) == "open":
            self.abort()

    # -- internals -----------------------------------------------------------

    def _discard_staging(self) -> None:
        if self._sums is not None:
            with contextlib.suppress(OSError):
                self._sums.abandon()
            self._sums = None
        if self._current is not None:
            with contextlib.suppress(OSError):
                self._current.close()
            self._current = None
        if self._staging is not None:
            self._staging.discard()
            self._staging = None

    def _staged(self) -> StagingDirectory:
        # Made with the first volume, not before: a pack that fails before
        # writing anything (no recipient, a wrong passphrase) leaves no trace.
        if self._staging is None:
            directory = self.base.parent if str(self.base.parent) else Path(".")
            self._staging = StagingDirectory(directory, self.base.name)
        return self._staging

    def _start_volume(self) -> None:
        self._close_volume()
        number = len(self._parts) + 1
        if number + self.spares > MAX_VOLUMES:
            raise UsageError(
                f"the archive needs more than {MAX_VOLUMES - self.spares} volumes"
                f"{self._with_spares()}: choose a larger medium"
            )
        if self.spares and number + self.spares > MAX_CODED_VOLUMES:
            raise UsageError(
                f"the archive needs more than {MAX_CODED_VOLUMES - self.spares} volumes"
                f"{self._with_spares()} (at most {MAX_CODED_VOLUMES} with spares): "
                "choose a larger medium"
            )
        name = volume_name(self.base, number)
        front = self._planned_front(name, number)
        self._current = self._open_staged(name)
        self._parts.append(name)
        self._lengths.append(0)
        self._fronts.append(front)
        self._staged_sums.append(None)
        self._sums = self._checksummer(number)
        # The image's file system goes in front of the volume at close (a hole
        # until then), so the volume is never copied into its image.
        self._current.seek(front)
        # Placeholder header: the count and total length are unknown until close.
        self._current.write(bytes(HEADER_SIZE))
        if self._sums is not None:
            self._sums.update(bytes(HEADER_SIZE))

    def _checksummer(self, number: int) -> SectorSums | None:
        """Sector checksums of volume ``number``, taken as it is written, for
        its recovery data (which then need not read the volume again); None
        without recovery data."""
        if self.redundancy is None:
            return None
        name = f"sector-sums-{number:03d}"  # staged only, never published
        return SectorSums(self._open_staged(name), name)

    def _close_volume(self) -> None:
        """Close the current volume file and its checksums, if there is one."""
        if self._current is not None:
            self._current.close()
            self._current = None
        if self._sums is not None:
            self._staged_sums[-1] = self._sums.finish()
            self._sums = None

    def _planned_front(self, name: str, number: int) -> int:
        """Where volume ``number``'s image will hold it (0 without ``iso``).

        Planned as if this volume were the last one: the README's count of
        discs rarely changes its length in sectors, and if it does, or the
        last volume is small enough not to need UDF, ``finish_disc`` notices
        and copies the volume into its image instead. Spare volumes are made
        from the data volume files at offset 0, so a set with spares has none.
        """
        if not self.iso or self.spares:
            return 0
        readme = render_readme(
            volume_name=name,
            number=number,
            count=number,
            set_hex=self.set_id.hex(),
            notice=self.notice,
            spares=self.spares,
        )
        return planned_offset(
            volume_name=name,
            number=number,
            readme=readme,
            set_hex=self.set_id.hex(),
            udf=needs_udf(self._payload_capacity + HEADER_SIZE),
        )

    def _with_spares(self) -> str:
        return f" besides {self.spares} spare(s)" if self.spares else ""

    def _open_staged(self, name: str) -> BinaryIO:
        try:
            return self._staged().create(name)
        except OSError as exc:
            raise OperationalError(
                f"cannot write {self._staged().shown(name)}: {exc.strerror or exc}"
            ) from None

    def _finish(self) -> None:
        if not self._parts:
            self._start_volume()  # an empty archive still makes one volume
        self._close_volume()
        count = len(self._parts)
        finals = output_paths(self.base, count + self.spares, iso=self.iso)
        if not self._overwrite:
            for final in finals:
                if os.path.lexists(final):
                    raise already_exists(final)
        staging = self._staged()
        # The stripe length: the longest data payload (every one but the last is
        # full, and with one data volume it is that volume's payload).
        stripe = max(self._lengths) if self.spares else 0
        if self.spares and not stripe:
            raise UsageError("an empty archive has nothing for spare volumes to protect")
        copy = self._salvage_copy()
        offset = 0
        parts = zip(self._parts, self._lengths, self._fronts, strict=True)
        for number, (part, length, front) in enumerate(parts, 1):
            header = self._header(number, count, offset, length, stripe, copy)
            with (staging.path / part).open("r+b") as fp:
                fp.seek(front)
                fp.write(header.pack())
                self._append_copy(fp, header, front)
                if self.redundancy is None:
                    fp.flush()
                    os.fsync(fp.fileno())
                # Otherwise protect_file syncs the disc file (this very file, or
                # the image copied from it, when this one is deleted): syncing
                # here as well only made pack wait for the disk twice.
            offset += length
        # Spares are computed from the data volume files, so before those become
        # images (which removes them); peak disk use: the set's volume files
        # (data and spares) plus the one image being built.
        spare_parts = [volume_name(self.base, count + j) for j in range(1, self.spares + 1)]
        spare_headers = [
            self._header(count + j, count, 0, stripe, stripe, copy)
            for j in range(1, self.spares + 1)
        ]
        digests = write_spare_files(
            staging,
            self._parts,
            self._lengths,
            spare_parts,
            spare_headers,
            self._append_copy,
            progress=self.phases("spare discs", stripe) if self.spares else no_phases("", 0),
        )
        self.count = count
        staged = [
            self._finish_volume(number, count, part)
            for number, part in enumerate(self._parts + spare_parts, 1)
        ]
        self._drop_copy()  # (spare volumes, built from the data volumes, take it too)
        if self.read_back is not None:
            self.read_back([staging.path / name for name in staged[:count]])
            check_spare_files(
                [staging.path / name for name in staged[count:]],
                digests,
                self.phases("reading back spare discs", stripe * self.spares)
                if self.spares
                else no_phases("", 0),
            )
        self.paths = staging.publish(
            [(name, final.name) for name, final in zip(staged, finals, strict=True)],
            force=self._overwrite,
        )

    def _header(
        self,
        number: int,
        count: int,
        offset: int,
        length: int,
        stripe: int,
        copy: salvage.CopyInfo | None,
    ) -> VolumeHeader:
        """The final header of data or spare volume ``number`` (of ``count`` data volumes)."""
        flags = self._flags() | (FLAG_SPARE if number > count else 0)
        flags |= FLAG_SALVAGE_COPY if copy else 0
        return VolumeHeader(
            self.set_id,
            number,
            count,
            offset,
            length,
            self._written,
            flags,
            spares=self.spares,
            stripe_length=stripe,
            copy_length=copy.block_length if copy else 0,
        )

    def _flags(self) -> int:
        if self.redundancy is None:
            return 0
        return FLAG_IMAGE_PROTECTED if self.iso else FLAG_VOLUME_PROTECTED

    def _finish_volume(self, number: int, count: int, part: str) -> str:
        """Turn staged volume ``part`` into its disc file; returns its staged name."""
        staging = self._staged()
        disc = finish_disc(
            staging,
            part,
            number=number,
            count=count,
            set_hex=self.set_id.hex(),
            notice=self.notice,
            spares=self.spares,
            iso=self.iso,
            redundancy=self.redundancy,
            phases=self.phases,
            offset=self._fronts[number - 1] if number <= count else 0,
            sums=self._staged_sums[number - 1] if number <= count else None,
        )
        size = (staging.path / disc).stat().st_size
        if self.disc_capacity is not None and size > self.disc_capacity:
            raise MediaError(
                f"volume {number} of {count}{self._with_spares()} came out at {size} bytes, "
                f"more than the medium's {self.disc_capacity}: please report this as a bug"
            )
        return disc
