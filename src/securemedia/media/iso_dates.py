"""Every date in a disc image fixed at 1980-01-01 00:00:00 UTC.

pycdlib stamps the volume descriptors, every directory record and (with UDF)
every UDF descriptor and file entry with the packing time to the second, in
the packer's local time with its UTC offset; a finder would learn when and in
which time zone the disc was made. pycdlib has no option for the dates
(clalancette/pycdlib issue 113), so :func:`fix_dates` rewrites the date
objects of a built, not yet written, image in place.

A fixed date rather than the packing day in UTC: the image then depends only
on what it holds, so a disc rebuilt from spare volumes, or made again from the
same volume file, is byte for byte the image that was burned (and gets the
same recovery data). 1980-01-01 is the earliest date that ISO 9660, UDF and
the FAT/ZIP tools a copy may pass through can all represent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import OperationalError

if TYPE_CHECKING:
    import pycdlib

FIXED_YEAR = 1980
"""Year of the fixed date; month and day are 1, the time 00:00:00, UTC."""

FIXED_VD_DATE = b"1980010100000000\x00"
"""ECMA-119 8.4.26.1 text date: YYYYMMDDHHMMSScc and a zero UTC offset."""

VD_MODIFIED = 830
"""Offset of the volume modification date in a volume descriptor (ECMA-119
8.4.28), which pycdlib stamps while writing, so it is set in the written image."""

_MAX_OBJECTS = 100_000
"""Objects visited at most: an image of ours has a few hundred."""


def fix_dates(image: pycdlib.PyCdlib, unique: str) -> None:
    """Set every date of ``image`` (built by us, not yet written) to the fixed date.

    ``unique`` (16 hex digits) replaces the UDF volume set identifier, which
    pycdlib makes from the time and a random number: the set id serves the
    same purpose (UDF 2.60 2.2.2.5) and is already on the disc.
    """
    from pycdlib import dates, udf

    seen: set[int] = set()
    stack: list[Any] = [image]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if len(seen) > _MAX_OBJECTS:  # not our image: refuse rather than walk on
            raise OperationalError("cannot fix the dates of a disc image this large")
        if isinstance(obj, dates.DirectoryRecordDate):
            _set(obj, years_since_1900=FIXED_YEAR - 1900, month=1, day_of_month=1)
            _set(obj, hour=0, minute=0, second=0, gmtoffset=0)
        elif isinstance(obj, dates.VolumeDescriptorDate):
            if obj.date_str != dates.VolumeDescriptorDate.EMPTY_STRING:  # "not specified" stays
                _set(obj, year=FIXED_YEAR, month=1, dayofmonth=1, hour=0, minute=0, second=0)
                _set(obj, hundredthsofsecond=0, gmtoffset=0, date_str=FIXED_VD_DATE)
        elif isinstance(obj, udf.UDFTimestamp):
            # Type 1 with offset 0 (UDF 2.60 2.1.4.1 requires type 1): UTC.
            _set(obj, year=FIXED_YEAR, month=1, day=1, hour=0, minute=0, second=0)
            _set(obj, centiseconds=0, hundreds_microseconds=0, microseconds=0, tz=0)
        else:
            if isinstance(obj, udf.UDFPrimaryVolumeDescriptor):
                obj.vol_set_ident = udf._ostaunicode_zero_pad(unique, 128)
            stack.extend(_children(obj))


def _set(obj: object, **fields: object) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)


def _children(obj: object) -> list[Any]:
    """The pycdlib objects ``obj`` refers to (lists and dicts looked into)."""
    if isinstance(obj, list | tuple):
        values = list(obj)
    elif isinstance(obj, dict):
        values = list(obj.values())
    else:
        names = set(getattr(obj, "__dict__", {}))
        for klass in type(obj).__mro__:
            slots = klass.__dict__.get("__slots__", ())
            names.update((slots,) if isinstance(slots, str) else slots)
        values = [getattr(obj, name, None) for name in names]
    return [v for v in values if isinstance(v, list | tuple | dict) or _is_pycdlib(v)]


def _is_pycdlib(value: object) -> bool:
    return type(value).__module__.startswith("pycdlib.")
