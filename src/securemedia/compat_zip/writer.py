"""Write: inputs -> pax tar -> one WinZip-AES (AE-2, AES-256) entry, deflated or stored."""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import pyzipper
from pyzipper.zipfile_aes import WZ_AES_V2, AESZipInfo

from ..archive.sources import OwnFiles, Source, open_source, scan_inputs
from ..atomic import atomic_output
from ..errors import OperationalError, SecureMediaError, UsageError
from ..progress import Phases, Progress, ReportedReads, ignore, no_phases
from .layout import FIXED_DATE_TIME, INNER_NAME

#: zlib's default level. Measured on a registry CSV (benchmarks/compat_zip.py):
#: level 1 leaves 1.2x the bytes of level 6, more than the native zstd archive,
#: so a ZIP that must fit the same disc needs level 6; level 9 gains ~1 % more
#: for twice the time.
DEFLATE_LEVEL = 6
# Input is read, compressed and encrypted in pieces of this size.
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipSummary:
    """What :func:`write_compat_zip` wrote. Holds no secret."""

    files: int
    directories: int
    content_bytes: int
    zip_bytes: int
    path: Path | None


def write_compat_zip(
    inputs: list[Path],
    out: BinaryIO | Path,
    passphrase: str,
    *,
    force: bool = False,
    exclude: OwnFiles | None = None,
    compress: bool = True,
    phases: Phases = no_phases,
) -> ZipSummary:
    """Write ``inputs`` (files and directories) as a compatibility ZIP.

    Names are relative like the native pack: a file input is stored under its own
    name, a directory input keeps its own name as the top folder. Symbolic links,
    devices and other special files are refused. Plaintext never touches the disk
    and memory use does not grow with file sizes.

    When ``out`` is a path the ZIP is written to a temporary name beside it and
    renamed at the end, so a failure leaves no half-written ZIP; an existing
    ``out`` is refused unless ``force``. A binary stream is written as is.

    Inputs are walked and opened as by the native ``pack`` (:mod:`..archive.sources`):
    links never followed, a file swapped after the walk refused, and the ZIP
    itself, its temporaries and the files in ``exclude`` (say, the passphrase
    file) never packed.

    The tar is deflated (WinZip AES method 99 over deflate, method 8, which every
    7-Zip since 9.20 reads) unless ``compress`` is false, then stored. Either way
    only the compressed, encrypted bytes are held, a piece at a time.
    ``phases`` is told of the one step ("packing", the input bytes).
    """
    if not passphrase:
        raise UsageError("an empty passphrase cannot protect a ZIP")
    own = exclude or OwnFiles()
    if isinstance(out, Path):
        own.add_path(out)
    else:
        own.add_stream(out)
    entries = _collect(inputs, own)
    progress: Progress | None = phases("packing", sum(e.size for e in entries))
    if progress is ignore:
        progress = None
    if isinstance(out, Path):
        return _write_to_path(entries, out, passphrase, force, own, _Options(compress, progress))
    try:
        size = _write_zip(entries, out, passphrase, own, _Options(compress, progress))
    except OSError as exc:
        raise OperationalError(f"cannot write the ZIP: {exc.strerror or exc}") from exc
    return _summary(entries, size, None)


@dataclass(frozen=True)
class _Options:
    compress: bool
    progress: Progress | None


def _write_to_path(
    entries: list[Source],
    out: Path,
    passphrase: str,
    force: bool,
    own: OwnFiles,
    options: _Options,
) -> ZipSummary:
    # The one way outputs are made (atomic.py): an exclusive temporary beside
    # ``out``, the umask-based mode, and the final name only once complete.
    try:
        with atomic_output(out, force=force, durable=True) as handle:
            own.add_stream(handle)
            size = _write_zip(entries, handle, passphrase, own, options)
    except OSError as exc:  # writing the ZIP (a full disk): say where
        raise OperationalError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return _summary(entries, size, out)


def _summary(entries: list[Source], zip_bytes: int, path: Path | None) -> ZipSummary:
    return ZipSummary(
        files=sum(1 for e in entries if not e.is_dir),
        directories=sum(1 for e in entries if e.is_dir),
        content_bytes=sum(e.size for e in entries),
        zip_bytes=zip_bytes,
        path=path,
    )


def _collect(inputs: list[Path], own: OwnFiles) -> list[Source]:
    """Walk the inputs into member entries, refusing what a tar member must not be."""
    if not inputs:
        raise UsageError("nothing to pack: give at least one file or directory")
    return list(scan_inputs(inputs, exclude=own))  # walked several times; ZIPs stay small


def _tar_size_bound(entries: list[Source]) -> int:
    """An upper bound of the tar's size: tells pyzipper in advance whether ZIP64 is needed."""
    total = 2 * 10240  # end-of-archive blocks, padded to a 20-block record
    for entry in entries:
        pax = 200 + 2 * len(entry.name.encode("utf-8"))
        total += 512 + 512 + -(-pax // 512) * 512 + -(-entry.size // 512) * 512
    return total


def _write_zip(
    entries: list[Source],
    out: IO[bytes],
    passphrase: str,
    own: OwnFiles,
    options: _Options | None = None,
) -> int:
    options = options or _Options(compress=True, progress=None)
    start = out.tell() if out.seekable() else 0
    counter = _CountingWriter(out)
    method = pyzipper.ZIP_DEFLATED if options.compress else pyzipper.ZIP_STORED
    try:
        with pyzipper.AESZipFile(
            counter,
            "w",
            compression=method,
            compresslevel=DEFLATE_LEVEL,
            encryption=pyzipper.WZ_AES,
            # AE-2 is pyzipper's default for our case, but the format requires it:
            # AE-1 would store the CRC-32 of the plaintext in clear.
            encryption_kwargs={"nbits": 256, "force_wz_aes_version": WZ_AES_V2},
        ) as zf:
            zf.setpassword(passphrase.encode("utf-8"))
            # A fixed entry time, as on the disc images (media/iso_dates.py): the
            # packer's clock would tell a finder when, and in which time zone, the
            # ZIP was made. The member times inside the encrypted tar stay.
            zinfo = AESZipInfo(INNER_NAME, date_time=FIXED_DATE_TIME)
            zinfo.compress_type = method
            # pyzipper makes one zlib compressobj for the entry from this level and
            # feeds it each piece the tar writes: streaming, in bounded memory.
            zinfo._compresslevel = DEFLATE_LEVEL
            zinfo.external_attr = 0o644 << 16
            # pyzipper decides on ZIP64 when the entry is opened, from this size hint
            # (an upper bound, which also covers deflate's at most 0.03 % expansion
            # of incompressible data); it writes the true sizes when the entry closes.
            zinfo.file_size = _tar_size_bound(entries)
            with (
                zf.open(zinfo, "w") as stream,
                tarfile.open(
                    fileobj=stream,
                    mode="w|",
                    format=tarfile.PAX_FORMAT,
                    encoding="utf-8",
                    bufsize=_READ_CHUNK,
                ) as tar,
            ):
                # tarfile copies each file in pieces of copybufsize (16 KiB by
                # default): larger pieces mean fewer calls into zlib and AES.
                setattr(tar, "copybufsize", _READ_CHUNK)  # noqa: B010 - not in typeshed
                for entry in entries:
                    if not own.has_id(entry.dev, entry.ino):
                        _add_member(tar, entry, options.progress)
    except SecureMediaError:
        raise
    except OSError:
        # Inputs are read, and their errors reported, in _add_member: this is
        # writing the ZIP, which the caller names.
        raise
    except ValueError as exc:
        # On the way out of a failed write, pyzipper's close complains that the
        # entry is still open: the failed write is the reason, not a bug.
        if isinstance(exc.__context__, OSError):
            raise exc.__context__ from None
        raise
    except (RuntimeError, tarfile.TarError, zlib.error) as exc:
        # pyzipper reports a ZIP64 overflow as RuntimeError; no secret is in these.
        raise OperationalError(f"cannot write the ZIP: {exc}") from None
    return counter.count - start if not out.seekable() else out.tell() - start


def _add_member(tar: tarfile.TarFile, entry: Source, progress: Progress | None) -> None:
    info = tarfile.TarInfo(entry.name)
    # Neutral owner: the recipient needs no local user names or ids.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.is_dir:
        _set_times(info, entry.mtime_ns)
        info.type = tarfile.DIRTYPE
        info.mode = entry.mode
        tar.addfile(info)
        return
    with open_source(entry) as (handle, st):
        if st.st_size != entry.size:
            # The size was promised to pyzipper (ZIP64 decision) and to the tar header.
            raise OperationalError(f"{entry.path} changed while it was being packed")
        _set_times(info, entry.mtime_ns)
        info.type = tarfile.REGTYPE
        info.mode = st.st_mode & 0o777
        info.size = st.st_size
        try:
            tar.addfile(info, handle if progress is None else ReportedReads(handle, progress))
        except OSError as exc:
            raise OperationalError(f"cannot read {entry.path}: {exc.strerror or exc}") from None


def _set_times(info: tarfile.TarInfo, mtime_ns: int) -> None:
    info.mtime = mtime_ns // 1_000_000_000
    # A pax record keeps the exact nanoseconds (a float would round them), also
    # before 1970 (a negative value, which the ustar field cannot hold).
    info.pax_headers = {"mtime": _format_ns(mtime_ns)}


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
