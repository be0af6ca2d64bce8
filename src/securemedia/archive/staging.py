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
import stat
import tempfile
from collections.abc import Sequence
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
        self._made: set[Path] = set()  # staging directories known to exist
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

    def check_destination(self, names: Sequence[str], dirs: Sequence[str] = ()) -> None:
        """Refuse before writing: a file member whose final path exists (unless
        ``force``) or is a directory; a directory member whose final path is not
        a directory; and any symbolic link or non-directory on the way to a
        member, so that a link planted in the destination (``DEST/sub ->
        /elsewhere``) cannot redirect extraction outside it."""
        checked: set[str] = set()
        for name in names:
            target = self._final_path(name, checked)
            if os.path.lexists(target):
                if target.is_dir() and not target.is_symlink():
                    raise DestinationExistsError(
                        f"{target} is a directory and cannot be replaced by file member {name!r}"
                    )
                if not self.force:
                    raise DestinationExistsError(
                        f"{target} already exists (use --force to overwrite)"
                    )
        for name in dirs:
            target = self._final_path(name, checked)
            if target.is_symlink():
                raise DestinationExistsError(
                    f"{target} is a symbolic link: refusing to extract directory {name!r} there"
                )
            if os.path.lexists(target) and not target.is_dir():
                raise DestinationExistsError(
                    f"{target} exists and is not a directory (member {name!r} is a directory)"
                )

    def _final_path(self, name: str, checked: set[str]) -> Path:
        """``dest/name``, after checking that every existing parent on the way is
        a real directory (not a symbolic link); ``checked`` caches parents."""
        parts = validate_member_name(name).split("/")
        path = self.dest
        for depth, part in enumerate(parts[:-1], start=1):
            path = path / part
            key = "/".join(parts[:depth])
            if key in checked:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                break  # nothing further down exists either
            if stat.S_ISLNK(st.st_mode):
                raise OperationalError(
                    f"{path} is a symbolic link: refusing to extract {name!r} through it"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise DestinationExistsError(f"{path} exists and is not a directory")
            checked.add(key)
        return self.dest / name

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
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
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
        """Move every staged member to its final name; returns the final paths.

        A top-level name that does not exist yet in ``dest`` (a whole dataset
        directory, usually) appears in one ``rename``: a run killed at any
        moment leaves either all of it or none of it. Only where the archive
        merges into an existing directory are members moved one by one.
        """
        entries = list(self._entries.values())
        self.check_destination(
            [e.name for e in entries if not e.is_dir], [e.name for e in entries if e.is_dir]
        )
        try:
            for entry in entries:
                if not entry.is_dir:
                    _apply_metadata(self._staged_path(entry.name), entry)
            for top in sorted(os.listdir(self._root)):
                self._move(top)
            # Directory times last: creating their children changed them.
            for entry in reversed(entries):
                if entry.is_dir:
                    _apply_metadata(self.dest / entry.name, entry)
        except OSError as exc:
            raise OperationalError(f"cannot write to {self.dest}: {exc.strerror}") from None
        self._committed = True
        shutil.rmtree(self._root, ignore_errors=True)
        return [self.dest / e.name for e in entries]

    def _move(self, rel: str) -> None:
        """Move staged ``rel`` to ``dest/rel``: in one rename, unless both are
        directories, in which case its children are merged one by one."""
        staged = self._root / rel
        target = self.dest / rel
        if (
            staged.is_dir()
            and not target.is_symlink()
            and target.is_dir()
            and not staged.is_symlink()
        ):
            for child in sorted(os.listdir(staged)):
                self._move(f"{rel}/{child}")
        else:
            os.replace(staged, target)

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
