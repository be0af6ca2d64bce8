"""Read: check the layout, decrypt, validate every tar member, stage, verify, commit."""

from __future__ import annotations

import tarfile
import zlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import pyzipper
from pyzipper.zipfile_aes import WZ_AES_V2

from ..archive.paths import NameSet, validate_member_name
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
# Far beyond any real time, well inside what os.utime accepts.
_MAX_MTIME_NS = 1 << 62


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
                    _extract_tar(entry, staging)
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


def _extract_tar(entry: IO[bytes], staging: Staging) -> None:
    # Duplicates (also by case or normalisation) and members inside a file are
    # refused as they arrive, before anything is staged under that name.
    names = NameSet()
    with tarfile.open(fileobj=entry, mode="r|", encoding="utf-8") as tar:
        for member in tar:
            name = member.name
            if member.type == tarfile.DIRTYPE:
                is_dir = True
            elif member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                is_dir = False
            else:
                raise UnsafeMemberError(
                    f"member {name!r:.200}: links, devices and other special files are refused"
                )
            validate_member_name(name)
            names.add(name, is_dir)
            try:
                if is_dir:
                    staging.add_dir(name)
                else:
                    staging.check_destination([name])
                    source = tar.extractfile(member)
                    if source is None:  # pragma: no cover - regular members always have data
                        raise FormatError(f"member {name!r:.200} has no data")
                    with staging.open_file(name) as target:
                        while chunk := source.read(_COPY_CHUNK):
                            target.write(chunk)
            except OSError as exc:
                # NameSet already refused every collision: this is the disk's fault.
                raise OperationalError(f"cannot write to {staging.dest}: {exc.strerror}") from None
            staging.set_metadata(name, mtime_ns=_mtime_ns(member), mode=member.mode & 0o777)


def _mtime_ns(member: tarfile.TarInfo) -> int:
    exact = member.pax_headers.get("mtime")
    if exact is not None:
        try:
            ns = int(Decimal(exact).scaleb(9))
        except (InvalidOperation, ValueError, OverflowError):
            ns = _MAX_MTIME_NS
        if abs(ns) >= _MAX_MTIME_NS:
            raise FormatError(f"member {member.name!r:.200} has a malformed time")
        return ns
    return int(member.mtime) * 1_000_000_000
