"""Moving a staged tree into the destination, through directory descriptors.

A staged entry whose name does not exist in the destination moves in one
``rename`` (a whole directory at once). A staged directory whose name is an
existing real directory is merged: its entries are moved one by one, and the
existing directory itself is left as it is (mode, owner, times). Both sides are
only ever reached through descriptors opened with ``O_NOFOLLOW``, so a name
swapped for a symbolic link meanwhile makes the move fail, never go elsewhere.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..atomic import already_exists
from ..errors import DestinationExistsError, OperationalError
from . import dirfd


def merge_tree(src_fd: int, dst_fd: int, dest: Path, *, force: bool, check_only: bool) -> set[str]:
    """Move everything in directory ``src_fd`` into ``dst_fd`` (the directory
    ``dest``); returns the names (relative to ``dest``) of the directories moved
    whole. With ``check_only``, move nothing: raise for the first conflict
    (see :func:`conflict`) that the move would meet."""
    moved: set[str] = set()
    _merge(src_fd, dst_fd, dest, "", force=force, check_only=check_only, moved=moved)
    return moved


def _merge(
    src_fd: int,
    dst_fd: int,
    dest: Path,
    prefix: str,
    *,
    force: bool,
    check_only: bool,
    moved: set[str],
) -> None:
    while True:
        seen = 0
        # Read lazily (a directory may hold a million files); entries moved away
        # while it is read may hide others, so read again until it is empty.
        with os.scandir(src_fd) as entries:
            for entry in entries:
                seen += 1
                name = entry.name
                rel = prefix + name
                is_dir = entry.is_dir(follow_symlinks=False)
                target = dirfd.lstat_at(name, dst_fd)
                if target is None:
                    if not check_only:
                        _move_new(src_fd, dst_fd, name, dest / rel)
                        if is_dir:
                            moved.add(rel)
                    continue
                conflict(dest / rel, rel, target, is_dir=is_dir, force=force)
                if is_dir:  # into an existing real directory: merge
                    _merge_dir(src_fd, dst_fd, name, dest, rel, force, check_only, moved)
                elif not check_only:
                    # --force over a file or a link: rename replaces the name itself,
                    # never writes through a link planted there.
                    os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        if check_only or seen == 0:
            return


def _merge_dir(
    src_fd: int,
    dst_fd: int,
    name: str,
    dest: Path,
    rel: str,
    force: bool,
    check_only: bool,
    moved: set[str],
) -> None:
    sub_src = dirfd.open_dir(name, src_fd)
    try:
        sub_dst = dirfd.open_dir(name, dst_fd)
        try:
            _merge(
                sub_src,
                sub_dst,
                dest,
                rel + "/",
                force=force,
                check_only=check_only,
                moved=moved,
            )
        finally:
            os.close(sub_dst)
    finally:
        os.close(sub_src)
    if not check_only:
        os.rmdir(name, dir_fd=src_fd)  # the staged copy, now empty


def _move_new(src_fd: int, dst_fd: int, name: str, path: Path) -> None:
    try:
        dirfd.rename_noreplace(src_fd, name, dst_fd)
    except FileExistsError:
        # Appeared since the check: whatever it is, it is not ours to replace.
        raise DestinationExistsError(f"{path} appeared during extraction") from None


def conflict(path: Path, name: str, st: os.stat_result, *, is_dir: bool, force: bool) -> None:
    """Raise for member ``name`` (a directory if ``is_dir``) whose final path
    ``path`` holds ``st``, unless that is allowed: a directory into a real
    directory (merged, left unchanged), a file over a file or link with ``force``."""
    if stat.S_ISLNK(st.st_mode) and is_dir:
        raise OperationalError(
            f"{path} is a symbolic link: refusing to extract directory {name!r} there"
        )
    if stat.S_ISDIR(st.st_mode):
        if not is_dir:
            raise DestinationExistsError(
                f"{path} is a directory and cannot be replaced by file member {name!r}"
            )
        return
    if is_dir:
        raise DestinationExistsError(
            f"{path} exists and is not a directory (member {name!r} is a directory)"
        )
    if not force:
        raise already_exists(path)
