"""What ``pack --media`` plugs into: the disc-set sink (``unpack`` uses ``volume_set``)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast

from ..errors import UsageError
from .plan import resolve_redundancy, volume_capacity
from .readme import load_notice
from .sizes import parse_medium
from .volumes import VolumeSetWriter


class MediaOutput:
    """A context manager giving the archive writer a binary sink that writes discs.

    Entering yields the :class:`VolumeSetWriter` (as a ``BinaryIO``); leaving
    normally finishes the set (headers patched, images built, recovery data
    added), leaving by an exception removes every file written.
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
    ) -> None:
        if output == "-":
            raise UsageError("--media writes volume files: give -o NAME, not -o -")
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
        )

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
            "volumes": [{"path": str(p), "bytes": p.stat().st_size} for p in self.paths],
        }

    def describe(self) -> str:
        """One line for the operator: how many discs, and their files."""
        names = ", ".join(p.name for p in self.paths)
        return f"{len(self.paths)} disc(s) of {self.medium.name}: {names}"


def media_output(
    output: str,
    *,
    media: str | None,
    iso: bool,
    redundancy: str | None,
    notice: str | None,
    notice_text: str | None,
    force: bool,
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
            )
            if value
        ]
        if given:
            raise UsageError(f"{', '.join(given)} need(s) --media")
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
    )
