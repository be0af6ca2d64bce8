"""Reading an archive: open the header, then either

* random access (a seekable source): the trailer and index come from the last
  chunks, and one member is read by decrypting only the chunks it spans; or
* a sequential walk (any source, pipes included): records in order, with the
  index checked against everything seen once the end is reached.

Every chunk is authenticated before its bytes are parsed; a member's content is
checked against its size and BLAKE3 digest from the index when it ends.
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import blake3

from .. import signature
from ..envelope import open_header
from ..errors import FormatError, IntegrityError, UsageError
from ..header import Header, read_header
from ..recipients import Identity
from ..stream import CHUNK_SIZE, SequentialSource, StreamReader
from .compression import ZstdError, decompressor
from .index import FILE, Member, check_meta, decode_index
from .paths import NameSet
from .records import (
    INDEX_TAG,
    MAX_INDEX,
    MEMBER_TAG,
    TRAILER,
    FrameReader,
    decode_trailer,
    encode_meta,
    read_meta,
)

READ_SIZE = 1 << 20


class _Pieces:
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
    """Plaintext of one file member. Each piece returned has been authenticated
    by the STREAM; at the end, size and BLAKE3 digest are checked against the
    index (IntegrityError if they differ)."""

    def __init__(self, frames: FrameReader, meta: dict[str, Any], expected: Member | None) -> None:
        super().__init__()
        self._frames = frames
        self._data: SequentialSource = (
            decompressor(frames) if meta["compression"] == "zstd" else frames
        )
        self._expected = expected
        # The second core is idle while this thread decrypts and decompresses.
        self._hash = blake3.blake3(max_threads=blake3.blake3.AUTO)
        self.size = 0
        self.finished = False
        self.after_end: Callable[[], None] | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.finished:
            return b""
        if size < 0:  # io semantics: the whole rest of the member
            parts = []
            while piece := self.read(READ_SIZE):
                parts.append(piece)
            return b"".join(parts)
        try:
            data = self._data.read(size)
        except ZstdError:
            raise IntegrityError() from None
        if data:
            self._hash.update(data)
            self.size += len(data)
            if self._expected is not None and self.size > self._expected.size:
                raise IntegrityError()  # more data than the index says: stop early
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
        if expected is not None and (
            expected.size != self.size or not hmac.compare_digest(expected.blake3, self.digest)
        ):
            raise IntegrityError()

    def drain(self) -> None:
        while self.read(READ_SIZE):
            pass


@dataclass
class WalkEntry:
    """One member met in a sequential walk; ``data`` is None for a directory."""

    meta: dict[str, Any]
    data: MemberReader | None

    @property
    def path(self) -> str:
        return str(self.meta["path"])


class ArchiveReader:
    """Opens an archive for ``identities``.

    On a seekable source the index is read and the signature checked at once,
    so ``members`` is available; on a pipe only :meth:`walk` works.
    """

    def __init__(
        self,
        source: BinaryIO,
        identities: Sequence[Identity],
        *,
        require_signer: Sequence[bytes] | None = None,
    ) -> None:
        self._source = source
        self._require = list(require_signer) if require_signer else None
        self.header: Header = read_header(source)
        key = open_header(self.header, identities)
        start = len(self.header.raw)
        size: int | None = None
        if _seekable(source):
            size = source.seek(0, io.SEEK_END) - start
            source.seek(start)
        self._key = key
        self._stream = StreamReader(key, source, start=start, size=size)
        self._walked_chunks = 0
        self.signer: bytes | None = None
        self._members: list[Member] | None = None
        self._cache: tuple[int, bytes] | None = None
        if size is not None:
            self._load_index()

    @property
    def archive_id(self) -> str:
        return self.header.archive_id

    @property
    def chunks_decrypted(self) -> int:
        """How many payload chunks were decrypted so far (for tests and stats)."""
        return self._stream.chunks_decrypted + self._walked_chunks

    @property
    def seekable(self) -> bool:
        return self._members is not None

    @property
    def members(self) -> list[Member]:
        if self._members is None:
            raise UsageError("the member list needs a seekable archive (not a pipe)")
        return self._members

    def iter_members(self) -> Iterator[Member]:
        """The index's members in payload order, one at a time (seekable archives).

        Commands use this rather than :attr:`members` so that their memory does
        not grow with the member count.
        """
        yield from self.members

    def member(self, path: str) -> Member:
        for m in self.members:
            if m.path == path:
                return m
        raise UsageError(f"no member {path!r} in this archive")

    def open_member(self, path: str) -> MemberReader:
        """Read one file member, decrypting only the chunks its record spans."""
        member = self.member(path)
        if member.type != FILE:
            raise UsageError(f"member {path!r} is a directory")
        source = _Pieces(self._range(member.offset, member.length))
        meta = _read_record_meta(source)
        if meta != member.meta():
            raise FormatError("archive member record does not match the index")
        reader = MemberReader(FrameReader(source), meta, member)
        reader.after_end = lambda: _check_record_end(source)
        return reader

    def walk(self) -> Iterator[WalkEntry]:
        """Every member in payload order; works on pipes. When the loop ends,
        the index, the signature and every member's digest have been checked."""
        if self.seekable:
            self._source.seek(len(self.header.raw))
        stream = StreamReader(self._key, self._source)
        try:
            yield from self._walk(_Pieces(stream.chunks()))
        finally:
            self._walked_chunks += stream.chunks_decrypted

    def _walk(self, source: _Pieces) -> Iterator[WalkEntry]:
        seen: list[tuple[dict[str, Any], int, int, MemberReader | None]] = []
        names = NameSet()  # duplicates refused as met, before anything acts on them
        while True:
            offset = source.consumed
            tag = source.read(1)
            if tag == INDEX_TAG:
                break
            if tag != MEMBER_TAG:
                raise FormatError("archive payload has a malformed record")
            meta = _read_meta_checked(source)
            names.add(meta["path"], meta["type"] != FILE)
            data = None
            if meta["type"] == FILE:
                data = MemberReader(FrameReader(source), meta, None)
            yield WalkEntry(meta, data)
            if data is not None:
                data.drain()
            seen.append((meta, offset, source.consumed - offset, data))
        index_offset = offset
        tail = source.read(MAX_INDEX + signature.BLOCK_SIZE + TRAILER.size + 1)
        if len(tail) < TRAILER.size:
            raise FormatError("archive payload is too short to hold its trailer")
        plain_size = index_offset + 1 + len(tail)
        pointed, index_len, sig_len = decode_trailer(tail[-TRAILER.size :], plain_size)
        if pointed != index_offset:
            raise FormatError("archive trailer does not point at the index record")
        index_raw = tail[:index_len]
        block = tail[index_len : index_len + sig_len]
        self.signer = signature.verify(block, self.header.raw, index_raw, self._require)
        members = decode_index(index_raw, index_offset)
        if len(members) != len(seen):
            raise FormatError("archive index does not match its records")
        for member, (meta, offset, length, data) in zip(members, seen, strict=True):
            if member.meta() != meta or member.offset != offset or member.length != length:
                raise FormatError("archive index does not match its records")
            if data is not None and (
                data.size != member.size or not hmac.compare_digest(data.digest, member.blake3)
            ):
                raise IntegrityError()
        self._members = members

    def verify(self) -> None:
        """Authenticate the whole archive, writing nothing."""
        for _ in self.walk():
            pass

    # -- random access -------------------------------------------------------

    def _load_index(self) -> None:
        size = self._stream.plaintext_size
        if size < TRAILER.size:
            self._chunk(0)  # authentication comes first: a truncated archive is not "short"
            raise FormatError("archive payload is too short to hold its trailer")
        trailer = b"".join(self._range(size - TRAILER.size, TRAILER.size))
        index_offset, index_len, sig_len = decode_trailer(trailer, size)
        tail = b"".join(self._range(index_offset, 1 + index_len + sig_len))
        if tail[:1] != INDEX_TAG:
            raise FormatError("archive payload has no index record")
        index_raw = tail[1 : 1 + index_len]
        self.signer = signature.verify(
            tail[1 + index_len :], self.header.raw, index_raw, self._require
        )
        self._members = decode_index(index_raw, index_offset)

    def _chunk(self, index: int) -> bytes:
        if self._cache is not None and self._cache[0] == index:
            return self._cache[1]
        data = self._stream.chunk(index)
        self._cache = (index, data)
        return data

    def _range(self, offset: int, length: int) -> Iterator[bytes]:
        """Authenticated plaintext bytes [offset, offset + length)."""
        end = offset + length
        while offset < end:
            index, start = divmod(offset, CHUNK_SIZE)
            chunk = self._chunk(index)
            piece = chunk[start : start + (end - offset)]
            if not piece:
                raise IntegrityError()
            yield piece
            offset += len(piece)


def _check_record_end(source: SequentialSource) -> None:
    """The record must end exactly where the index says: as the walk does, refuse
    bytes after the zero frame."""
    if source.read(1):
        raise FormatError("archive member record has bytes after its end")


def _read_record_meta(source: SequentialSource) -> dict[str, Any]:
    if source.read(1) != MEMBER_TAG:
        raise FormatError("archive payload has a malformed record")
    return _read_meta_checked(source)


def _read_meta_checked(source: SequentialSource) -> dict[str, Any]:
    meta = read_meta(source)
    check_meta(meta)
    if set(meta) != {"path", "type", "mode", "mtime_ns", "compression"}:
        raise FormatError("archive member record is malformed")
    encode_meta(meta)  # raises if the metadata could not have been written (size cap)
    return meta


def _seekable(source: BinaryIO) -> bool:
    try:
        return source.seekable()
    except (AttributeError, OSError, ValueError):
        return False
