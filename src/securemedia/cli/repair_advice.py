"""What ``repair`` says about a file that carries no recovery data: what the file
is, that repair has nothing to rebuild it from, and what can be done instead.

The library says "no intact recovery descriptor"; only the CLI knows which
commands and options to point to.
"""

from __future__ import annotations

from pathlib import Path

from ..compat_zip import is_compat_zip
from ..errors import OperationalError
from ..header import is_archive_file
from ..media.header import FLAG_IMAGE_PROTECTED, FLAG_VOLUME_PROTECTED
from ..media.volume_set import VolumeInfo


def no_recovery_data(path: Path, info: VolumeInfo | None) -> str | None:
    """One line for ``path``, in which no recovery region was found, given its
    volume header ``info`` if one could be read; None if the file is none of
    ours (the library's reason then stands)."""
    salvage = f"securemedia unpack --salvage -i KEYFILE {path} -o DIR"
    if info is not None:
        label = info.header.label()
        if info.header.flags & (FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED):
            # Written with recovery data that is gone now: a short copy or burn.
            return (
                f"{path}: {label}: its recovery data is missing or destroyed (a short copy "
                "or burn?): read the disc into a file again, or use another copy of it"
            )
        return (
            f"{path}: {label}, written without recovery data (--redundancy 0): repair "
            "has nothing to rebuild it from; securemedia verify tells whether it is "
            "intact; if it is not, use another copy of the disc, or restore the intact "
            "members of the set with unpack --salvage"
        )
    kind = _plain_kind(path)
    if kind == "archive":
        return (
            f"{path}: a securemedia archive packed without --media, so without recovery "
            f"data: repair has nothing to rebuild it from; check it with securemedia verify "
            f"-i KEYFILE {path}; if it is damaged, use another copy, or restore its intact "
            f"members with {salvage}"
        )
    if kind == "zip":
        return (
            f"{path}: a compat ZIP (pack --format zip): it carries no recovery data, so "
            "repair has nothing to rebuild it from; use another copy if it is damaged"
        )
    return None


def _plain_kind(path: Path) -> str | None:
    """``archive`` or ``zip`` from the file's first bytes, else None."""
    try:
        zipped = is_compat_zip(path)
    except OperationalError:
        return None  # unreadable: the library's reason stands
    if is_archive_file(path):
        return "archive"
    return "zip" if zipped else None


def beyond_repair(path: Path, why: str) -> str:
    """The library's reason a file is damaged beyond its recovery data, and what
    can still be done."""
    why = why.removeprefix(f"{path.name}: ")
    return (
        f"NOT repaired: {why}; read the disc into a file again (another drive, ddrescue "
        "-b 2048 with retries) and repair that, or use another copy of the disc; "
        "unpack --salvage restores every member the damage does not touch"
    )
