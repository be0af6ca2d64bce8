"""Write: inputs -> pax tar -> one stored WinZip-AES (AE-2, AES-256) entry."""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import pyzipper
from pyzipper.zipfile_aes import WZ_AES_V2, AESZipInfo

from ..archive.paths import check_unique, validate_member_name
from ..errors import (
    DestinationExistsError,
    InputError,
    OperationalError,
    SecureMediaError,
    UsageError,
    packing_input,
)
from .layout import INNER_NAME


@dataclass(frozen=True)
class ZipSummary:
    """What :func:`write_compat_zip` wrote. Holds no secret."""

    files: int
    directories: int
    content_bytes: int
    zip_bytes: int
    path: Path | None


@dataclass(frozen=True)
class _Entry:
    name: str
    source: Path
    is_dir: bool
    size: int


def write_compat_zip(
    inputs: list[Path], out: BinaryIO | Path, passphrase: str, *, force: bool = False
) -> ZipSummary:
    """Write ``inputs`` (files and directories) as a compatibility ZIP.

    Names are relative like the native pack: a file input is stored under its own
    name, a directory input keeps its own name as the top folder. Symbolic links,
    devices and other special files are refused. Plaintext never touches the disk
    and memory use does not grow with file sizes.

    When ``out`` is a path the ZIP is written to a temporary name beside it and
    renamed at the end, so a failure leaves no half-written ZIP; an existing
    ``out`` is refused unless ``force``. A binary stream is written as is.
    """
    if not passphrase:
        raise UsageError("an empty passphrase cannot protect a ZIP")
    entries = _collect(inputs)
    if isinstance(out, Path):
        return _write_to_path(entries, out, passphrase, force)
    size = _write_zip(entries, out, passphrase)
    return _summary(entries, size, None)


def _write_to_path(entries: list[_Entry], out: Path, passphrase: str, force: bool) -> ZipSummary:
    if not force and (out.exists() or out.is_symlink()):
        raise DestinationExistsError(f"{out} already exists (use --force to overwrite)")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=parent)
    except OSError as exc:
        raise OperationalError(f"cannot write to {parent}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            size = _write_zip(entries, handle, passphrase)
            handle.flush()
            os.fsync(handle.fileno())
            # mkstemp made it 0600; give the finished ZIP the usual umask-based mode.
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)
        if not force and (out.exists() or out.is_symlink()):
            raise DestinationExistsError(f"{out} already exists (use --force to overwrite)")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OperationalError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _summary(entries, size, out)


def _summary(entries: list[_Entry], zip_bytes: int, path: Path | None) -> ZipSummary:
    return ZipSummary(
        files=sum(1 for e in entries if not e.is_dir),
        directories=sum(1 for e in entries if e.is_dir),
        content_bytes=sum(e.size for e in entries),
        zip_bytes=zip_bytes,
        path=path,
    )


def _collect(inputs: list[Path]) -> list[_Entry]:
    """Walk the inputs into member entries, refusing what a tar member must not be."""
    if not inputs:
        raise UsageError("nothing to pack: give at least one file or directory")
    entries: list[_Entry] = []
    for source in inputs:
        # abspath, not resolve: name "." after the directory, without following links.
        name = Path(os.path.abspath(source)).name
        if not name:
            raise UsageError(f"cannot pack {source}: it has no name to store it under")
        entries.extend(_walk(source, name))
    with packing_input():  # the reader's rules, applied to what is being packed
        for entry in entries:
            validate_member_name(entry.name)
        check_unique((e.name, e.is_dir) for e in entries)
    return entries


def _walk(path: Path, name: str) -> Iterator[_Entry]:
    try:
        st = path.lstat()
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        yield _Entry(name, path, False, st.st_size)
    elif stat.S_ISDIR(st.st_mode):
        yield _Entry(name, path, True, 0)
        try:
            children = sorted(os.listdir(path))
        except OSError as exc:
            raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
        for child in children:
            yield from _walk(path / child, f"{name}/{child}")
    else:
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise InputError(
            f"cannot pack {path}: it is {kind}; archives hold regular files and directories only"
        )


def _tar_size_bound(entries: list[_Entry]) -> int:
    """An upper bound of the tar's size: tells pyzipper in advance whether ZIP64 is needed."""
    total = 2 * 10240  # end-of-archive blocks, padded to a 20-block record
    for entry in entries:
        pax = 200 + 2 * len(entry.name.encode("utf-8"))
        total += 512 + 512 + -(-pax // 512) * 512 + -(-entry.size // 512) * 512
    return total


def _write_zip(entries: list[_Entry], out: IO[bytes], passphrase: str) -> int:
    start = out.tell() if out.seekable() else 0
    counter = _CountingWriter(out)
    try:
        with pyzipper.AESZipFile(
            counter,
            "w",
            compression=pyzipper.ZIP_STORED,
            encryption=pyzipper.WZ_AES,
            # AE-2 is pyzipper's default for our case, but the format requires it:
            # AE-1 would store the CRC-32 of the plaintext in clear.
            encryption_kwargs={"nbits": 256, "force_wz_aes_version": WZ_AES_V2},
        ) as zf:
            zf.setpassword(passphrase.encode("utf-8"))
            zinfo = AESZipInfo(INNER_NAME, date_time=time.localtime()[:6])
            zinfo.compress_type = pyzipper.ZIP_STORED
            zinfo.external_attr = 0o644 << 16
            # pyzipper decides on ZIP64 when the entry is opened, from this size hint
            # (an upper bound); it writes the true size when the entry is closed.
            zinfo.file_size = _tar_size_bound(entries)
            with (
                zf.open(zinfo, "w") as stream,
                tarfile.open(
                    fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8"
                ) as tar,
            ):
                for entry in entries:
                    _add_member(tar, entry)
    except SecureMediaError:
        raise
    except OSError as exc:
        target = f" {exc.filename}" if exc.filename else ""
        raise OperationalError(f"I/O error{target}: {exc.strerror or exc}") from None
    except (RuntimeError, tarfile.TarError) as exc:
        # pyzipper reports a ZIP64 overflow as RuntimeError; no secret is in these.
        raise OperationalError(f"cannot write the ZIP: {exc}") from None
    return counter.count - start if not out.seekable() else out.tell() - start


def _add_member(tar: tarfile.TarFile, entry: _Entry) -> None:
    info = tarfile.TarInfo(entry.name)
    # Neutral owner: the recipient needs no local user names or ids.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.is_dir:
        st = entry.source.lstat()
        _set_times(info, st)
        info.type = tarfile.DIRTYPE
        info.mode = st.st_mode & 0o777
        tar.addfile(info)
        return
    try:
        with open(entry.source, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
                raise OperationalError(f"{entry.source} changed while it was being packed")
            _set_times(info, st)
            info.type = tarfile.REGTYPE
            info.mode = st.st_mode & 0o777
            info.size = st.st_size
            tar.addfile(info, handle)
    except OSError as exc:
        raise OperationalError(f"cannot read {entry.source}: {exc.strerror or exc}") from None


def _set_times(info: tarfile.TarInfo, st: os.stat_result) -> None:
    info.mtime = st.st_mtime_ns // 1_000_000_000
    # A pax record keeps the exact nanoseconds (a float would round them).
    info.pax_headers = {"mtime": _format_ns(st.st_mtime_ns)}


def _format_ns(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    seconds, frac = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{seconds}.{frac:09d}"


class _CountingWriter:
    """Counts bytes written to a non-seekable output; pyzipper needs ``tell``."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        written = self._raw.write(data)
        self.count += len(data)
        return written if written is not None else len(data)

    def tell(self) -> int:
        return self._raw.tell() if self._raw.seekable() else self.count

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def seekable(self) -> bool:
        return self._raw.seekable()

    def flush(self) -> None:
        self._raw.flush()
