"""Extraction: to a directory (staged, committed only after the whole archive
verified) or one member to a stream."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError, writing_to
from .index import FILE, Member
from .paths import validate_member_name
from .reader import READ_SIZE, ArchiveReader, MemberReader
from .staging import Staging

Progress = Callable[[int], None]


@dataclass
class ExtractResult:
    written: list[Path] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    bytes: int = 0


def extract(
    reader: ArchiveReader,
    dest: Path,
    *,
    select: Sequence[str] | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ExtractResult:
    """Extract every member (or the ``select``ed ones) into ``dest``.

    Nothing appears at a final name until the whole archive (or, for selected
    members of a seekable archive, each selected member and the signed index)
    has verified; on failure ``dest`` is left as it was.
    """
    wanted = set(select) if select else None
    result = ExtractResult()
    with writing_to(dest), Staging(dest, force=force) as staging:  # a full disk says where
        stager = _Stager(staging, progress)
        if reader.seekable:
            chosen = [m for m in reader.members if wanted is None or m.path in wanted]
            _check_selection(wanted, {m.path for m in reader.members})
            staging.check_destination(
                [m.path for m in chosen if m.type == FILE],
                [m.path for m in chosen if m.type != FILE],
            )
            staging.check_free_space(sum(m.size for m in chosen))
        if reader.seekable and wanted is not None:
            for m in chosen:
                data = reader.open_member(m.path) if m.type == FILE else None
                stager.stage(m.path, m.mode, m.mtime_ns, data)
        else:
            seen: set[str] = set()
            for entry in reader.walk():
                seen.add(entry.path)
                if wanted is None or entry.path in wanted:
                    meta = entry.meta
                    stager.stage(entry.path, meta["mode"], meta["mtime_ns"], entry.data)
            _check_selection(wanted, seen)
        result.written = staging.commit()
    result.members = [m for m in reader.members if wanted is None or m.path in wanted]
    result.bytes = sum(m.size for m in result.members)
    return result


def _check_selection(wanted: set[str] | None, present: set[str]) -> None:
    missing = sorted((wanted or set()) - present)
    if missing:
        raise UsageError(f"no member {missing[0]!r} in this archive")


class _Stager:
    """Writes members into the staging area, reporting progress."""

    def __init__(self, staging: Staging, progress: Progress | None) -> None:
        self._staging = staging
        self._progress = progress

    def stage(self, name: str, mode: int, mtime_ns: int, data: MemberReader | None) -> None:
        validate_member_name(name)
        if data is None:
            self._staging.add_dir(name)
        else:
            with self._staging.open_file(name) as out:
                while chunk := data.read(READ_SIZE):
                    out.write(chunk)
                    if self._progress is not None:
                        self._progress(len(chunk))
        self._staging.set_metadata(name, mtime_ns=mtime_ns, mode=mode)


def copy_member(reader: ArchiveReader, name: str | None, out: BinaryIO) -> Member | None:
    """Write one file member's plaintext to ``out``.

    Seekable archive: a pass that writes nothing verifies first, then the
    member is streamed. Without ``name`` that pass covers the whole archive, end
    to end; with ``name`` (``--member``) it covers that member, whose size and
    digest are checked against the signed index, and only its own chunks and the
    index are decrypted. Pipe: chunks are written as they authenticate, and a
    damaged or truncated archive raises where the damage is found, after the
    earlier (authentic) bytes went out.
    """
    if reader.seekable:
        files = [m for m in reader.members if m.type == FILE]
        target = _choose(files, name)
        if name is None:
            reader.verify()
        else:
            reader.open_member(target.path).drain()
        data = reader.open_member(target.path)
        shutil.copyfileobj(data, out, READ_SIZE)
        data.read()  # end of member: size and digest checked
        return target
    written: str | None = None
    for entry in reader.walk():
        if entry.data is None or (name is not None and entry.path != name):
            continue
        if written is not None:
            raise UsageError("archive has more than one member: choose one with --member")
        written = entry.path
        while chunk := entry.data.read(READ_SIZE):
            out.write(chunk)
    if written is None:
        raise UsageError(f"no member {name!r} in this archive" if name else "archive has no file")
    return reader.member(written)


def _choose(files: list[Member], name: str | None) -> Member:
    if name is not None:
        for member in files:
            if member.path == name:
                return member
        raise UsageError(f"no file member {name!r} in this archive")
    if len(files) != 1:
        raise UsageError(f"archive has {len(files)} files: choose one with --member")
    return files[0]
