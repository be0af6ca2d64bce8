"""A member's plaintext as a bounded, checked stream; and the byte-piece reader
the archive reader parses records from."""

from __future__ import annotations

import hmac
import io
from collections.abc import Callable, Iterator
from typing import Any

import blake3

from ..errors import FormatError, IntegrityError, MediaError
from ..stream import SequentialSource
from .compression import ZstdError, decompressor
from .index import Member
from .records import FrameReader

# One zstd frame's content (FRAME_CONTENT): a read of a compressed member then
# takes a decoded frame whole, without copying it into smaller pieces.
READ_SIZE = 2 << 20


def is_structural(exc: FormatError) -> bool:
    """True for a fault in the structure of an authentic payload (index failure,
    signature failure, unsafe member): an authentication failure anywhere in the
    same payload outranks it (FORMAT.md 15.1), so a reader reports it only once
    every chunk has authenticated. Lost media data is not one."""
    return not isinstance(exc, (IntegrityError, MediaError))


class Pieces:
    """A file-like ``read(n)`` over an iterator of byte pieces."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._current = b""
        self._pos = 0
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            rest = [self._current[self._pos :], *self._pieces]
            self._current, self._pos = b"", 0
            out = b"".join(rest)
            self.consumed += len(out)
            return out
        parts: list[bytes] = []
        want = size
        while want > 0:
            if self._pos >= len(self._current):
                nxt = next(self._pieces, None)
                if nxt is None:
                    break
                self._current, self._pos = nxt, 0
                continue
            take = self._current[self._pos : self._pos + want]
            self._pos += len(take)
            want -= len(take)
            parts.append(take)
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        self.consumed += len(out)
        return out


class MemberReader(io.RawIOBase):
    """Plaintext of one file member, bounded by its index entry.

    Each piece returned has been authenticated by the STREAM, and no read ever
    returns a byte beyond the size the (authenticated, signature-checked) index
    declares: a member whose stored bytes expand further is refused
    (IntegrityError) before any such byte is released, so a decompression bomb
    costs nothing. At the end, size and BLAKE3 digest are checked against the
    index (IntegrityError if they differ).
    """

    def __init__(self, frames: FrameReader, meta: dict[str, Any], expected: Member) -> None:
        super().__init__()
        self._frames = frames
        self._data: SequentialSource = (
            decompressor(frames, expected.size) if meta["compression"] == "zstd" else frames
        )
        self._expected = expected
        # Single-threaded, as when packing (see member_writer.MemberWriter): BLAKE3's
        # own pool spins in sched_yield whenever the other core is busy.
        self._hash = blake3.blake3(max_threads=1)
        self.size = 0
        self.finished = False
        self.after_end: Callable[[], None] | None = None
        # Run before a structural fault (FormatError other than IntegrityError)
        # propagates: the walk authenticates the rest of the payload there, so
        # that an authentication failure outranks it (FORMAT.md 15.1).
        self.before_fault: Callable[[], None] | None = None

    @property
    def declared_size(self) -> int:
        """The member's size as the index declares it: the most it can yield."""
        return self._expected.size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.finished:
            return b""
        if size is None or size < 0:  # io semantics: the whole rest of the member
            parts = []
            while piece := self.read(READ_SIZE):
                parts.append(piece)
            return b"".join(parts)
        if size == 0:
            return b""  # an empty read is not the end of the member
        try:
            return self._read(size)
        except FormatError as exc:
            if self.before_fault is not None and is_structural(exc):
                self.before_fault()
            raise

    def _read(self, size: int) -> bytes:
        left = self._expected.size - self.size
        try:
            # At the declared size, one more byte may only be the end.
            data = self._data.read(min(size, left) if left else 1)
        except ZstdError:
            raise IntegrityError() from None
        if data and not left:
            raise IntegrityError()  # more data than the index declares: nothing released
        if data:
            self._hash.update(data)
            self.size += len(data)
            return data
        self._finish()
        return b""

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def _finish(self) -> None:
        self._frames.drain()
        self.finished = True
        if self.after_end is not None:
            self.after_end()
        expected = self._expected
        if expected.size != self.size or not hmac.compare_digest(expected.blake3, self.digest):
            raise IntegrityError()

    def drain(self) -> None:
        while self.read(READ_SIZE):
            pass
