"""Outputs that appear at their final name only when complete.

A killed or failed run leaves at most a hidden ``.NAME.partial-*`` file beside
the target, never a complete-looking file at the target itself.

There is no fsync before the rename. After a power cut the file at the target
may be short or zero-filled, but an archive is self-authenticating: any such
damage fails verification (exit 4), so it cannot pass for a complete archive.
Forcing hundreds of megabytes to disk would cost more than the encryption, and
an operator checks the burned disc with ``verify`` anyway.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import DestinationExistsError, OperationalError


@contextlib.contextmanager
def atomic_output(path: Path, *, force: bool = False, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path``; rename into place on success."""
    if path.exists() and not force:
        raise DestinationExistsError(f"{path} already exists (use --force to replace it)")
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=directory)
    except OSError as exc:
        raise OperationalError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        if path.exists() and not force:
            raise DestinationExistsError(f"{path} already exists (use --force to replace it)")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
