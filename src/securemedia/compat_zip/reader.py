"""Read: check the layout, decrypt, validate every tar member, stage, verify, commit.

Also the listing (:func:`list_compat_zip`), which reads and checks the same way
and writes nothing: it is how ``list`` and ``verify -p`` check a ZIP.
"""

from __future__ import annotations

import contextlib
import copy
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, cast

import pyzipper

from ..archive.index import MAX_MEMBERS, MAX_MTIME_NS, check_mtime_ns
from ..archive.paths import NameSet, quoted_name, validate_member_name
from ..archive.staging import Staging
from ..errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    OperationalError,
    SecureMediaError,
    UnsafeMemberError,
)
from .structure import check_layout, open_zip

_COPY_CHUNK = 1 << 20
# pyzipper's plaintext budget when we, not it, decide where the entry ends.
_NO_LIMIT = 1 << 62
# A pax extended header (or GNU long name) is read whole into memory before the
# member it describes: capped before it is read. Ours hold a path and a time.
MAX_EXTENDED_HEADER = 64 << 10
#: Members of the tar accepted at most: the native format's limit.
MAX_TAR_MEMBERS = MAX_MEMBERS
_EXTENDED_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


@dataclass(frozen=True)
class ZipMember:
    """One member of the tar inside a compatibility ZIP, as :func:`list_compat_zip` found it."""

    path: str
    is_dir: bool
    size: int
    mode: int
    mtime_ns: int

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": "dir" if self.is_dir else "file",
            "size": self.size,
            "mode": self.mode,
            "mtime_ns": self.mtime_ns,
        }


def extract_compat_zip(
    path: Path, passphrase: str, dest: Path, *, force: bool = False
) -> list[Path]:
    """Decrypt the compatibility ZIP at ``path`` into ``dest``; returns the final paths.

    Every tar member name is validated; links, devices and FIFOs are refused.
    Members are staged and moved into place only after the whole entry has been
    decrypted and its MAC verified, so on any error nothing is left at ``dest``.

    Raises :class:`NoIdentityError` for a wrong passphrase, :class:`IntegrityError`
    for a damaged or tampered ZIP, :class:`FormatError` (or its subclass
    :class:`UnsafeMemberError`) for a ZIP or tar that is intact but not one we accept.
    """
    with open_zip(path) as zf:
        info = check_layout(zf)
        with Staging(dest, force=force) as staging:
            staging.check_free_space(info.file_size)
            with _open_entry(zf, info, passphrase) as entry:
                for member, is_dir in _walk_tar(entry, budget=info.file_size):
                    _stage(entry.tar, member, is_dir, staging)
            return staging.commit()


def list_compat_zip(path: Path, passphrase: str) -> list[ZipMember]:
    """The members of the compatibility ZIP at ``path``, after its MAC verified.

    The whole entry is decrypted and its MAC checked before anything is
    returned, so the list (and a successful return) means: every byte of the
    entry is authentic, the tar inside is valid and every name passes the same
    rules as on extraction. Nothing is written. Raises as
    :func:`extract_compat_zip`.
    """
    with open_zip(path) as zf:
        info = check_layout(zf)
        with _open_entry(zf, info, passphrase) as entry:
            return [
                ZipMember(
                    path=member.name,
                    is_dir=is_dir,
                    size=0 if is_dir else member.size,
                    mode=member.mode & 0o777,
                    mtime_ns=_mtime_ns(member),
                )
                for member, is_dir in _walk_tar(entry, budget=info.file_size)
            ]


class _Entry:
    """The decrypting entry stream, counting the plaintext read, and the tar on it.

    ``limit`` is the entry's declared plaintext size: a size field the MAC does
    not cover, so it is never what decides where the plaintext ends (see
    :func:`_open_entry`); more plaintext than declared is refused as it arrives.
    """

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self.count = 0
        self.tar: tarfile.TarFile

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.count += len(data)
        if self.count > self._limit:
            raise IntegrityError()
        return data

    def verify_to_end(self) -> None:
        """Read to the entry's end: pyzipper checks the MAC when the last byte is read."""
        try:
            while data := self._raw.read(_COPY_CHUNK):
                self.count += len(data)
        except (pyzipper.BadZipFile, EOFError, zlib.error) as exc:
            raise IntegrityError() from exc


@contextlib.contextmanager
def _open_entry(zf: Any, info: Any, passphrase: str) -> Iterator[_Entry]:
    """The entry, decrypted; on leaving, read to its end and its MAC and size checked.

    An error raised inside while reading data not yet authenticated is replaced
    by :class:`IntegrityError` if the MAC then fails: rather say "damaged" than
    blame content an attacker may have flipped.
    """
    # pyzipper stops the plaintext at the declared size and checks the MAC where
    # it stopped reading. Deflated, the last compressed piece it read may already
    # hold the rest of the stream: a lowered size field would then cut the tar
    # (drop its last members) while the MAC, over every compressed byte read,
    # still verifies. So pyzipper reads to the end of the compressed data and of
    # the deflate stream, both covered by the MAC, and the declared size is held
    # to what came out (_Entry's limit, then equality below).
    unbounded = copy.copy(info)
    unbounded.file_size = _NO_LIMIT
    try:
        raw = zf.open(unbounded, pwd=passphrase.encode("utf-8"))
    except RuntimeError:
        # pyzipper's 16-bit password verifier did not match.
        raise NoIdentityError("the passphrase does not open this ZIP") from None
    except (pyzipper.BadZipFile, EOFError, ValueError) as exc:
        raise IntegrityError() from exc
    with raw:
        entry = _Entry(raw, info.file_size)
        try:
            yield entry
            entry.verify_to_end()
        except SecureMediaError:
            entry.verify_to_end()
            raise
        except (tarfile.TarError, EOFError, UnicodeError, zlib.error) as exc:
            entry.verify_to_end()
            raise FormatError("the dataset inside the ZIP is not a valid tar") from exc
        except pyzipper.BadZipFile as exc:
            raise IntegrityError() from exc
        if entry.count != info.file_size:
            raise IntegrityError()


class _GuardedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses hostile headers before :mod:`tarfile` acts on them.

    Extended headers over :data:`MAX_EXTENDED_HEADER` are refused before they are
    read (tarfile would buffer them whole), and GNU sparse members (type ``S`` or
    pax ``GNU.sparse.*``) are refused before their map is read: a few kilobytes
    of sparse map expand into gigabytes of zeros.
    """

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise _sparse(self.name)
        if self.type in _EXTENDED_TYPES and self.size > MAX_EXTENDED_HEADER:
            raise FormatError(
                f"the dataset inside the ZIP has an extended tar header of {self.size} bytes "
                f"(at most {MAX_EXTENDED_HEADER} are accepted)"
            )
        processed: tarfile.TarInfo = getattr(super(), "_proc_member")(tar)  # noqa: B009
        return processed

    # tarfile calls these for the three pax encodings of a sparse file.
    def _proc_gnusparse_00(self, next: tarfile.TarInfo, *_: object) -> None:
        raise _sparse(next.name)

    def _proc_gnusparse_01(self, next: tarfile.TarInfo, *_: object) -> None:
        raise _sparse(next.name)

    def _proc_gnusparse_10(self, next: tarfile.TarInfo, *_: object) -> None:
        raise _sparse(next.name)


def _sparse(name: str) -> UnsafeMemberError:
    return UnsafeMemberError(f"member {quoted_name(name)}: sparse files are refused")


def _walk_tar(entry: _Entry, *, budget: int) -> Iterator[tuple[tarfile.TarInfo, bool]]:
    """Each member of the tar on ``entry`` with whether it is a directory, once checked.

    Refused as they arrive, before the caller sees them: links, devices and other
    special files, sparse files, unsafe names, duplicates (also by case or
    normalisation), members inside a file, and declared sizes that together
    exceed ``budget`` (the entry's declared size).
    """
    names = NameSet()
    count = 0
    # tarfile needs only read(): the counting wrapper is a file as far as it goes.
    stream = cast("IO[bytes]", entry)
    with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", tarinfo=_GuardedTarInfo) as tar:
        entry.tar = tar
        for member in tar:
            count += 1
            if count > MAX_TAR_MEMBERS:
                # As the native index: a tar of empty members deflates ~1000:1, so
                # the size budget alone would let a small ZIP list billions.
                raise FormatError(
                    f"the dataset inside the ZIP has more than {MAX_TAR_MEMBERS:,} members"
                )
            name = member.name
            shown = quoted_name(name)
            if member.type == tarfile.DIRTYPE:
                is_dir = True
            elif member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                is_dir = False
            else:
                raise UnsafeMemberError(
                    f"member {shown}: links, devices and other special files are refused"
                )
            if member.sparse is not None or any(
                key.startswith("GNU.sparse.") for key in member.pax_headers
            ):
                raise _sparse(name)
            validate_member_name(name)
            names.add(name, is_dir)
            if not is_dir:
                if member.size > budget:
                    raise FormatError(
                        f"member {shown} claims {member.size} bytes, more than the whole ZIP holds"
                    )
                budget -= member.size
            yield member, is_dir


def _stage(tar: tarfile.TarFile, member: tarfile.TarInfo, is_dir: bool, staging: Staging) -> None:
    """Write one checked member into the staging area (never more than its declared size)."""
    name = member.name
    try:
        if is_dir:
            staging.add_dir(name)
        else:
            staging.check_destination([name])
            _copy_member(tar, member, staging, quoted_name(name))
    except OSError as exc:
        # _walk_tar already refused every collision: this is the disk's fault.
        raise OperationalError(f"cannot write to {staging.dest}: {exc.strerror}") from None
    staging.set_metadata(name, mtime_ns=_mtime_ns(member), mode=member.mode & 0o777)


def _copy_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Staging, shown: str
) -> int:
    """Stage one file member, writing never more than its declared size."""
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - regular members always have data
        raise FormatError(f"member {shown} has no data")
    written = 0
    with staging.open_file(member.name) as target:
        while chunk := source.read(min(_COPY_CHUNK, member.size - written)):
            target.write(chunk)
            written += len(chunk)
    return written


def _mtime_ns(member: tarfile.TarInfo) -> int:
    exact = member.pax_headers.get("mtime")
    try:
        ns = int(Decimal(exact).scaleb(9)) if exact is not None else int(member.mtime) * 10**9
    except (InvalidOperation, ValueError, OverflowError):
        ns = MAX_MTIME_NS + 1
    # Signed 64-bit nanoseconds, like the native format: 1677 to 2262, before
    # 1970 included (pax writes those as a negative number of seconds).
    try:
        return check_mtime_ns(ns)
    except FormatError:
        raise FormatError(f"member {quoted_name(member.name)} has a malformed time") from None
