"""Extraction: to a directory (staged, committed only after the whole archive
verified) or one member to a stream."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import Remedy, UsageError, os_error, writing_to
from ..progress import Progress
from .index import FILE, Member
from .reader import READ_SIZE, ArchiveReader, MemberReader
from .staging import Notice, Staging


@dataclass
class RestoredCounts:
    """How many members were restored, and their bytes: what extract and salvage
    both report, counted the same way."""

    files: int = 0
    directories: int = 0
    bytes: int = 0

    def count(self, member: Member) -> None:
        if member.type == FILE:
            self.files += 1
            self.bytes += member.size
        else:
            self.directories += 1


@dataclass
class ExtractResult(RestoredCounts):
    """What :func:`extract` restored. ``members`` and ``written`` (one entry per
    member) are filled only when asked for (``list_members``): the counts cost
    no memory per member, the lists do."""

    written: list[Path] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)


def extract(
    reader: ArchiveReader,
    dest: Path,
    *,
    select: Sequence[str] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    notice: Notice | None = None,
    list_members: bool = True,
) -> ExtractResult:
    """Extract every member (or the ``select``ed ones) into ``dest``.

    Nothing appears at a final name until the whole archive (or, for selected
    members, each selected member and the signed index) has verified; on
    failure ``dest`` is left as it was. See :mod:`.staging` for what holds
    against a hostile neighbour and a killed process; ``notice`` receives one
    line for each stale staging directory (of a killed earlier run) that was
    removed. Memory does not grow with the member count unless
    ``list_members`` asks for the lists in the result.
    """
    wanted = set(select) if select else None
    with (
        writing_to(dest),  # a full disk says where
        Staging(dest, force=force, notice=notice, list_paths=False) as staging,
    ):
        stager = Stager(staging, progress)
        # One pass over the (authenticated) index before anything is written:
        # the destination, the selection and the free space.
        # The result is counted here too: the index is not read again for it.
        found: set[str] = set()
        result = ExtractResult()
        for m in reader.iter_members():
            if wanted is None or m.path in wanted:
                if wanted is not None:
                    found.add(m.path)
                staging.check_member(m.path, is_dir=m.type != FILE)
                _count(result, m, dest, list_members)
        _check_selection(wanted, found)
        staging.check_free_space(result.bytes)
        if wanted is not None:
            for m in reader.iter_members():
                if m.path in wanted:
                    data = reader.open_member(m) if m.type == FILE else None
                    stager.stage(m.path, m.mode, m.mtime_ns, data, m.size)
        else:
            for entry in reader.walk():
                m = entry.member
                stager.stage(m.path, m.mode, m.mtime_ns, entry.data, m.size)
        staging.commit()
    return result


def _count(result: ExtractResult, m: Member, dest: Path, list_members: bool) -> None:
    result.count(m)
    if list_members:
        result.members.append(m)
        result.written.append(dest / m.path)


def _check_selection(wanted: set[str] | None, present: set[str]) -> None:
    missing = sorted((wanted or set()) - present)
    if missing:
        raise UsageError(f"no member {missing[0]!r} in this archive")


class Stager:
    """Writes members into the staging area, reporting progress (extract and salvage)."""

    def __init__(self, staging: Staging, progress: Progress | None) -> None:
        self._staging = staging
        self._progress = progress

    def stage(
        self, name: str, mode: int, mtime_ns: int, data: MemberReader | None, size: int | None
    ) -> None:
        # The name is checked by the staging itself (add_dir, open_file).
        try:
            if data is None:
                self._staging.add_dir(name)
                self._staging.set_metadata(name, mtime_ns=mtime_ns, mode=mode)
                return
            # The file gets its name in the staging directory only when the
            # member's reader returned its end without raising (size and digest).
            with self._staging.open_file(name, size, mode=mode, mtime_ns=mtime_ns) as out:
                while chunk := data.read(READ_SIZE):
                    out.write(chunk)
                    if self._progress is not None:
                        self._progress(len(chunk))
        except OSError as exc:
            raise os_error(exc, "write to", self._staging.dest) from None


def copy_member(reader: ArchiveReader, name: str | None, out: BinaryIO) -> Member | None:
    """Write one file member's plaintext to ``out``.

    A pass that writes nothing verifies first, then the member is streamed.
    Without ``name`` that pass covers the whole archive, end to end; with
    ``name`` (``--member``) it covers that member, whose size and digest are
    checked against the signed index, and only its own chunks and the index are
    decrypted. (A pipe was spooled, as ciphertext, by the reader: no byte goes
    out before it verified, on any input.)
    """
    target = _choose(reader, name)
    if name is None:
        reader.verify()
    else:
        reader.open_member(target).drain()
    data = reader.open_member(target)
    shutil.copyfileobj(data, out, READ_SIZE)
    data.read()  # end of member: size and digest checked
    return target


def _choose(reader: ArchiveReader, name: str | None) -> Member:
    """The file member ``name``, or the only file member (one pass over the index)."""
    only: Member | None = None
    files = 0
    for member in reader.iter_members():
        if member.type != FILE:
            continue
        if name is not None and member.path == name:
            return member
        files += 1
        only = member
    if name is not None:
        raise UsageError(f"no file member {name!r} in this archive")
    if files != 1 or only is None:
        raise UsageError(
            f"archive has {files} files, and one was to be written alone",
            remedy=Remedy.CHOOSE_MEMBER,
        )
    return only
