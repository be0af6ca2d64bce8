"""What ``pack`` takes: paths on disk (files and directories) and standard
input, turned into members of an open :class:`ArchiveWriter`.

Packing is two steps, so that nothing is written before every input is known
to be packable:

1. :func:`scan_inputs` walks the inputs without following any symbolic link
   (directories are opened with ``O_NOFOLLOW`` and listed through their
   descriptor) and checks every member name, type and time. It records each
   entry's ``(st_dev, st_ino)``.
2. :func:`write_sources` opens each file with ``O_NOFOLLOW`` and refuses it if
   the descriptor's ``(st_dev, st_ino)`` is not what the scan saw: a file
   swapped for a link or another file in between (by a local user who can
   write into the input tree) is never packed in its place.

Both steps skip the pack's own output and temporaries (:class:`OwnFiles`), so
``pack export/ -o export/ship.sm`` does not pack the archive into itself. The
compat ZIP writer uses the same two steps.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..atomic import DIR_FLAGS, READ_FLAGS
from ..errors import FormatError, InputError, OperationalError, UsageError, os_error, packing_input
from ..media.disc_names import DISC_NAME_PATTERN
from .changing import OnChange, copy_scanned
from .index import check_mtime_ns
from .input_names import name_conflict, same_top_name, unsafe_name
from .name_check import NameCheck, NameConflictError
from .paths import NameSet, folded_name, validate_member_name
from .scanned import STDIN, Scan, Source

if TYPE_CHECKING:
    from .writer import ArchiveWriter

READ_SIZE = 1 << 20
__all__ = ["STDIN", "OwnFiles", "Scan", "Source", "open_source", "scan_inputs", "write_sources"]

# O_NONBLOCK: a FIFO swapped in for a file must not hang the open; it is then
# refused by the type check. It changes nothing for regular files or directories.
_FILE_FLAGS = READ_FLAGS | os.O_NONBLOCK


class OwnFiles:
    """Files a pack must never read: its own output and temporaries.

    By identity, ``(st_dev, st_ino)`` of every output file opened (robust against
    any spelling of the path), and by name: the final output name, hidden
    temporaries beside it (``.NAME.*``) and, for a disc set, its volume and image
    names (``NAME.001.smv``, ``NAME.001.iso``).
    """

    def __init__(self) -> None:
        self._ids: set[tuple[int, int]] = set()
        # Directory identity -> patterns of names that are ours inside it.
        self._names: dict[tuple[int, int], list[re.Pattern[str]]] = {}

    def add_path(self, path: Path, *, volumes: bool = False) -> None:
        """Exclude the output ``path`` (and its temporaries; with ``volumes``, its
        disc set) by name, and the file already there by identity."""
        try:
            parent = os.stat(path.parent if str(path.parent) else ".")
        except OSError:
            return  # no such directory: the output cannot be inside the inputs
        base = re.escape(path.name)
        pattern = rf"{base}|\.{base}\..*" + (f"|{base}{DISC_NAME_PATTERN}" if volumes else "")
        key = (parent.st_dev, parent.st_ino)
        self._names.setdefault(key, []).append(re.compile(pattern, re.DOTALL))
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat.S_ISREG(st.st_mode):
            self._ids.add((st.st_dev, st.st_ino))

    def add_stream(self, stream: Any) -> None:
        """Exclude the regular file behind an open output stream, if any
        (a temporary file, or standard output redirected into the inputs)."""
        try:
            st = os.fstat(stream.fileno())
        except (AttributeError, OSError, ValueError):
            return  # not a file (a pipe wrapper, a volume set): nothing to exclude
        if stat.S_ISREG(st.st_mode):
            self._ids.add((st.st_dev, st.st_ino))

    def has(self, st: os.stat_result) -> bool:
        """True if ``st`` describes one of our own files."""
        return self.has_id(st.st_dev, st.st_ino)

    def has_id(self, dev: int, ino: int) -> bool:
        """True if ``(dev, ino)`` is one of our own files."""
        return (dev, ino) in self._ids

    def has_name(self, directory: os.stat_result, name: str) -> bool:
        """True if ``name`` inside ``directory`` is one of our own file names."""
        patterns = self._names.get((directory.st_dev, directory.st_ino), ())
        return any(p.fullmatch(name) for p in patterns)


def member_names(inputs: Sequence[Path]) -> list[str]:
    """The top-level member name of each input: its own name, as ``tar`` does
    with a relative path. Two inputs with the same name are refused up front."""
    names = NameSet()
    result: list[str] = []
    for number, path in enumerate(inputs):
        name = path.resolve().name if path.name in ("", ".", "..") else path.name
        if not path.exists() and not path.is_symlink():
            raise OperationalError(f"{path}: no such file or directory")
        try:
            validate_member_name(name)
        except FormatError as exc:
            raise unsafe_name(path, name, str(exc)) from None
        try:
            names.add(name, path.is_dir())
        except FormatError:
            first = next(p for p, n in zip(inputs, result, strict=False) if _same(n, name))
            raise same_top_name(first, inputs[number], name) from None
        result.append(name)
    return result


def _same(a: str, b: str) -> bool:
    return folded_name(a) == folded_name(b)


def scan_inputs(
    inputs: Sequence[Path],
    *,
    stdin_name: str = "stdin",
    exclude: OwnFiles | None = None,
) -> Scan:
    """Walk every input (``-`` meaning standard input) into the members to pack.

    Raises before anything is written if a name is unsafe or taken twice, an
    entry is a link or a special file, or a time is outside what the format holds.
    The result holds compact records, spilled to an encrypted temporary file
    when they are many (:mod:`.scanned`): memory does not grow with the count.
    """
    exclude = exclude or OwnFiles()
    real = [p for p in inputs if p != STDIN]
    if len(real) < len(inputs) - 1:
        raise UsageError("'-' (standard input) can be given once")
    tops = iter(member_names(real))
    return _collect(_input_sources(inputs, tops, stdin_name, exclude))


def _input_sources(
    inputs: Sequence[Path], tops: Iterator[str], stdin_name: str, exclude: OwnFiles
) -> Iterator[Source]:
    """The members of every input in order, walked lazily (``tops``: their top names)."""
    for path in inputs:
        if path == STDIN:
            with packing_input():
                validate_member_name(stdin_name)
            yield Source(stdin_name, STDIN, 0, False, 0, 0, 0o644, 0, 0)
            continue
        top = next(tops)
        st = _lstat(path)
        if exclude.has(st):
            continue
        yield from _walk(path, top, st, None, exclude, (path, len(top) + 1))


def scan_path(path: Path, name: str) -> Scan:
    """:func:`scan_inputs` for one path stored under an explicit member ``name``."""
    return _collect(_walk(path, name, _lstat(path), None, OwnFiles(), (path, len(name) + 1)))


def _collect(sources: Iterable[Source]) -> Scan:
    """Record ``sources`` in a new :class:`Scan`; their names' uniqueness (across all
    inputs) is checked once the walk is done. On any failure both are closed."""
    found = Scan()
    names = NameCheck()
    try:
        for source in sources:
            names.add(len(found), source.name, source.is_dir)
            found.append(source)
        try:
            names.finish(lambda number: found[number].name)
        except NameConflictError as exc:
            raise name_conflict(found, exc.number, exc.rule) from None
    except BaseException:
        names.close()
        found.close()
        raise
    return found


def write_sources(
    writer: ArchiveWriter,
    sources: Iterable[Source],
    *,
    stdin: BinaryIO | None = None,
    exclude: OwnFiles | None = None,
    on_change: OnChange | None = None,
) -> None:
    """Add scanned members to an open writer, each file opened without following
    links and refused if it is not the one the scan saw.

    A file that grows, shrinks or is rewritten while it is packed raises
    :class:`~.changing.InputChangedError`, unless ``on_change`` accepts it: the
    member then holds what was read, at most the scanned size (:mod:`.changing`).

    The scan checked the names against each other; the writer checks them
    against everything else it holds when it is closed (see
    :meth:`ArchiveWriter.close`), without a name table in memory."""
    # One reused buffer for every file: the data is hashed and copied into the
    # STREAM's chunk buffer before the next read overwrites it.
    buffer = memoryview(bytearray(READ_SIZE))
    for source in sources:
        if exclude is not None and exclude.has_id(source.dev, source.ino):
            continue
        if source.is_stdin:
            if stdin is None:
                raise UsageError("'-' (standard input) is not available here")
            with writer.open_member(source.name, mode=0o644, _scanned=True) as member:
                while chunk := stdin.read(READ_SIZE):
                    member.write(chunk)
        elif source.is_dir:
            writer.add_directory(
                source.name, mode=source.mode, mtime_ns=source.mtime_ns, _scanned=True
            )
        else:
            with open_source(source) as (handle, st):
                mode, mtime_ns = st.st_mode & 0o777, _checked_time(source.path, st)
                with writer.open_member(
                    source.name, mode=mode, mtime_ns=mtime_ns, _scanned=True
                ) as out:
                    copy_scanned(handle, st, source, out.write, buffer, on_change)


def write_inputs(
    writer: ArchiveWriter,
    inputs: Sequence[Path],
    *,
    stdin: BinaryIO | None = None,
    stdin_name: str = "stdin",
    exclude: OwnFiles | None = None,
) -> None:
    """Scan, then add each input path (``-`` meaning ``stdin``) to an open writer.

    Callers that open their output before calling this should pass it in
    ``exclude`` (see :class:`OwnFiles`); better still, call :func:`scan_inputs`
    before opening the output and :func:`write_sources` after.
    """
    sources = scan_inputs(inputs, stdin_name=stdin_name, exclude=exclude)
    write_sources(writer, sources, stdin=stdin, exclude=exclude)


@contextlib.contextmanager
def open_source(source: Source) -> Iterator[tuple[io.BufferedReader, os.stat_result]]:
    """``with open_source(source) as (handle, st)``: the scanned file, opened with
    ``O_NOFOLLOW``; raises :class:`OperationalError` if it is no longer the
    regular file the scan saw (same device and inode)."""
    path = source.path
    try:
        fd = os.open(path, _FILE_FLAGS)
    except OSError as exc:
        raise _changed(path) if _is_link_error(exc) else _unreadable(path, exc) from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (source.dev, source.ino):
            raise _changed(path)
        os.set_blocking(fd, True)
        yield handle, st


# -- the walk ------------------------------------------------------------------


def _walk(
    path: Path,
    name: str,
    st: os.stat_result,
    parent_fd: int | None,
    exclude: OwnFiles,
    top: tuple[Path, int],
) -> Iterator[Source]:
    """Entries of ``path`` (seen as ``st`` by lstat), depth first, sorted by name.

    ``top`` is the input walked and where the part below it starts in a member
    name: each record keeps that instead of its own Path (see :class:`Source`).

    A directory is opened relative to its parent's descriptor, without following
    a link, and listed through its own descriptor: what is listed is the
    directory that was checked, whatever is renamed meanwhile.
    """
    if stat.S_ISLNK(st.st_mode):
        raise InputError(
            f"cannot pack {path}: a symbolic link; archives hold files and directories only"
        )
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise InputError(f"cannot pack {path}: not a regular file or directory")
    mtime_ns = _checked_time(path, st)
    is_dir = stat.S_ISDIR(st.st_mode)
    try:
        validate_member_name(name)  # uniqueness: the caller's NameCheck
    except FormatError as exc:
        raise unsafe_name(path, name, str(exc)) from None
    size = 0 if is_dir else st.st_size
    root, cut = (path, 0) if parent_fd is None else top
    yield Source(name, root, cut, is_dir, st.st_dev, st.st_ino, st.st_mode & 0o777, mtime_ns, size)
    if not is_dir:
        return
    try:
        fd = os.open(path if parent_fd is None else path.name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise _changed(path) if _is_link_error(exc) else _unreadable(path, exc) from None
    try:
        here = os.fstat(fd)
        if (here.st_dev, here.st_ino) != (st.st_dev, st.st_ino):
            raise _changed(path)
        try:
            # Names only: a stat result held per entry of a huge directory
            # would cost ten times as much; each child is stat'ed when reached.
            with os.scandir(fd) as listing:
                children = sorted(e.name for e in listing)
        except OSError as exc:
            raise _unreadable(path, exc) from None
        for child in children:
            try:
                child_st = os.stat(child, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                raise _unreadable(path / child, exc) from None
            if exclude.has(child_st) or exclude.has_name(here, child):
                continue
            yield from _walk(path / child, f"{name}/{child}", child_st, fd, exclude, top)
    finally:
        os.close(fd)


def _lstat(path: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _checked_time(path: Path, st: os.stat_result) -> int:
    """The modification time in nanoseconds, refused if the archive cannot hold it."""
    try:
        return check_mtime_ns(st.st_mtime_ns)  # the reader's own rule
    except FormatError:
        raise InputError(
            f"cannot pack {path}: its modification time is outside what an archive can hold "
            "(1677 to 2262): set a valid time (touch) and pack again"
        ) from None


def _is_link_error(exc: OSError) -> bool:
    # O_NOFOLLOW on a symbolic link fails with ELOOP (EMLINK on some BSDs);
    # O_DIRECTORY on something that is no longer a directory with ENOTDIR.
    return exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR)


def _changed(path: Path) -> OperationalError:
    return OperationalError(
        f"{path} changed while it was being packed (replaced by another file or a link): "
        "nothing was packed in its place; pack again when the input is stable"
    )


def _unreadable(path: Path, exc: OSError) -> OperationalError:
    return os_error(exc, "read", path)
