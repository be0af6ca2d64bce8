"""A file that changes while it is packed: found, bounded, and reported.

The scan recorded every file's size and modification time; the copy reads at
most that many bytes and then looks again (also at the status-change time,
which moves on a write even when the writer sets the mtime back). A file that grew, shrank or was
rewritten in between (an export still being written, a log) would otherwise
go into the archive at whatever size it had when its read ended, silently,
and a recipient would get a truncated table as if it were complete.

By default that is an error (:class:`InputChangedError`) and the archive is
abandoned. A caller that accepts it passes ``on_change``: the member then holds
what was read, never more than the scanned size (a file that keeps growing
cannot make a pack endless, nor outgrow the sizes a disc set was planned for),
and the callback is told what happened.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import OperationalError
from .paths import display_name
from .scanned import Source


@dataclass(frozen=True)
class Change:
    """What happened to a file between the scan and the end of its copy."""

    path: str
    """The file on disk, escaped for a terminal."""
    scanned: int
    """Its size when the inputs were scanned."""
    now: int
    """Its size after the copy."""
    packed: int
    """Bytes the member holds."""
    longer: bool = False
    """Bytes past the scanned size could be read (its size may not say so: a
    file in /proc or /sys reports 0 bytes and has more)."""

    def describe(self) -> str:
        """``export/log.csv grew while it was packed (1,000 bytes when ..., 1,200 now)``."""
        now = f"{self.now:,}"
        if self.now > self.scanned:
            what = "grew"
        elif self.longer:
            what, now = "grew", f"more than {self.scanned:,}"
        elif self.now < self.scanned:
            what = "shrank"
        else:
            what = "was rewritten"
        return (
            f"{self.path} {what} while it was packed ({self.scanned:,} bytes when the "
            f"inputs were scanned, {now} now)"
        )


class InputChangedError(OperationalError):
    """A file changed while it was packed, and the caller did not accept it (exit 1)."""

    def __init__(self, change: Change, message: str | None = None) -> None:
        super().__init__(
            message or f"{change.describe()}: nothing was written; pack again once it is complete"
        )
        self.change = change


OnChange = Callable[[Change], None]


def copy_scanned(
    handle: io.BufferedReader,
    opened: os.stat_result,
    source: Source,
    write: Callable[[memoryview], object],
    buffer: memoryview,
    on_change: OnChange | None,
) -> None:
    """Copy the file ``handle`` (``opened``: its fstat at open) to ``write``: at
    most the ``source.size`` bytes the scan saw, then check it did not change."""
    remaining = source.size
    while remaining > 0 and (n := handle.readinto(buffer[: min(remaining, len(buffer))])):
        write(buffer[:n])
        remaining -= n
    packed = source.size - remaining
    # One byte more is read, not trusted to st_size: a file whose size does not
    # tell (in /proc or /sys) must not go in empty without a word.
    longer = remaining == 0 and handle.readinto(buffer[:1]) > 0
    after = os.fstat(handle.fileno())
    changed = (
        longer
        or packed != source.size
        or after.st_size != source.size
        or after.st_mtime_ns != source.mtime_ns
        or opened.st_mtime_ns != source.mtime_ns
        # Whoever writes a file can set its mtime back (``touch -r``, an rsync
        # --inplace): a rewrite during the read then changes nothing above, but
        # the status-change time, which no one can set, moves.
        or after.st_ctime_ns != opened.st_ctime_ns
    )
    if not changed:
        return
    change = Change(display_name(str(source.path)), source.size, after.st_size, packed, longer)
    if on_change is None:
        raise InputChangedError(change)
    on_change(change)
