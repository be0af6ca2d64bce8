"""Read: check the layout, decrypt, validate every tar member, stage, verify, commit."""

from __future__ import annotations

import tarfile
import zlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import pyzipper
from pyzipper.zipfile_aes import WZ_AES_V2

from ..archive.index import MAX_MTIME_NS, check_mtime_ns
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
from .layout import AES_OVERHEAD, AES_STRENGTH_256, INNER_NAME

_COPY_CHUNK = 1 << 20
# A pax extended header (or GNU long name) is read whole into memory before the
# member it describes: capped before it is read. Ours hold a path and a time.
MAX_EXTENDED_HEADER = 64 << 10
_EXTENDED_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


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
    try:
        zf = pyzipper.AESZipFile(path)
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    except (pyzipper.BadZipFile, EOFError, ValueError, KeyError) as exc:
        raise IntegrityError() from exc
    with zf:
        info = _check_layout(zf)
        with Staging(dest, force=force) as staging:
            staging.check_free_space(info.file_size)
            try:
                entry = zf.open(info, pwd=passphrase.encode("utf-8"))
            except RuntimeError:
                # pyzipper's 16-bit password verifier did not match.
                raise NoIdentityError("the passphrase does not open this ZIP") from None
            except (pyzipper.BadZipFile, EOFError, ValueError) as exc:
                raise IntegrityError() from exc
            with entry:
                try:
                    # The free-space check assumed at most the entry's size: no
                    # more than that is ever written, whatever the tar says.
                    _extract_tar(entry, staging, budget=info.file_size)
                    _verify_to_end(entry)
                except SecureMediaError:
                    # What we read was not yet authenticated: if the MAC fails, say
                    # so rather than blame content an attacker may have flipped.
                    _verify_to_end(entry)
                    raise
                except (tarfile.TarError, EOFError, UnicodeError, zlib.error) as exc:
                    _verify_to_end(entry)
                    raise FormatError("the dataset inside the ZIP is not a valid tar") from exc
                except pyzipper.BadZipFile as exc:
                    raise IntegrityError() from exc
            return staging.commit()


def _check_layout(zf: Any) -> Any:
    """Refuse any ZIP that is not exactly what :func:`write_compat_zip` writes."""
    infos = zf.infolist()
    if len(infos) != 1 or infos[0].filename != INNER_NAME:
        raise FormatError(f"not a securemedia compatibility ZIP: expected one entry {INNER_NAME}")
    info = infos[0]
    if (
        not info.flag_bits & 0x1
        or info.wz_aes_version != WZ_AES_V2
        or info.wz_aes_strength != AES_STRENGTH_256
        or info.compress_type != pyzipper.ZIP_STORED
    ):
        raise FormatError("not a securemedia compatibility ZIP: expected AE-2 AES-256, stored")
    # Stored: the declared plaintext size must equal the ciphertext size. Otherwise a
    # changed (unauthenticated) size field could cut the tar short while the MAC,
    # computed over every ciphertext byte, still verifies.
    if info.compress_size != info.file_size + AES_OVERHEAD:
        raise IntegrityError()
    return info


def _verify_to_end(entry: IO[bytes]) -> None:
    """Read the entry to its end: pyzipper checks the MAC when the last byte is read."""
    try:
        while entry.read(_COPY_CHUNK):
            pass
    except (pyzipper.BadZipFile, EOFError, zlib.error) as exc:
        raise IntegrityError() from exc


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


def _extract_tar(entry: IO[bytes], staging: Staging, *, budget: int) -> None:
    # Duplicates (also by case or normalisation) and members inside a file are
    # refused as they arrive, before anything is staged under that name.
    names = NameSet()
    with tarfile.open(fileobj=entry, mode="r|", encoding="utf-8", tarinfo=_GuardedTarInfo) as tar:
        for member in tar:
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
            if not is_dir and member.size > budget:
                raise FormatError(
                    f"member {shown} claims {member.size} bytes, more than the whole ZIP holds"
                )
            try:
                if is_dir:
                    staging.add_dir(name)
                else:
                    staging.check_destination([name])
                    budget -= _copy_member(tar, member, staging, shown)
            except OSError as exc:
                # NameSet already refused every collision: this is the disk's fault.
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
