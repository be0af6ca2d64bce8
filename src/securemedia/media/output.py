"""What ``pack --media`` plugs into: the disc-set sink (``unpack`` uses ``volume_set``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ..errors import FormatError, OperationalError, Remedy, UsageError
from ..progress import Phases, no_phases
from ..recipients import Identity
from .plan import resolve_redundancy, volume_capacity
from .readme import load_notice
from .salvage_copy import salvage_reserve
from .sizes import parse_medium
from .volume_set import open_volume_set
from .volumes import VolumeSetWriter

if TYPE_CHECKING:
    from ..archive.writer import ArchiveWriter


class MediaOutput:
    """A context manager giving the archive writer a binary sink that writes discs.

    Entering yields the :class:`VolumeSetWriter` (as a ``BinaryIO``); leaving
    normally finishes the set (headers patched, images built, recovery data
    added, and - once :meth:`read_back_with` was given the archive writer, unless
    ``verify`` is False - the whole set read back and authenticated), then gives
    the files their names; leaving by an exception removes every file written.
    """

    def __init__(
        self,
        output: str,
        *,
        media: str,
        iso: bool,
        redundancy: str | None,
        notice: str | None,
        notice_text: str | None,
        force: bool,
        verify: bool = True,
        spares: int = 0,
    ) -> None:
        if output == "-":
            raise UsageError(
                "volume files are named after the output: it cannot be standard output",
                remedy=Remedy.NAMED_OUTPUT,
            )
        self.medium = parse_medium(media)
        self.redundancy = resolve_redundancy(redundancy)
        self.iso = iso
        notice_path = Path(notice) if notice is not None else None
        self.notice = load_notice(notice_path, notice_text)
        base = Path(output)
        capacity = volume_capacity(
            self.medium, iso=iso, redundancy=self.redundancy, base_name=base.name
        )
        self.writer = VolumeSetWriter(
            base,
            capacity,
            iso=iso,
            redundancy=self.redundancy,
            notice=self.notice,
            disc_capacity=self.medium.capacity,
            overwrite=force,
            spares=spares,
        )
        self.verify = verify
        self.verified = False
        """True once the finished set was read back and authenticated."""
        self.read_back_seconds: float | None = None

    def read_back_with(self, archive: ArchiveWriter) -> None:
        """Read the finished set back with ``archive``'s own key before it is kept.

        Call it once the archive writer writing into this sink exists. The set
        is opened from the files on disk exactly as ``unpack`` and ``verify -i``
        open it, and every byte is authenticated with the file key the writer
        still holds; if that fails, the whole set is removed.
        """
        if not self.verify:
            return
        identity = archive._read_back_identity()

        def check(paths: list[Path]) -> None:
            started = time.monotonic()
            read_back(paths, identity, self.writer.phases)
            self.read_back_seconds = time.monotonic() - started
            self.verified = True

        self.writer.read_back = check

    def show_phases(self, phases: Phases | None) -> None:
        """Tell ``phases`` of each step of finishing the set once the archive is
        written: spare discs, images, recovery data, reading back."""
        if phases is not None:
            self.writer.phases = phases

    def reserve_salvage(self, names: Iterable[str], header_length: int) -> None:
        """Keep room in every volume for the salvage copy of an archive whose
        members are ``names`` (all of them, known before writing) and whose
        header is ``header_length`` bytes; call it once the header went out."""
        self.writer.reserve_salvage(salvage_reserve(names, header_length))

    def __enter__(self) -> BinaryIO:
        # The archive writer only calls write() (and flush); VolumeSetWriter is a
        # RawIOBase, which typeshed does not count as a BinaryIO.
        return cast(BinaryIO, self.writer)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.writer.__exit__(exc_type, exc, tb)

    @property
    def paths(self) -> list[Path]:
        """The disc files written, in volume order (after a successful exit)."""
        return self.writer.paths

    def to_json(self) -> dict[str, Any]:
        """The set as pack reports it in ``--json``."""
        return {
            "media": {"name": self.medium.name, "bytes": self.medium.capacity},
            "iso": self.iso,
            "redundancy": self.redundancy,
            "set_id": self.writer.set_id.hex(),
            "salvage_copy": self.writer.has_salvage_copy,
            "verified": self.verified,
            "read_back_seconds": (
                None if self.read_back_seconds is None else round(self.read_back_seconds, 3)
            ),
            "spare_discs": self.writer.spares,
            "volumes": [
                {
                    "path": str(p),
                    "bytes": p.stat().st_size,
                    "number": number,
                    "spare": number > self.writer.count,
                }
                for number, p in enumerate(self.paths, 1)
            ],
        }

    def describe(self) -> str:
        """One line for the operator: how many discs, and their files."""
        count = self.writer.count
        names = ", ".join(p.name for p in self.paths[:count])
        if self.writer.spares:
            names += "; spare disc(s): " + ", ".join(p.name for p in self.paths[count:])
        check = (
            "read back and authenticated"
            if self.verified
            else "not read back (--no-verify): check them with verify -i"
        )
        line = f"{len(self.paths)} disc(s) of {self.medium.name}: {names}; {check}"
        if self.writer.salvage_skipped is not None:
            line += f"\nno salvage copy: {self.writer.salvage_skipped}"
        return line


def read_back(paths: list[Path], identity: Identity, phases: Phases = no_phases) -> None:
    """Authenticate, end to end, the archive that the disc files ``paths`` hold.

    Reads the files as they are on disk through the same code as ``unpack`` and
    ``verify -i`` (the volume set, then the archive reader's full walk: header
    MAC, every chunk, index, signature, every member's digest), and the salvage
    copies byte for byte against it.
    :class:`OperationalError` if anything fails: the set is not worth keeping.
    ``phases`` is told of the step ("reading back", the archive's bytes).
    """
    from ..archive.reader import ArchiveReader  # only a pack --media pays for it
    from .salvage_view import check_copies

    try:
        with open_volume_set(paths) as stream:
            reader = ArchiveReader(stream, [identity])
            reader.verify(phases("reading back", reader.payload_size))
            check_copies(paths, stream)  # the salvage copies repeat those very bytes
    except (FormatError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        # Name the files as the operator will see them, not by the staging path.
        why = str(why).replace(f"{paths[0].parent}{os.sep}", "") if paths else why
        raise OperationalError(
            f"the disc set just written failed its read-back check ({why}); "
            "it was removed: nothing was kept"
        ) from None


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: options named in a sentence."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def media_output(
    output: str,
    *,
    media: str | None,
    iso: bool,
    redundancy: str | None,
    notice: str | None,
    notice_text: str | None,
    force: bool,
    verify: bool = True,
    spares: int | None = None,
) -> MediaOutput | None:
    """The disc-set sink for ``pack``'s options, or None without ``--media``.

    Checks every option at once, before any key is loaded or file read.
    """
    if media is None:
        given = [
            name
            for name, value in (
                ("--iso", iso),
                ("--redundancy", redundancy),
                ("--notice", notice),
                ("--notice-text", notice_text),
                ("--no-verify", not verify),
                ("--spare-discs", spares is not None),
            )
            if value
        ]
        if given:
            raise UsageError(f"{_listed(given)} {'needs' if len(given) == 1 else 'need'} --media")
        return None
    if (notice is not None or notice_text is not None) and not iso:
        raise UsageError("--notice and --notice-text go into README.TXT on images: add --iso")
    return MediaOutput(
        output,
        media=media,
        iso=iso,
        redundancy=redundancy,
        notice=notice,
        notice_text=notice_text,
        force=force,
        verify=verify,
        spares=spares or 0,
    )
