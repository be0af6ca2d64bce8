"""File-system operations relative to directory descriptors, for extraction.

A local user who can write to the destination can rename any entry in it and put
a symbolic link in its place at any moment. Everything here therefore works on
descriptors this process opened itself: components are opened one at a time
with ``O_NOFOLLOW``, files are created with ``O_EXCL`` (or anonymously with
``O_TMPFILE``), and metadata is applied with ``fchmod``/``futimens`` on an open
descriptor. A name is only ever resolved relative to a directory descriptor, so
a swapped name can make an operation fail, never act on something elsewhere.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Callable
from functools import cache

from ..atomic import DIR_FLAGS, NEW_FILE_FLAGS, proc_fd_path
from ..atomic import lstat_at as lstat_at  # one lstat-or-None, also used from here

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
# Errors by which a kernel or file system says it has no O_TMPFILE.
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}
_RENAME_NOREPLACE = 1


def open_dir(name: str, dir_fd: int | None = None) -> int:
    """Open directory ``name`` (relative to ``dir_fd``), never through a symbolic link."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def open_below(dir_fd: int, parts: list[str]) -> int | None:
    """Open the directory ``parts`` (path components) below ``dir_fd``, one
    component at a time without following links; None if that fails anywhere.
    ``dir_fd`` itself stays open."""
    fd = dir_fd
    try:
        for part in parts:
            sub = open_dir(part, fd)
            if fd != dir_fd:
                os.close(fd)
            fd = sub
    except OSError:
        if fd != dir_fd:
            os.close(fd)
        return None
    return fd


def same_dir_at(name: str, dir_fd: int, fd: int) -> bool:
    """Whether ``name`` in ``dir_fd`` is still the directory open as ``fd``."""
    st = lstat_at(name, dir_fd)
    mine = os.fstat(fd)
    return (
        st is not None
        and stat.S_ISDIR(st.st_mode)
        and (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
    )


def apply_metadata(fd: int, mode: int, mtime_ns: int | None, umask: int) -> None:
    """Give the open file or directory ``fd`` the permission bits
    ``mode & 0o777 & ~umask`` (never setuid, setgid or sticky) and, if given,
    the time ``mtime_ns``: on the descriptor, never by name."""
    os.fchmod(fd, mode & 0o777 & ~umask)
    if mtime_ns is not None:
        os.utime(fd, ns=(mtime_ns, mtime_ns))


def anonymous_file(dir_fd: int, flags: int = os.O_WRONLY) -> int | None:
    """An unnamed 0600 file in the directory ``dir_fd`` (``O_TMPFILE``), or None
    where the platform or file system has none. If the process dies, the kernel
    frees it: nothing stays reachable."""
    if not _O_TMPFILE:
        return None
    try:
        return os.open(".", _O_TMPFILE | flags | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise


def link_anonymous(fd: int, name: str, dir_fd: int) -> None:
    """Give the anonymous file ``fd`` the name ``name`` in ``dir_fd`` (fails if it exists)."""
    # linkat(AT_FDCWD, "/proc/self/fd/N", dir_fd, name, AT_SYMLINK_FOLLOW): the
    # documented way to link an O_TMPFILE file without CAP_DAC_READ_SEARCH.
    os.link(proc_fd_path(fd), name, dst_dir_fd=dir_fd)


def new_file(name: str, dir_fd: int, flags: int = os.O_WRONLY) -> int:
    """Create ``name`` in ``dir_fd``, 0600, exclusively, never through a link."""
    return os.open(name, flags | NEW_FILE_FLAGS, 0o600, dir_fd=dir_fd)


@cache
def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """glibc's ``renameat2``, which Python's ``os`` does not wrap (None without it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    func: Callable[[int, bytes, int, bytes, int], int] | None = getattr(libc, "renameat2", None)
    return func


def rename_noreplace(src_fd: int, name: str, dst_fd: int) -> None:
    """Move ``name`` from ``src_fd`` to ``dst_fd`` unless ``name`` exists there
    (``FileExistsError``), with no window in between where the kernel allows it
    (``renameat2(RENAME_NOREPLACE)``); elsewhere, as close to that as possible."""
    func = _renameat2()
    if func is not None:
        raw = os.fsencode(name)
        if func(src_fd, raw, dst_fd, raw, _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(code, os.strerror(code), name)
    st = lstat_at(name, src_fd)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        # A hard link fails if the name exists: the same guarantee for files.
        os.link(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
        os.unlink(name, dir_fd=src_fd)
        return
    if lstat_at(name, dst_fd) is not None:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), name)
    os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)


def remove_contents(dir_fd: int) -> None:
    """Remove everything inside the open directory ``dir_fd``, never following a
    symbolic link (each subdirectory is opened with ``O_NOFOLLOW``)."""
    while True:
        removed = seen = 0
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                seen += 1
                removed += _remove_entry(entry.name, entry.is_dir(follow_symlinks=False), dir_fd)
        # Entries removed while a directory is read may hide others: read it again
        # until it is empty, or until a pass removed nothing (give up, not spin).
        if seen == 0 or removed == 0:
            return


def _remove_entry(name: str, is_dir: bool, dir_fd: int) -> int:
    try:
        if not is_dir:
            os.unlink(name, dir_fd=dir_fd)
            return 1
        try:
            sub = open_dir(name, dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link or file
                os.unlink(name, dir_fd=dir_fd)
                return 1
            raise
        try:
            remove_contents(sub)
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=dir_fd)
        return 1
    except FileNotFoundError:
        return 1
    except OSError:
        return 0


def remove_dir_at(name: str, dir_fd: int, fd: int) -> None:
    """Empty the directory open as ``fd`` and remove its name ``name`` from
    ``dir_fd`` if that name still refers to it. Best effort: never raises."""
    try:
        remove_contents(fd)
        if same_dir_at(name, dir_fd, fd):
            os.rmdir(name, dir_fd=dir_fd)
    except OSError:
        pass
