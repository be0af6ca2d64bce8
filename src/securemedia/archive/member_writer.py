"""Writing one member's content into an archive: hashed (BLAKE3), compressed if
the archive compresses, and cut into frames of at most ``MAX_FRAME`` bytes
inside the archive's encrypted stream.

:meth:`~securemedia.archive.writer.ArchiveWriter.open_member` hands out a
:class:`MemberWriter`; closing it gives the archive writer the member's index
entry.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import blake3

from ..finishing import Finishing
from ..stream import StreamWriter
from .index import Member
from .records import MAX_FRAME, U32

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from .writer import ArchiveWriter

__all__ = ["MemberWriter"]


class _Framer:
    """Cuts a member's stored bytes into frames of at most MAX_FRAME bytes."""

    def __init__(self, payload: StreamWriter) -> None:
        self._payload = payload
        self._buffer = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self._buffer:
            room = MAX_FRAME - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == MAX_FRAME:
                self._emit(self._buffer)
                self._buffer = bytearray()
        while len(view) >= MAX_FRAME:
            self._emit(view[:MAX_FRAME])
            view = view[MAX_FRAME:]
        self._buffer += view
        return size

    def finish(self) -> None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = bytearray()
        self._payload.write(U32.pack(0))

    def _emit(self, frame: bytes | bytearray | memoryview) -> None:
        self._payload.write(U32.pack(len(frame)))
        self._payload.write(frame)


class MemberWriter(Finishing, io.BufferedIOBase):
    """A writable binary stream for one member's content (a context manager).

    A real :class:`io.BufferedIOBase`, so text and CSV writers can sit on it
    without the plaintext touching disk::

        with io.TextIOWrapper(archive.open_member("rows.csv"), "utf-8", newline="") as text:
            csv.writer(text).writerows(cursor)
    """

    def __init__(self, archive: ArchiveWriter, meta: dict[str, Any], offset: int) -> None:
        super().__init__()
        self._archive = archive
        self._meta = meta
        self._offset = offset
        self._framer = _Framer(archive._stream)
        self._compressor = (
            archive.compression.compressor(self._framer) if archive.compression.enabled else None
        )
        # Single-threaded, on this thread: BLAKE3's own pool (max_threads=AUTO)
        # spins in sched_yield while it waits for a core, and a helper thread
        # costs more in GIL hand-offs than the hash itself (5 GB/s with AVX-512);
        # see benchmarks/README.md, "Hashing".
        self._hash = blake3.blake3(max_threads=1)
        self.size = 0
        self._done = False

    @property
    def closed(self) -> bool:
        return self._done

    def write(self, data: ReadableBuffer, /) -> int:
        if self._done:
            raise ValueError("write to a closed member")
        view = memoryview(data).cast("B")
        self._hash.update(view)
        n = len(view)
        self.size += n
        if self._compressor is not None:
            self._compressor.write(view)
        else:
            self._framer.write(view)
        self._archive._progressed(n)
        return n

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def __del__(self) -> None:
        # Never finish a member behind the caller's back (io.IOBase would call
        # close() here): a member nobody closed is finished by the archive's close().
        pass

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._archive._failed:
            return  # the archive is unfinished anyway: write nothing more
        if self._compressor is not None:
            self._compressor.close()
        self._framer.finish()
        self._archive._member_done(
            Member(
                size=self.size,
                blake3=self._hash.hexdigest(),
                offset=self._offset,
                length=self._archive._stream.plaintext_bytes - self._offset,
                **self._meta,
            )
        )

    def abort(self) -> None:
        """Abandon the member, and so the archive: it will never get a trailer."""
        self._done = True
        self._archive.abort()
