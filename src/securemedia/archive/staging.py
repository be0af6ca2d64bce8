"""Safe extraction: members are written under temporary names and moved into
place only after the whole archive has verified.

The staging directory lives inside the destination, so the final ``os.replace``
is a rename on one file system. If the process dies, what is left is a
``.securemedia-partial-*`` directory, never a complete-looking file at a final
name; a failed extraction removes the staging directory, and the destination
itself if this run created it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ..errors import DestinationExistsError, OperationalError
from .paths import validate_member_name

STAGING_PREFIX = ".securemedia-partial-"


@dataclass(frozen=True)
class StagedEntry:
    name: str
    is_dir: bool
    mtime_ns: int | None
    mode: int | None


class Staging:
    """Collects extracted members in a hidden directory inside ``dest``.

    Use as a context manager: leaving the block with an exception removes
    everything this run wrote; call :meth:`commit` once the archive verified.
    """

    def __init__(self, dest: Path, *, force: bool = False) -> None:
        self.dest = dest
        self.force = force
        self._created_dest = False
        # Insertion-ordered by name: metadata updates are O(1), commit keeps order.
        self._entries: dict[str, StagedEntry] = {}
        self._committed = False
        try:
            if dest.exists() and not dest.is_dir():
                raise OperationalError(f"destination {dest} exists and is not a directory")
            if not dest.exists():
                dest.mkdir(parents=True)
                self._created_dest = True
            self._root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dest))
        except OSError as exc:
            raise OperationalError(f"cannot write to {dest}: {exc.strerror}") from None

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or not self._committed:
            self.abort()

    def check_destination(self, names: list[str]) -> None:
        """Refuse before writing if a final path exists and ``force`` is off, or
        if an existing parent on the way is not a directory."""
        for name in names:
            target = self.dest / validate_member_name(name)
            exists = target.is_symlink() or target.exists()
            if exists and not self.force and not target.is_dir():
                raise DestinationExistsError(f"{target} already exists (use --force to overwrite)")

    def check_free_space(self, needed: int) -> None:
        """Refuse to start when the destination cannot hold ``needed`` bytes."""
        free = shutil.disk_usage(self.dest).free
        if needed > free:
            raise OperationalError(
                f"not enough free space in {self.dest}: need {needed:,} bytes, {free:,} available"
            )

    def open_file(self, name: str) -> BinaryIO:
        """A new file for member ``name`` under the staging directory."""
        path = self._staged_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._entries[name] = StagedEntry(name, False, None, None)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def add_dir(self, name: str) -> None:
        self._staged_path(name).mkdir(parents=True, exist_ok=True)
        self._entries[name] = StagedEntry(name, True, None, None)

    def set_metadata(self, name: str, *, mtime_ns: int | None, mode: int | None) -> None:
        """Remember permission bits and time to apply when the member is committed."""
        entry = self._entries[name]
        self._entries[name] = StagedEntry(name, entry.is_dir, mtime_ns, mode)

    def commit(self) -> list[Path]:
        """Move every staged member to its final name; returns the final paths."""
        self.check_destination([e.name for e in self._entries.values() if not e.is_dir])
        final: list[Path] = []
        try:
            for entry in self._entries.values():
                target = self.dest / entry.name
                if entry.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    staged = self._staged_path(entry.name)
                    _apply_metadata(staged, entry)
                    os.replace(staged, target)
                final.append(target)
            # Directory times last: creating their children changed them.
            for entry in reversed(self._entries.values()):
                if entry.is_dir:
                    _apply_metadata(self.dest / entry.name, entry)
        except OSError as exc:
            raise OperationalError(f"cannot write to {self.dest}: {exc.strerror}") from None
        self._committed = True
        shutil.rmtree(self._root, ignore_errors=True)
        return final

    def abort(self) -> None:
        """Remove everything this run wrote."""
        shutil.rmtree(self._root, ignore_errors=True)
        if self._created_dest:
            shutil.rmtree(self.dest, ignore_errors=True)

    def _staged_path(self, name: str) -> Path:
        return self._root / validate_member_name(name)


def _apply_metadata(path: Path, entry: StagedEntry) -> None:
    if entry.mode is not None:
        os.chmod(path, entry.mode & 0o777)
    if entry.mtime_ns is not None:
        os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))
