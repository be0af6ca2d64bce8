"""What can be checked of a compatibility ZIP without its passphrase.

The ZIP's directory and headers are not covered by WinZip AES's MAC, and the
MAC's key is derived from the passphrase: without it, only the *shape* can be
checked (one entry with our name and parameters, a local header that agrees
with the central directory, sizes that are possible). A changed byte of the
encrypted entry is found only with the passphrase (:func:`.reader.list_compat_zip`).
"""

from __future__ import annotations

import contextlib
import datetime
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyzipper
import pyzipper.zipfile as _zipfile
from pyzipper.zipfile_aes import WZ_AES_V2

from ..errors import FormatError, IntegrityError, OperationalError
from .layout import AES_OVERHEAD, AES_STRENGTH_256, FIXED_DATE_TIME, INNER_NAME

#: The compression methods a compatibility ZIP may use, by ZIP method number.
METHODS = {pyzipper.ZIP_STORED: "stored", pyzipper.ZIP_DEFLATED: "deflate"}
# Deflate cannot expand data by more than 1032:1 (258 bytes from one 2-bit
# code): a declared plaintext size above that is a forged size field, refused
# before it is used for the free-space check or a size budget.
MAX_DEFLATE_RATIO = 1032
# One entry's directory record: 46 fixed bytes, the name, the AES and ZIP64
# extra fields; a directory larger than this cannot be one of ours.
MAX_DIRECTORY = 4096
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIG = 0x04034B50
_WINZIP_AES_METHOD = 99
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_FIXED_AT = datetime.datetime(*FIXED_DATE_TIME).strftime(_TIME_FORMAT)


@dataclass(frozen=True)
class ZipFacts:
    """What anyone sees of a compatibility ZIP; no passphrase involved."""

    path: Path
    zip_bytes: int
    entry: str
    method: str
    encrypted_bytes: int
    declared_bytes: int
    packed_at: str
    """The entry's time as written (``YYYY-MM-DD HH:MM:SS``, no time zone)."""

    @property
    def time_fixed(self) -> bool:
        """True if the entry carries the fixed date (1980-01-01 00:00:00), as
        every ZIP securemedia writes now: it then says nothing of when the ZIP
        was packed. An older ZIP carries the packer's local clock."""
        return self.packed_at == _FIXED_AT

    def to_json(self) -> dict[str, Any]:
        return {
            "archive": str(self.path),
            "format": "zip",
            "kind": "securemedia compatibility ZIP (WinZip AES-256, AE-2)",
            "archive_bytes": self.zip_bytes,
            "entry": self.entry,
            "compression": self.method,
            "entry_encrypted_bytes": self.encrypted_bytes,
            "entry_declared_bytes": self.declared_bytes,
            "packed_at": self.packed_at,
            "packed_at_fixed": self.time_fixed,
            "names_hidden": True,
            "signed": False,
            "recovery": False,
        }


@contextlib.contextmanager
def open_zip(path: Path) -> Iterator[Any]:
    """``path`` opened by pyzipper; a file that is not a readable ZIP is damage.

    The end record's entry count and directory size are checked first: pyzipper
    reads the whole central directory into memory and builds an object per
    entry, so a finder's ZIP that lists millions of entries (or a directory of
    gigabytes) would cost that much before its shape could be refused.
    """
    _check_directory_bounds(path)
    try:
        zf = pyzipper.AESZipFile(path)
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    except (pyzipper.BadZipFile, EOFError, ValueError, KeyError) as exc:
        raise IntegrityError() from exc
    with zf:
        yield zf


def _check_directory_bounds(path: Path) -> None:
    """Refuse a central directory that is not one entry of at most :data:`MAX_DIRECTORY` bytes."""
    try:
        with open(path, "rb") as fp:
            # pyzipper's own end-record reader (ZIP64 included), so both agree.
            end = _zipfile._EndRecData(fp)
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    except (pyzipper.BadZipFile, struct.error) as exc:
        raise IntegrityError() from exc
    if end is None:
        raise IntegrityError()
    entries, size = end[_zipfile._ECD_ENTRIES_TOTAL], end[_zipfile._ECD_SIZE]
    if entries != 1 or size > MAX_DIRECTORY:
        raise FormatError(
            f"not a securemedia compatibility ZIP: its directory lists {entries} entries in "
            f"{size} bytes, expected one entry {INNER_NAME}"
        )


def check_layout(zf: Any) -> Any:
    """Refuse any ZIP that is not what :func:`.writer.write_compat_zip` writes.

    Returns the one entry's ZipInfo. Size fields are not covered by the MAC, so
    they are held to what the data can be: stored, the plaintext is exactly the
    ciphertext (a smaller declared size would cut the tar short while the MAC,
    computed over every ciphertext byte, still verifies); deflated, no more than
    deflate's largest expansion.
    """
    infos = zf.infolist()
    if len(infos) != 1 or infos[0].filename != INNER_NAME:
        raise FormatError(f"not a securemedia compatibility ZIP: expected one entry {INNER_NAME}")
    info = infos[0]
    if (
        not info.flag_bits & 0x1
        or info.wz_aes_version != WZ_AES_V2
        or info.wz_aes_strength != AES_STRENGTH_256
        or info.compress_type not in METHODS
    ):
        raise FormatError(
            "not a securemedia compatibility ZIP: expected AE-2 AES-256, deflated or stored"
        )
    # pyzipper derives the entry's offset from where the directory is found: a
    # ZIP with bytes cut out before it gives a negative one (a seek that fails).
    if info.compress_size < AES_OVERHEAD or info.header_offset < 0:
        raise IntegrityError()
    data = info.compress_size - AES_OVERHEAD
    if info.compress_type == pyzipper.ZIP_STORED:
        if info.file_size != data:
            raise IntegrityError()
    elif info.file_size > data * MAX_DEFLATE_RATIO:
        raise IntegrityError()
    return info


def describe_compat_zip(path: Path) -> ZipFacts:
    """Check everything a compatibility ZIP allows without its passphrase.

    Checked: the ZIP's end record and central directory parse; there is exactly
    one entry, ``dataset.tar``, WinZip AES-256 AE-2, deflated or stored; its local
    header agrees with the central directory (name, method, encryption); its
    sizes are possible and its encrypted data lies whole before the directory.
    Not checked (it needs the passphrase): the MAC, hence whether any encrypted
    byte changed, and everything inside (the tar, member names and sizes).

    Raises :class:`FormatError` for a ZIP of another shape, :class:`IntegrityError`
    for one whose structure is damaged or truncated.
    """
    with open_zip(path) as zf:
        info = check_layout(zf)
        end_of_data = _check_local_header(zf.fp, info)
        if end_of_data > zf.start_dir:
            raise IntegrityError()
        size = zf.fp.seek(0, 2)
    when = datetime.datetime(*info.date_time)
    return ZipFacts(
        path=path,
        zip_bytes=size,
        entry=info.filename,
        method=METHODS[info.compress_type],
        encrypted_bytes=info.compress_size,
        declared_bytes=info.file_size,
        packed_at=when.strftime(_TIME_FORMAT),
    )


def _check_local_header(fp: Any, info: Any) -> int:
    """The entry's local header must say what the directory says; returns where its data ends."""
    fp.seek(info.header_offset)
    raw = fp.read(_LOCAL.size)
    if len(raw) != _LOCAL.size:
        raise IntegrityError()
    sig, _version, flags, method, _t, _d, _crc, _cs, _us, name_len, extra_len = _LOCAL.unpack(raw)
    name = fp.read(name_len)
    if (
        sig != _LOCAL_SIG
        or method != _WINZIP_AES_METHOD
        or not flags & 0x1
        or name != INNER_NAME.encode()
    ):
        raise IntegrityError()
    start: int = info.header_offset + _LOCAL.size + name_len + extra_len
    return start + int(info.compress_size)
