"""ISO 9660 disc images (pycdlib): building one per volume, and finding the volume in one.

An image holds four files: the volume file, ``README.TXT``, and the format and
media specifications ``FORMAT.TXT`` and ``MEDIA.TXT`` (docs/FORMAT.md and
docs/MEDIA.md byte for byte), so a disc describes itself. It always has
Joliet names (so Windows shows the real file name) and also UDF when the volume
file is larger than 4 GiB - 1, which plain ISO 9660 can only store as a chain of
extents that some readers mishandle. pycdlib lays every file out as one
contiguous run of sectors, so the volume file is also readable straight from
the image: header sector, then payload.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from ..errors import OperationalError
from ..progress import Progress, ignore
from ..specs import disc_specs
from .header import HEADER_SIZE, is_valid_header
from .iso_dates import FIXED_VD_DATE, VD_MODIFIED, fix_dates
from .sizes import SECTOR

if TYPE_CHECKING:
    import pycdlib

# pycdlib is imported where it is used: it costs a noticeable part of a second,
# and ``unpack`` of a plain archive never needs it.

UDF_THRESHOLD = 4 * 1024**3 - 1
"""Largest file plain ISO 9660 stores in one extent; larger ones also get UDF."""

ISO_MAGIC_OFFSET = 16 * SECTOR + 1
"""``CD001`` of the first volume descriptor (sector 16, after the system area)."""

ISO_MARGIN = 64 * SECTOR
"""Headroom on top of the measured file-system overhead: more directory records
for multi-extent files, and any later pycdlib layout change."""

SCAN_LIMIT = 16 * 1024**2
"""How far into a damaged image to look for the volume header: the volume file
comes right after the file-system structures, the specifications and README.TXT
(about sector 70 to 130 as the documents are now; about 250 more with UDF)."""

SPEC_ALLOWANCE = 128 * 1024
"""Bytes reserved for each specification file when sizing an image: the
capacity of a medium then stays the same when the documents change a little.
A larger document is measured at its real size, so sizing is never short."""

_ISO_NAME_BAD = re.compile(r"[^A-Z0-9_]")


def iso9660_name(volume_name: str) -> str:
    """A strict ISO 9660 (level 3) name for ``ship.sm.001.smv``: ``SHIP_SM_001.SMV;1``.

    Level 3 allows 30 characters for name and extension: a long ``NAME`` is
    shortened, never the volume number at its end.
    """
    stem, _, ext = volume_name.rpartition(".")
    stem = _ISO_NAME_BAD.sub("_", stem.upper()) or "VOLUME"
    if len(stem) > 26:
        stem = stem[:22] + stem[-4:]
    return f"/{stem}.{_ISO_NAME_BAD.sub('_', ext.upper())[:3]};1"


def joliet_name(volume_name: str) -> str:
    """The Joliet/UDF path: the real name, its ``NAME`` shortened to fit Joliet's 64
    characters (the number and extension are kept)."""
    if len(volume_name) <= 64:
        return "/" + volume_name
    tail = volume_name[-8:]  # ".001.smv"
    return "/" + volume_name[: 64 - len(tail)] + tail


def needs_udf(volume_size: int) -> bool:
    """Whether a volume file of this size needs UDF beside ISO 9660."""
    return volume_size > UDF_THRESHOLD


def _new_image(number: int, udf: bool) -> pycdlib.PyCdlib:
    import pycdlib

    image = pycdlib.PyCdlib()
    image.new(
        interchange_level=3,
        joliet=3,
        udf="2.60" if udf else None,
        vol_ident=f"SECUREMEDIA_{number:03d}",
        app_ident_str="SECUREMEDIA",
    )
    return image


class Source(Protocol):
    """What pycdlib reads a file's data from (binary: pycdlib checks ``mode``
    when there is one)."""

    def seek(self, pos: int, whence: int = ..., /) -> int: ...

    def read(self, size: int = ..., /) -> bytes | memoryview: ...


_PLAIN_FILES = ("README.TXT", "FORMAT.TXT", "MEDIA.TXT")
"""Files whose name is the same in every namespace (8.3 upper case already)."""


def _add(image: pycdlib.PyCdlib, fp: Source, length: int, name: str, udf: bool) -> None:
    plain = name in _PLAIN_FILES
    jname = "/" + name if plain else joliet_name(name)
    iname = f"/{name};1" if plain else iso9660_name(name)
    # pycdlib only seeks and reads it (its annotation says BinaryIO).
    data = cast(BinaryIO, fp)
    image.add_fp(data, length, iso_path=iname, joliet_path=jname, udf_path=jname if udf else None)


def compose(
    volume: Source,
    size: int,
    *,
    volume_name: str,
    number: int,
    readme: bytes,
    set_hex: str,
    udf: bool,
) -> pycdlib.PyCdlib:
    """The image :func:`build_image` writes, laid out but not written: the
    volume file (``size`` bytes read from ``volume``), the README and the
    specifications, every date fixed. The caller closes it."""
    from pycdlib.pycdlibexception import PyCdlibException

    image = _new_image(number, udf)
    try:
        # pycdlib lays files out in ISO 9660 name order, so the volume lands
        # right after the file system (and the few text files), where a
        # scan of a damaged image finds it at once.
        _add(image, volume, size, volume_name, udf)
        _add(image, io.BytesIO(readme), len(readme), "README.TXT", udf)
        for name, text in disc_specs():
            _add(image, io.BytesIO(text), len(text), name, udf)
        fix_dates(image, set_hex[:16])
    except PyCdlibException as exc:
        image.close()
        raise OperationalError(f"cannot lay out the disc image of {volume_name}: {exc}") from exc
    return image


def volume_offset(image: pycdlib.PyCdlib, volume_name: str) -> int:
    """Byte offset of the volume file inside a composed image (pycdlib places
    every file when it is added, before anything is written)."""
    record = image.get_record(iso_path=iso9660_name(volume_name))
    return int(record.extent_location()) * SECTOR


def write_image(image: pycdlib.PyCdlib, out: BinaryIO, progress: Progress = ignore) -> None:
    """Write a composed image to ``out`` (seekable, from offset 0) and fix the
    modification date that pycdlib stamps as it writes the descriptors."""
    done = 0

    def written(so_far: int, _total: int, _opaque: object) -> None:
        nonlocal done
        progress(so_far - done)
        done = so_far

    image.write_fp(out, blocksize=1024 * 1024, progress_cb=written)
    for offset in _volume_descriptors(out):
        out.seek(offset + VD_MODIFIED)
        out.write(FIXED_VD_DATE)


def build_image(
    volume: Path,
    image_path: Path,
    *,
    volume_name: str,
    number: int,
    readme: bytes,
    set_hex: str,
    udf: bool | None = None,
    progress: Progress = ignore,
    offset: int = 0,
) -> int:
    """Write an ISO image holding the volume file (as ``volume_name``), the README
    and the specifications (``FORMAT.TXT``, ``MEDIA.TXT``).

    The volume file is the bytes of ``volume`` from ``offset`` to its end.
    Every date in it is fixed (``iso_dates.py``): the image depends only on
    its files and the set id, never on when or where it was made. ``udf``
    None adds UDF when the volume file needs it (:func:`needs_udf`).
    ``progress`` counts the image bytes written (about the volume file's size).
    Returns the byte offset of the volume file in the image.
    :mod:`.iso_around` writes the same image around a volume already in place.
    """
    from pycdlib.pycdlibexception import PyCdlibException

    size = volume.stat().st_size - offset
    udf = needs_udf(size) if udf is None else udf
    with volume.open("rb") as src, image_path.open("x+b") as out:
        image = compose(
            Window(src, offset),
            size,
            volume_name=volume_name,
            number=number,
            readme=readme,
            set_hex=set_hex,
            udf=udf,
        )
        try:
            write_image(image, out, progress)
            return volume_offset(image, volume_name)
        except PyCdlibException as exc:
            raise OperationalError(f"cannot build disc image {image_path}: {exc}") from exc
        finally:
            image.close()


class Window:
    """The bytes of ``fp`` from ``offset`` on, as a file of their own: pycdlib
    reads a file's data from offset 0 of the object it was given."""

    mode = "rb"  # what pycdlib checks for a binary file

    def __init__(self, fp: BinaryIO, offset: int) -> None:
        self._fp, self._offset = fp, offset

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = self._offset if whence == io.SEEK_SET else 0
        return self._fp.seek(base + pos, whence) - self._offset

    def tell(self) -> int:
        return self._fp.tell() - self._offset

    def read(self, size: int = -1) -> bytes:
        return self._fp.read(size)


@functools.lru_cache(maxsize=16)
def _measured_overhead(readme_len: int, udf: bool) -> int:
    # Build a real, tiny image and see what it costs beyond the volume's own
    # sectors: cheap (about 0.8 MB in memory) and never out of date. Each
    # specification counts at least SPEC_ALLOWANCE, so small edits to the
    # documents do not move the capacity of a medium.
    image = _new_image(999, udf)
    try:
        _add(image, io.BytesIO(bytes(SECTOR)), SECTOR, "X" * 60 + ".999.smv", udf)
        _add(image, io.BytesIO(bytes(readme_len)), readme_len, "README.TXT", udf)
        for name, text in disc_specs():
            length = max(SPEC_ALLOWANCE, len(text))
            _add(image, io.BytesIO(bytes(length)), length, name, udf)
        out = io.BytesIO()
        image.write_fp(out)
    finally:
        image.close()
    return len(out.getvalue()) - SECTOR


def image_size_bound(volume_size: int, readme_len: int, *, margin: bool = True) -> int:
    """An upper bound on the image size for a volume file of ``volume_size`` bytes.

    Without ``margin``: the size expected, for reports rather than for fitting.
    """
    sectors = -(-volume_size // SECTOR)
    overhead = _measured_overhead(readme_len, needs_udf(volume_size))
    return sectors * SECTOR + overhead + (ISO_MARGIN if margin else 0)


def is_iso_image(block: bytes) -> bool:
    """True if ``block`` (the first 34 KiB of a file, or more) is an ISO 9660 image."""
    return block[ISO_MAGIC_OFFSET : ISO_MAGIC_OFFSET + 5] == b"CD001"


def iso_size(fp: BinaryIO) -> int | None:
    """Bytes the ISO 9660 file system spans (its volume space size), or None if unreadable.

    In an image we made with recovery data this is the whole image, recovery
    region included (:func:`extend_volume_space`).
    """
    fp.seek(16 * SECTOR)
    descriptor = fp.read(SECTOR)
    if descriptor[:6] != b"\x01CD001":
        return None
    # Volume space size: a both-byte-order u32 at offset 80 (ECMA-119 8.4.8).
    sectors = int.from_bytes(descriptor[80:84], "little")
    if sectors != int.from_bytes(descriptor[84:88], "big"):
        return None
    return sectors * SECTOR


_DESCRIPTORS = 16
"""Volume descriptors looked at, from sector 16, before the terminator."""


def extend_volume_space(path: Path, total_size: int) -> None:
    """Make the ISO 9660 volume space of the image at ``path`` span ``total_size``
    bytes, the image with its recovery region (which protects those very bytes,
    so this comes first).

    The recovery region then lies inside the file system's space, in sectors
    no file uses (ECMA-119 allows them): 7-Zip no longer reports "data after
    the end of archive", and a copy made by a tool that reads as far as the file
    system says (``isosize``, ``dd`` with its count) keeps the recovery data.
    """
    sectors = total_size // SECTOR
    field = sectors.to_bytes(4, "little") + sectors.to_bytes(4, "big")
    with path.open("r+b") as fp:
        for offset in _volume_descriptors(fp):
            fp.seek(offset + 80)  # volume space size (ECMA-119 8.4.8)
            fp.write(field)


def _volume_descriptors(fp: BinaryIO) -> list[int]:
    """Offsets of the primary and supplementary (Joliet) volume descriptors."""
    found = []
    for n in range(16, 16 + _DESCRIPTORS):
        fp.seek(n * SECTOR)
        head = fp.read(6)
        if head[1:6] != b"CD001" or head[0] == 255:  # not a descriptor, or the terminator
            break
        if head[0] in (1, 2):
            found.append(n * SECTOR)
    return found


def locate_volume(fp: BinaryIO) -> int | None:
    """Byte offset of the volume header inside an image, or None if there is none.

    Reads the file system's root directory (never the rest of the tree: a finder
    controls every byte and can put millions of directories there); if that is
    damaged, scans sector boundaries at the start of the image for a header with
    a valid CRC. Bounded whatever the image holds: at most ``ROOT_DIR_LIMIT``
    bytes of directory, ``CANDIDATES`` files tried, ``SCAN_LIMIT`` bytes scanned.
    """
    found = _locate_by_root_directory(fp)
    if found is not None:
        return found
    for offset in range(16 * SECTOR, SCAN_LIMIT, SECTOR):
        fp.seek(offset)
        block = fp.read(HEADER_SIZE)
        if len(block) < HEADER_SIZE:
            break
        if is_valid_header(block):
            return offset
    return None


ROOT_DIR_LIMIT = 256 * 1024
"""Bytes of root directory read at most: ours holds six records (about 300 bytes)."""

CANDIDATES = 16
"""Files in the root directory whose first sector is tested for the volume header."""

_ROOT_RECORD = 156  # root directory record in the primary volume descriptor (ECMA-119 8.4.18)
_DIR_FLAG = 0x02
_NOT_VOLUMES = tuple(f"{name};1".encode() for name in _PLAIN_FILES)
"""Root files that are never the volume; README.TXT first."""


def _locate_by_root_directory(fp: BinaryIO) -> int | None:
    """Follow the primary volume descriptor to the root directory and test its files.

    The volume file is in the root of every image we build; reading those few
    records ourselves costs two small reads instead of parsing the whole tree.
    """
    tried = 0
    for name, offset, _ in _root_files(fp):
        if name in _NOT_VOLUMES:
            continue
        if tried == CANDIDATES:
            return None
        tried += 1
        fp.seek(offset)
        if is_valid_header(fp.read(HEADER_SIZE)):
            return offset
    return None


README_LIMIT = 64 * 1024
"""Bytes of a disc's README.TXT read at most: ours is a few KiB."""


def read_readme(fp: BinaryIO) -> bytes | None:
    """``README.TXT`` from an image's root directory, or None if it cannot be found.

    Bounded like :func:`locate_volume`; a README larger than ``README_LIMIT``
    is not ours and counts as not found.
    """
    for name, offset, length in _root_files(fp):
        if name == _NOT_VOLUMES[0]:
            if length > README_LIMIT:
                return None
            fp.seek(offset)
            data = fp.read(length)
            return data if len(data) == length else None
    return None


def _root_files(fp: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """(ISO 9660 name, byte offset, length) of the files in the image's root directory.

    Reads at most ``ROOT_DIR_LIMIT`` bytes of directory; yields nothing when the
    descriptor is damaged, and stops at the first malformed record.
    """
    fp.seek(16 * SECTOR)
    descriptor = fp.read(SECTOR)
    if descriptor[:6] != b"\x01CD001":
        return
    root = descriptor[_ROOT_RECORD : _ROOT_RECORD + 34]
    extent = int.from_bytes(root[2:6], "little")
    length = min(int.from_bytes(root[10:14], "little"), ROOT_DIR_LIMIT)
    fp.seek(extent * SECTOR)
    records = fp.read(length)
    pos = 0
    while pos < len(records):
        size = records[pos]
        if size == 0:  # records never cross a sector: the rest of this one is padding
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        if size < 34 or pos + size > len(records):
            return
        record = records[pos : pos + size]
        name = record[33 : 33 + record[32]]
        pos += size
        if record[25] & _DIR_FLAG or name in (b"\x00", b"\x01"):
            continue
        offset = int.from_bytes(record[2:6], "little") * SECTOR
        yield name, offset, int.from_bytes(record[10:14], "little")
