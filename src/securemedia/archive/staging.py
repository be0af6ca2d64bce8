"""Safe extraction: members are written into a private staging directory inside
the destination and moved into place only after the whole archive verified.

What holds, whoever else can write to the destination:

* Everything works relative to directory descriptors this run opened itself
  (see :mod:`.dirfd`): the destination is opened with ``O_NOFOLLOW``, the
  staging directory ``DEST/.securemedia-partial-<random>`` (mode 0700) is
  created and then only used through its descriptor, and metadata is applied
  with ``fchmod``/``futimens``. Renaming the staging directory or putting a
  symbolic link in its place cannot make this run read, move, change or remove
  anything outside the destination; only what this run staged is moved.
* Each file is written 0600 into an anonymous file (``O_TMPFILE``) and gets a
  name in the staging directory only once the member's reader reached its end
  without raising (every chunk authenticated; size and digest checked there
  when the reader knows the index). A process killed at any moment leaves no
  partly written plaintext reachable; where the file system has no
  ``O_TMPFILE`` the file is a named 0600 file instead.
* Each staging directory holds a ``lock`` file, ``flock``-ed while its run is
  alive. The next run into the same destination removes staging directories
  whose lock is free (a killed run's), and says so through ``notice``.
* Modes are ``mode & 0o777 & ~umask`` (never setuid, setgid or sticky). Nothing
  that existed before the run changes: an existing directory keeps its mode,
  owner and times (even with ``force``); an existing file is replaced only with
  ``force``, and then by a rename that replaces a link planted there, never
  writing through it. Only directories this run created get the archive's
  modes and times.
* Memory does not grow with the number of files: a file's metadata is applied
  on its descriptor as soon as it is written; only directories are remembered.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ..atomic import current_umask
from ..errors import DestinationExistsError, OperationalError
from . import dirfd
from .merge import conflict, merge_tree
from .paths import validate_member_name
from .stagedfile import StagedFile
from .stale import STAGING_PREFIX, create_staging, remove_stale

__all__ = ["STAGING_PREFIX", "StagedFile", "Staging"]

Notice = Callable[[str], None]
_TREE = "tree"  # members live below this, so no member name can clash with the lock


@dataclass(slots=True)
class _Dir:
    """A directory this run created in the staging tree (all the state kept per name)."""

    ino: tuple[int, int]
    mode: int | None = None
    mtime_ns: int | None = None


class Staging:
    """Collects extracted members in a private directory inside ``dest``.

    Use as a context manager: leaving the block with an exception (including one
    raised for SIGINT, SIGTERM or SIGHUP) removes everything this run wrote; call
    :meth:`commit` once the archive verified. ``notice`` receives one line per
    stale staging directory removed. With ``list_paths`` (the default),
    :meth:`commit` returns the final path of every member, which costs memory per
    member; :func:`~.extract.extract` turns it off.
    """

    def __init__(
        self,
        dest: Path,
        *,
        force: bool = False,
        notice: Notice | None = None,
        list_paths: bool = True,
    ) -> None:
        self.dest = dest
        self.force = force
        self._umask = current_umask()
        self._names: list[str] | None = [] if list_paths else None
        self._dirs: dict[str, _Dir] = {}
        self._checked: set[str] = set()  # destination parents known to be real directories
        self._absent: set[str] = set()  # destination parents known not to exist
        self._parent: tuple[str, int] | None = None  # the last staging directory used
        self._last: StagedFile | None = None  # finished, open until its metadata came
        self._committed = False
        self._created: tuple[int, str] | None = None  # (parent fd, name) if we made dest
        self._fds: list[int] = []
        try:
            self._dest_fd = self._open_dest(dest)
            remove_stale(self._dest_fd, dest, notice)
            self._name, self._root, self._lock, self._anonymous = create_staging(self._dest_fd)
            self._fds += [self._root, self._lock]
            os.mkdir(_TREE, 0o700, dir_fd=self._root)
            self._tree = dirfd.open_dir(_TREE, self._root)
            self._fds.append(self._tree)
        except OSError as exc:
            self.abort()
            raise OperationalError(f"cannot write to {dest}: {exc.strerror}") from None
        except BaseException:
            self.abort()
            raise

    def _open_dest(self, dest: Path) -> int:
        """Open ``dest`` (creating it if missing) without following a link at its name."""
        try:
            fd = dirfd.open_dir(os.fspath(dest))
        except FileNotFoundError:
            dest.parent.mkdir(parents=True, exist_ok=True)
            parent = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self._fds.append(parent)
            os.mkdir(dest.name, 0o777, dir_fd=parent)
            self._created = (parent, dest.name)
            fd = dirfd.open_dir(dest.name, parent)
        except OSError as exc:
            if exc.errno == errno.ELOOP or os.path.islink(dest):
                raise OperationalError(
                    f"destination {dest} is a symbolic link: give the directory it points to"
                ) from None
            if exc.errno == errno.ENOTDIR:
                raise OperationalError(
                    f"destination {dest} exists and is not a directory"
                ) from None
            raise
        self._fds.append(fd)
        return fd

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

    # -- checks before writing --------------------------------------------------

    def check_destination(self, names: Iterable[str], dirs: Iterable[str] = ()) -> None:
        """Refuse before writing: see :meth:`check_member`."""
        for name in names:
            self.check_member(name, is_dir=False)
        for name in dirs:
            self.check_member(name, is_dir=True)

    def check_member(self, name: str, *, is_dir: bool) -> None:
        """Refuse a file member whose final path exists (unless ``force``) or is a
        directory; a directory member whose final path is not a directory; and
        any symbolic link or non-directory on the way to a member, so that a link
        planted in the destination (``DEST/sub -> /elsewhere``) cannot redirect
        extraction outside it. (Advisory: :meth:`commit` checks again, through
        descriptors, before it moves anything.)"""
        parts = validate_member_name(name).split("/")
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key in self._absent:
                return  # nothing further down exists either
            if key in self._checked:
                continue
            st = dirfd.lstat_at(key, self._dest_fd)
            if st is None:
                self._absent.add(key)
                return
            if stat.S_ISLNK(st.st_mode):
                raise OperationalError(
                    f"{self.dest / key} is a symbolic link: refusing to extract {name!r} through it"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise DestinationExistsError(f"{self.dest / key} exists and is not a directory")
            self._checked.add(key)
        st = dirfd.lstat_at(name, self._dest_fd)
        if st is not None:
            conflict(self.dest / name, name, st, is_dir=is_dir, force=self.force)

    def check_free_space(self, needed: int) -> None:
        """Refuse to start when the destination cannot hold ``needed`` bytes."""
        vfs = os.fstatvfs(self._dest_fd)
        free = vfs.f_bavail * vfs.f_frsize
        if needed > free:
            raise OperationalError(
                f"not enough free space in {self.dest}: need {needed:,} bytes, {free:,} available"
            )

    # -- staging ----------------------------------------------------------------

    def open_file(
        self,
        name: str,
        size: int | None = None,
        *,
        mode: int | None = None,
        mtime_ns: int | None = None,
    ) -> StagedFile:
        """A new 0600 file for member ``name``. Leaving its ``with`` block without
        an error (or calling ``close``) gives it its mode and time and a name in
        the staging directory; leaving it with an error discards it. ``size``,
        if given, is the member's declared size: writing more, or closing with
        less, raises :class:`IntegrityError`."""
        self._finish_last()
        parent, _, leaf = validate_member_name(name).rpartition("/")
        parent_fd = self._dir_fd(parent)
        fd = dirfd.anonymous_file(parent_fd) if self._anonymous else None
        named = fd is None
        if fd is None:
            fd = dirfd.new_file(leaf, parent_fd)
        return StagedFile(
            name,
            fd,
            named=named,
            umask=self._umask,
            size=size,
            mode=mode,
            mtime_ns=mtime_ns,
            on_close=self._finished,
            on_discard=self._discarded,
        )

    def add_dir(self, name: str) -> None:
        """Stage directory member ``name`` (its mode and time come with :meth:`set_metadata`)."""
        self._finish_last()
        validate_member_name(name)
        self._dir_fd(name)
        if self._names is not None:
            self._names.append(name)

    def set_metadata(self, name: str, *, mtime_ns: int | None, mode: int | None) -> None:
        """Permission bits and time for the directory ``name``, or for the file
        ``name`` just closed. A file's are applied at once on its descriptor; a
        directory's after commit, and only if this run created it."""
        last = self._last
        if last is not None and last.name == name:
            self._last = None
            try:
                last.apply(mode, mtime_ns)
            finally:
                os.close(last.fd)
            return
        entry = self._dirs.get(name)
        if entry is None:
            raise ValueError(
                f"set_metadata: {name!r} is neither a staged directory nor the file just closed"
            )
        entry.mode, entry.mtime_ns = mode, mtime_ns

    def _dir_fd(self, name: str) -> int:
        """The staging directory for ``name`` ("" is the top), created as needed
        (0700 while staging), one component at a time without following links."""
        if self._parent is not None and self._parent[0] == name:
            return self._parent[1]
        if not name:
            return self._tree
        fd = self._tree
        try:
            parts = name.split("/")
            for depth, part in enumerate(parts, start=1):
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                    created = True
                except FileExistsError:
                    created = False
                sub = dirfd.open_dir(part, fd)
                if fd != self._tree:
                    os.close(fd)
                fd = sub
                if created:
                    st = os.fstat(fd)
                    self._dirs["/".join(parts[:depth])] = _Dir((st.st_dev, st.st_ino))
        except BaseException:
            if fd != self._tree:
                os.close(fd)
            raise
        self._forget_parent()
        self._parent = (name, fd)
        return fd

    def _forget_parent(self) -> None:
        if self._parent is not None:
            os.close(self._parent[1])
            self._parent = None

    def _finished(self, file: StagedFile) -> None:
        """``file`` was written to its end: give it its metadata and its name."""
        parent, _, leaf = file.name.rpartition("/")
        file.apply(file.mode, file.mtime_ns)
        if not file.named:
            dirfd.link_anonymous(file.fd, leaf, self._dir_fd(parent))
        if self._names is not None:
            self._names.append(file.name)
        self._last = file  # kept open for a set_metadata that may follow

    def _discarded(self, file: StagedFile) -> None:
        if file.named:
            parent, _, leaf = file.name.rpartition("/")
            with contextlib.suppress(OSError):
                os.unlink(leaf, dir_fd=self._dir_fd(parent))

    def _finish_last(self) -> None:
        if self._last is not None:
            os.close(self._last.fd)
            self._last = None

    # -- the end ----------------------------------------------------------------

    def commit(self) -> list[Path]:
        """Move every staged member to its final name; returns the final paths
        (empty without ``list_paths``).

        Every conflict with what exists is checked through descriptors before
        anything moves. A top-level name that does not exist yet in ``dest`` (a
        whole dataset directory, usually) appears in one ``rename``: a run killed
        at any moment leaves either all of it or none of it. Where the archive
        merges into an existing directory, members are moved one by one: a run
        killed then leaves some verified members at their final names and the
        rest in the staging directory, which the next run removes.
        """
        self._finish_last()
        self._forget_parent()
        try:
            merge_tree(self._tree, self._dest_fd, self.dest, force=self.force, check_only=True)
            moved = merge_tree(
                self._tree, self._dest_fd, self.dest, force=self.force, check_only=False
            )
            self._apply_dir_metadata(moved)
        except OSError as exc:
            raise OperationalError(f"cannot write to {self.dest}: {exc.strerror}") from None
        self._committed = True
        self._remove_staging()
        self._close_all()
        names, self._names = self._names or [], None
        return [self.dest / name for name in names]

    def _apply_dir_metadata(self, moved: set[str]) -> None:
        """Modes and times of the directories this run created (those moved into
        ``dest`` whole, or inside one), deepest first. Each is reopened from
        ``dest`` one component at a time and must still be the directory staged."""
        for name in sorted(self._dirs, key=lambda n: n.count("/"), reverse=True):
            parts = name.split("/")
            if not any("/".join(parts[:i]) in moved for i in range(1, len(parts) + 1)):
                continue
            entry = self._dirs[name]
            fd = dirfd.open_below(self._dest_fd, parts)
            if fd is None:
                continue
            try:
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != entry.ino:
                    continue  # swapped by someone else meanwhile: not ours to change
                mode = 0o777 if entry.mode is None else entry.mode
                dirfd.apply_metadata(fd, mode, entry.mtime_ns, self._umask)
            finally:
                os.close(fd)

    def abort(self) -> None:
        """Remove everything this run staged (and ``dest`` if this run created it).
        Works through descriptors only; never raises."""
        self._finish_last()
        self._forget_parent()
        if not self._committed:
            self._remove_staging()
            if self._created is not None and hasattr(self, "_dest_fd"):
                parent, name = self._created
                dirfd.remove_dir_at(name, parent, self._dest_fd)
        self._close_all()

    def _remove_staging(self) -> None:
        if hasattr(self, "_root"):
            dirfd.remove_dir_at(self._name, self._dest_fd, self._root)

    def _close_all(self) -> None:
        for fd in reversed(self._fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
