"""The one way securemedia creates output files: exclusively, and at the final
name only when complete.

Two shapes, one set of rules:

* :func:`atomic_output` - one file (an archive, a ZIP, a key file, a repaired
  image): written as ``.NAME.partial-<random>`` beside the target;
* :class:`StagingDirectory` - a group of files that must all appear or none
  (the volumes or images of a disc set, a key file and its ``.pub``): written
  into a private (0700) directory ``.NAME.partial-<random>/`` beside them.

The rules, each against a neighbour who can write to the output directory:

* every temporary is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` under a random
  name, relative to a directory descriptor opened once: a symbolic link planted
  at any name is never followed, and a directory renamed or swapped for a link
  meanwhile does not redirect later steps;
* the temporary is mode 0600 while written; the final mode is set on the
  descriptor: 0600 for private files, otherwise ``0o666 & ~umask``;
* the final name is taken with ``link`` (which fails if the name exists, and
  never follows a link there) and the temporary unlinked; without ``force`` a
  file that appeared at the target meanwhile is never replaced. With ``force``
  ``rename`` replaces the name itself (a link at the target is replaced, never
  written through). On a file system without hard links (FAT, exFAT) the name
  is checked, then renamed: a window of microseconds, never a link followed;
* on any exception - ``KeyboardInterrupt``, ``SystemExit`` and the CLI's
  signal exceptions included - every temporary is removed. After SIGKILL at
  most a hidden ``.NAME.partial-*`` file or directory is left, never a
  complete-looking file at the target.

``durable=True`` adds fsync of the file and its directory, for the small files
that matter (keys, passphrases). Archives are not synced: an archive is
self-authenticating, so a power cut that leaves it short or zero-filled makes
it fail verification (exit 4); it cannot pass for complete.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Container, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import DestinationExistsError, OperationalError, Remedy, UsageError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# The open flags of every module that must not follow a symbolic link at a name
# (here, extraction's dirfd, pack's sources): defined once.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
READ_FLAGS = os.O_RDONLY | NOFOLLOW
"""Open an existing file for reading, never through a link at its name."""
DIR_FLAGS = READ_FLAGS | _DIRECTORY
"""Open a directory, never through a link at its name."""
NEW_FILE_FLAGS = os.O_CREAT | os.O_EXCL | NOFOLLOW
"""Create a file that must not exist yet (add the access mode), never through a link."""
_CREATE = os.O_RDWR | NEW_FILE_FLAGS
# link() refused because the file system has no hard links (FAT, exFAT, some FUSE).
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}
_TRIES = 64
_PROC_FD = Path("/proc/self/fd")


def temporary_prefix(output_name: str) -> str:
    """Every temporary of output ``output_name`` is named with this prefix.

    ``pack`` uses it to leave its own temporaries out of what it packs.
    """
    return f".{output_name}.partial-"


def proc_fd_path(fd: int) -> Path:
    """``/proc/self/fd/N``: a name that resolves through the open descriptor
    ``fd`` itself, not through any path (Linux; check it exists before relying on it)."""
    return _PROC_FD / str(fd)


def current_umask() -> int:
    """The process umask, read without changing it where the kernel reports it
    (another thread creating a file meanwhile would get the wrong mode)."""
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    # Round trip through the most restrictive mask, so a racing creation errs private.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def output_mode(*, private: bool) -> int:
    """0600 for private files, else what ``open`` would give a new file: 0666 & ~umask."""
    return 0o600 if private else 0o666 & ~current_umask()


def already_exists(shown: Path | str) -> DestinationExistsError:
    """The one way to refuse an existing output: the CLI adds its --force hint (Remedy.REPLACE)."""
    return DestinationExistsError(f"{shown} already exists", remedy=Remedy.REPLACE)


def _open_directory(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise OperationalError(f"cannot write to {path}: {exc.strerror or exc}") from None


def lstat_at(name: str, dir_fd: int) -> os.stat_result | None:
    """``lstat`` of ``name`` relative to ``dir_fd``; None if nothing is there."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _check_free(dir_fd: int, name: str, shown: Path, *, force: bool) -> None:
    """Refuse early what ``_publish`` would refuse at the end."""
    st = lstat_at(name, dir_fd)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        # Never suggest --force here: it cannot replace a directory, and the
        # caller most likely meant a file inside it.
        raise OperationalError(
            f"{shown} is a directory: give the name of the file to write, such as {shown}/NAME"
        )
    if not force:
        raise already_exists(shown)


def _create_exclusive(dir_fd: int, prefix: str, mode: int = 0o600) -> tuple[int, str]:
    """A new file under a random name in ``dir_fd``: descriptor and name."""
    for _ in range(_TRIES):
        name = prefix + secrets.token_hex(6)
        try:
            return os.open(name, _CREATE, mode, dir_fd=dir_fd), name
        except FileExistsError:
            continue  # someone's file, or link, under this name: pick another
    raise OperationalError("cannot create a temporary file: every name tried was taken")


def _publish(src_fd: int, src: str, dst_fd: int, dst: str, shown: Path, *, force: bool) -> None:
    """Give the finished temporary ``src`` its final name ``dst``."""
    if force:
        os.replace(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        return
    try:
        os.link(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
    except FileExistsError:
        raise already_exists(shown) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if lstat_at(dst, dst_fd) is not None:
            raise already_exists(shown) from None
        os.rename(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        return
    os.unlink(src, dir_fd=src_fd)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


@contextlib.contextmanager
def atomic_output(
    path: Path, *, force: bool = False, private: bool = False, durable: bool = False
) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary beside it; give it its name on success.

    Yields a new, empty binary file opened for reading and writing (seekable).
    Leaving the block normally sets the mode (0600 if ``private``, else
    ``0o666 & ~umask``) and moves the file to ``path``: an existing ``path`` -
    also one that appeared meanwhile - is refused with
    :class:`DestinationExistsError` unless ``force``. Leaving it by any exception
    removes the temporary. Errors of the file system raise
    :class:`OperationalError`; exceptions from the block pass through unchanged.
    """
    path = Path(path)
    name = path.name
    if name in ("", ".", ".."):
        raise UsageError(f"{path} is not a file name")
    dir_fd = _open_directory(path.parent)
    try:
        _check_free(dir_fd, name, path, force=force)
        try:
            fd, tmp = _create_exclusive(dir_fd, temporary_prefix(name))
        except OSError as exc:
            raise OperationalError(f"cannot write {path}: {exc.strerror or exc}") from None
        handle = os.fdopen(fd, "w+b")
        try:
            yield handle
            try:
                handle.flush()
                os.fchmod(handle.fileno(), output_mode(private=private))
                if durable:
                    os.fsync(handle.fileno())
                handle.close()
                _publish(dir_fd, tmp, dir_fd, name, path, force=force)
                if durable:
                    os.fsync(dir_fd)
            except OSError as exc:
                raise OperationalError(f"cannot write {path}: {exc.strerror or exc}") from None
        except BaseException:
            # Closing flushes what is buffered, which fails again on a full
            # disk: that must neither stop the cleanup nor replace the reason.
            with contextlib.suppress(OSError):
                handle.close()
            _unlink_quietly(tmp, dir_fd)
            raise
    finally:
        os.close(dir_fd)


class StagingDirectory:
    """A private directory beside a group of outputs that appear all or none.

    ``StagingDirectory(directory, label)`` makes ``directory/.LABEL.partial-*/``
    (mode 0700, so nobody else can plant anything in it). Files are created in
    it with :meth:`create`, or by code that needs a path under :attr:`path`
    (which, on Linux, resolves through the directory's own descriptor: renaming
    the directory or swapping it for a link cannot redirect it). :meth:`publish`
    moves chosen files to their final names in ``directory``: all of them, or -
    if any final name is taken - none. :meth:`discard` removes the directory and
    everything in it; leaving a ``with`` block does, whatever happened.
    """

    def __init__(self, directory: Path, label: str) -> None:
        self.directory = Path(directory)
        self._dir_fd = _open_directory(self.directory)
        self._fd = -1
        self._name = ""
        try:
            self._make(temporary_prefix(label))
        except BaseException:
            os.close(self._dir_fd)
            raise
        self._stat = os.fstat(self._fd)
        proc = proc_fd_path(self._fd)
        self.path = proc if proc.is_dir() else self.directory / self._name
        """Where files inside can be named by path (for code that only takes paths)."""

    def _make(self, prefix: str) -> None:
        for _ in range(_TRIES):
            name = prefix + secrets.token_hex(6)
            try:
                os.mkdir(name, 0o700, dir_fd=self._dir_fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise OperationalError(
                    f"cannot write to {self.directory}: {exc.strerror or exc}"
                ) from None
            self._name = name
            break
        else:
            raise OperationalError("cannot create a temporary directory: every name was taken")
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=self._dir_fd)
        except OSError as exc:
            raise OperationalError(
                f"{self.directory / name}: replaced while being created: {exc.strerror or exc}"
            ) from None
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            os.close(fd)
            raise OperationalError(f"{self.directory / name}: replaced while being created")
        self._fd = fd
        os.fchmod(fd, 0o700)  # mkdir's mode went through the umask

    def __enter__(self) -> StagingDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self.discard()

    @property
    def closed(self) -> bool:
        """True once :meth:`discard` has run."""
        return self._fd < 0

    def create(self, name: str) -> BinaryIO:
        """A new, empty file ``name`` in the directory, open for reading and writing."""
        fd = os.open(name, _CREATE, 0o600, dir_fd=self._fd)
        return os.fdopen(fd, "w+b")

    def remove(self, name: str) -> None:
        """Delete file ``name`` from the directory."""
        os.unlink(name, dir_fd=self._fd)

    def rename(self, name: str, new: str) -> None:
        """Rename file ``name`` to ``new`` inside the directory; ``new`` must be
        a name not in use (the directory is private: nothing else adds names)."""
        if os.path.lexists(self.path / new):
            raise FileExistsError(errno.EEXIST, "already staged", new)
        os.rename(name, new, src_dir_fd=self._fd, dst_dir_fd=self._fd)

    def shown(self, name: str) -> str:
        """A path for messages: the real one, not ``/proc/self/fd/N``."""
        return str(self.directory / self._name / name)

    def publish(
        self,
        moves: Sequence[tuple[str, str]],
        *,
        force: bool = False,
        private: bool | Container[str] = False,
        durable: bool = False,
    ) -> list[Path]:
        """Move each staged file to its final name in the outputs' directory.

        ``moves`` pairs a staged name with a final name. Every file gets its
        final mode first. Without ``force`` a final name that exists, or
        appears meanwhile, refuses the whole group: the files published so far
        are taken back (:class:`DestinationExistsError`). With ``force`` names
        are replaced, but a directory in the way is refused before anything moves.
        ``private`` is True (every file 0600) or the staged names that are private;
        the others get ``0o666 & ~umask``. ``durable`` syncs files and directory.
        """
        if self.closed:
            raise ValueError("the staging directory was discarded")
        done: list[tuple[str, os.stat_result]] = []
        try:
            for _, final in moves:
                _check_free(self._dir_fd, final, self.directory / final, force=force)
            for staged, _ in moves:
                secret = private if isinstance(private, bool) else staged in private
                fd = os.open(staged, READ_FLAGS, dir_fd=self._fd)
                try:
                    os.fchmod(fd, output_mode(private=secret))
                    if durable:
                        os.fsync(fd)
                finally:
                    os.close(fd)
            for staged, final in moves:
                st = os.stat(staged, dir_fd=self._fd, follow_symlinks=False)
                _publish(self._fd, staged, self._dir_fd, final, self.directory / final, force=force)
                done.append((final, st))
            if durable:
                os.fsync(self._dir_fd)
        except BaseException as exc:
            self._take_back(done)
            if isinstance(exc, OSError):
                raise OperationalError(
                    f"cannot write to {self.directory}: {exc.strerror or exc}"
                ) from None
            raise
        return [self.directory / final for final, _ in done]

    def _take_back(self, done: list[tuple[str, os.stat_result]]) -> None:
        """Remove finals this group published, if they are still the files it made."""
        for final, st in done:
            now = lstat_at(final, self._dir_fd)
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                _unlink_quietly(final, self._dir_fd)

    def discard(self) -> None:
        """Remove the directory and whatever is still in it. Never raises for the
        file system: it runs on the way out of failures (a full disk among them)."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            for name in os.listdir(self._fd):
                _unlink_quietly(name, self._fd)
        with contextlib.suppress(OSError):
            # By name, so only if the name still is this directory.
            now = lstat_at(self._name, self._dir_fd)
            if now is not None and (now.st_dev, now.st_ino) == (
                self._stat.st_dev,
                self._stat.st_ino,
            ):
                os.rmdir(self._name, dir_fd=self._dir_fd)
        os.close(self._fd)
        os.close(self._dir_fd)
        self._fd = -1
