"""Opening a disc file (a volume, a disc image, or the disc itself) for reading."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError


def open_disc_file(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file or a block device.

    Opened without blocking and checked on the descriptor: a FIFO among the
    files an operator's glob picked up (a disc's Rock Ridge can hold one) would
    otherwise hang the command at its first read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            raise UsageError(f"{path}: not a file (a volume or disc image is a file or a disc)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
