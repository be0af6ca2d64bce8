"""What ``unpack`` adds to a damage report: which disc, and what to run next.

The library names what it found (the volume, the byte ranges in its file, or
the one authentication failure that must not say which check failed); only the
CLI knows the commands that help. The advice depends on public facts alone
(whether the input is a disc set and whether its discs carry recovery data),
never on which cryptographic check failed: it adds no oracle.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from pathlib import Path

from ..errors import IntegrityError, LostDataError, MediaError
from ..media.header import FLAG_IMAGE_PROTECTED, FLAG_VOLUME_PROTECTED
from ..media.volume_set import read_volume_info, wants_volume_set

_BEYOND = "beyond"  # LostDataError and HealedView both say "... beyond ..."


@contextlib.contextmanager
def explain_damage(archives: tuple[str, ...]) -> Iterator[None]:
    """Re-raise damage found while reading ``archives`` (as given to unpack) with
    what can still be done; the error's class (and exit code) is unchanged."""
    try:
        yield
    except LostDataError as exc:
        raise LostDataError(f"{exc}; {_beyond_recovery(archives)}", exc.ranges) from None
    except IntegrityError as exc:
        raise IntegrityError(f"{exc}; {_failed_authentication(archives)}") from None
    except MediaError as exc:
        if _BEYOND not in str(exc):
            raise
        raise MediaError(f"{exc}; {_beyond_recovery(archives)}") from None


def healed_lines(report: object) -> list[str]:
    """One line per disc that was read through its own recovery data: it is
    damaged, and ``repair`` makes a clean copy of it to burn."""
    lines = []
    for volume in getattr(report, "volumes", []):
        if volume.path is not None and volume.healed:
            lines.append(
                f"{volume.path} ({volume.label}) is damaged: it was read through its "
                "recovery data and nothing was lost; for a clean copy to burn, run: "
                f"securemedia repair {_quoted([volume.path])} -o DIR"
            )
    return lines


def media_lines(source: object) -> list[str]:
    """What reading a disc set met, for the operator: one line per disc that was
    missing or read through its recovery data, and for each damaged one the
    repair to run (``unpack`` and ``list`` say the same). Empty for a file."""
    report = getattr(source, "report", None)
    if report is None:
        return []
    return [*report.lines(), *healed_lines(report)]


def media_json(source: object) -> dict[str, object]:
    """The ``media`` field of a reading command's JSON document (a disc set only)."""
    report = getattr(source, "report", None)
    return {"media": report.to_json()} if report is not None else {}


def _restore(archives: tuple[str, ...]) -> str:
    """How to restore every member that the damage does not touch."""
    if "-" in archives:  # salvage seeks: a pipe must be saved to a file first
        return (
            "save it to a file and restore every intact member with: "
            "securemedia unpack --salvage -i KEYFILE FILE -o DIR"
        )
    return (
        "restore every intact member with: "
        f"securemedia unpack --salvage -i KEYFILE {_quoted(archives)} -o DIR"
    )


def _beyond_recovery(archives: tuple[str, ...]) -> str:
    return (
        "read that disc into a file again (another drive, or ddrescue -b 2048 with "
        "retries) and repair it with securemedia repair, or use another copy of it; "
        f"or {_restore(archives)}"
    )


def _failed_authentication(archives: tuple[str, ...]) -> str:
    kind = _recovery_kind(archives)
    if kind == "protected":
        # Every sector read matched its checksum (damage is rebuilt or reported
        # as beyond repair before it reaches authentication).
        return (
            "its discs carry recovery data and every sector read matched its checksum, "
            "so this is no damage that repair can rebuild: the archive was altered after "
            f"it was written; ask the sender for another copy, or {_restore(archives)}"
        )
    what = "its discs carry" if kind == "set" else "it carries"
    return (
        f"{what} no recovery data, so nothing can rebuild it: use another copy, or "
        f"{_restore(archives)}"
    )


def _recovery_kind(archives: tuple[str, ...]) -> str:
    """``protected`` (a disc set with recovery data), ``set`` (without), or ``plain``."""
    if archives == ("-",) or not wants_volume_set(archives):
        return "plain"
    for name in archives:
        try:
            flags = read_volume_info(Path(name)).header.flags
        except (MediaError, OSError):
            continue
        return "protected" if flags & (FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED) else "set"
    return "set"


def _quoted(names: tuple[str, ...] | list[str]) -> str:
    return " ".join(shlex.quote(str(name)) for name in names)
