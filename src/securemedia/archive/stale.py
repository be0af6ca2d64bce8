"""Staging directories: creating one with its lock, and removing those left by a
run that was killed (SIGKILL, a power cut) before it could clean up.

Each staging directory ``DEST/.securemedia-partial-<random>`` (mode 0700) holds
a file ``lock`` on which its run holds an exclusive ``flock`` for as long as it
lives; the kernel releases it when the process dies, however it dies. A run
removes the staging directories in its destination whose lock it can take (and
those of older versions, which had no lock, once they hold anything), only if
they belong to its own user; a live run's staging is never touched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from ..atomic import READ_FLAGS
from . import dirfd

STAGING_PREFIX = ".securemedia-partial-"
LOCK = "lock"
_CREATION_GRACE = 600  # seconds: far longer than creating a directory and its lock takes


def create_staging(dest_fd: int) -> tuple[str, int, int, bool]:
    """Create and lock a new staging directory in ``dest_fd``.

    Returns its name, a descriptor on it, the locked descriptor of its lock
    file, and whether anonymous files (``O_TMPFILE`` linked in through
    ``/proc/self/fd``) work there: the lock file is made that way when they do,
    so that it is locked before any other process can see it.
    """
    while True:
        name = STAGING_PREFIX + secrets.token_hex(8)
        try:
            os.mkdir(name, 0o700, dir_fd=dest_fd)
            break
        except FileExistsError:
            continue
    root = dirfd.open_dir(name, dest_fd)
    try:
        lock, anonymous = _make_lock(root)
    except BaseException:
        dirfd.remove_dir_at(name, dest_fd, root)
        os.close(root)
        raise
    return name, root, lock, anonymous


def _make_lock(root: int) -> tuple[int, bool]:
    fd = dirfd.anonymous_file(root, os.O_RDWR)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            dirfd.link_anonymous(fd, LOCK, root)
            return fd, True
        except OSError:
            os.close(fd)  # no /proc, say: named files, then
    fd = dirfd.new_file(LOCK, root, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd, False


def remove_stale(dest_fd: int, dest: Path, notice: Callable[[str], None] | None) -> None:
    """Remove the staging directories in ``dest_fd`` that no live run holds,
    reporting each to ``notice``. Best effort: a failure here never stops the run."""
    try:
        with os.scandir(dest_fd) as entries:
            names = [
                e.name
                for e in entries
                if e.name.startswith(STAGING_PREFIX) and e.is_dir(follow_symlinks=False)
            ]
    except OSError:
        return
    for name in names:
        try:
            removed = _remove_if_stale(dest_fd, name)
        except OSError:
            removed = False
        if removed and notice is not None:
            notice(f"removed {dest / name}, left by an earlier unpack into {dest} that was killed")


def _remove_if_stale(dest_fd: int, name: str) -> bool:
    try:
        root = dirfd.open_dir(name, dest_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            return False  # not a directory (any more): not ours
        raise
    try:
        if os.fstat(root).st_uid != os.geteuid():
            return False  # another user's: theirs to clean up
        try:
            lock = os.open(LOCK, READ_FLAGS, dir_fd=root)
        except FileNotFoundError:
            # No lock: an older version's staging (remove it if it holds
            # anything), or one being created this instant (still empty; a run
            # killed in that instant leaves it empty, removed once it is old).
            with os.scandir(root) as entries:
                empty = next(entries, None) is None
            if empty and time.time() - os.fstat(root).st_mtime < _CREATION_GRACE:
                return False
            dirfd.remove_dir_at(name, dest_fd, root)
            return not dirfd.same_dir_at(name, dest_fd, root)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a live run
            dirfd.remove_dir_at(name, dest_fd, root)
            return not dirfd.same_dir_at(name, dest_fd, root)
        finally:
            os.close(lock)
    finally:
        os.close(root)
