"""One file member being written into the staging directory."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..errors import IntegrityError
from ..finishing import Finishing
from .dirfd import apply_metadata
from .writeback import Writeback


class StagedFile(Finishing):
    """A member being written into the staging directory (see
    :meth:`.staging.Staging.open_file`): ``on_close`` keeps it, ``on_discard``
    drops it. Leaving its ``with`` block normally closes (keeps) it; leaving it
    with an exception aborts (drops) it."""

    def __init__(
        self,
        name: str,
        fd: int,
        *,
        named: bool,
        umask: int,
        size: int | None,
        mode: int | None,
        mtime_ns: int | None,
        on_close: Callable[[StagedFile], None],
        on_discard: Callable[[StagedFile], None],
    ) -> None:
        self.name = name
        self.fd = fd
        self.named = named  # a named file (no O_TMPFILE here), not an anonymous one
        self.mode = mode
        self.mtime_ns = mtime_ns
        self.written = 0
        self._umask = umask
        self._size = size
        self._on_close = on_close
        self._on_discard = on_discard
        self._open = True
        self._writeback = Writeback(fd)

    def fileno(self) -> int:
        return self.fd

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write all of ``data`` (``os.write`` may write less than asked)."""
        view = memoryview(data).cast("B")
        total = len(view)
        if self._size is not None and self.written + total > self._size:
            raise IntegrityError()  # more than the index declares: stop before writing it
        while view:
            done = os.write(self.fd, view)
            view = view[done:]
        self.written += total
        self._writeback.written(self.written)
        return total

    def apply(self, mode: int | None, mtime_ns: int | None) -> None:
        """Final permission bits (masked by the umask) and time, on the descriptor."""
        apply_metadata(self.fd, 0o666 if mode is None else mode, mtime_ns, self._umask)

    def close(self) -> None:
        """The member was read to its end without error: keep it."""
        if not self._open:
            return
        self._open = False
        try:
            if self._size is not None and self.written != self._size:
                raise IntegrityError()
            self._on_close(self)
        except BaseException:
            self._drop()
            raise

    def abort(self) -> None:
        """Drop what was written (an anonymous file simply vanishes)."""
        if self._open:
            self._open = False
            self._drop()

    def _drop(self) -> None:
        os.close(self.fd)
        self._on_discard(self)
