"""Holding a non-seekable archive (a pipe) as ciphertext in an anonymous
temporary file, so that it can be read like a file: index and signer first."""

from __future__ import annotations

import errno
import tempfile
from typing import BinaryIO

from ..errors import OperationalError

READ_SIZE = 1 << 20


def spool_ciphertext(source: BinaryIO) -> BinaryIO:
    """Copy the rest of ``source`` (ciphertext: the header was already read) into
    an anonymous temporary file, and return it positioned at its start.

    ``tempfile.TemporaryFile`` is unlinked as soon as it is created (mode 0600),
    so nothing is left behind whatever happens to the process.
    """
    try:
        spool = tempfile.TemporaryFile(prefix="securemedia-spool-")  # noqa: SIM115 - returned
    except OSError as exc:
        raise OperationalError(
            f"cannot create a temporary file to hold the archive: {exc.strerror}"
        ) from None
    try:
        while piece := source.read(READ_SIZE):
            spool.write(piece)
        spool.flush()
        spool.seek(0)
    except OSError as exc:
        spool.close()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OperationalError(
                "no space left for the temporary copy of the archive read from a pipe "
                "(its encrypted bytes are held in TMPDIR before anything is released): "
                "set TMPDIR to a disk with room, or give the archive as a file"
            ) from None
        raise OperationalError(
            f"cannot hold the archive read from a pipe: {exc.strerror}"
        ) from None
    return spool
