"""The chunked AES-256-GCM STREAM: nonces, the final flag, strict end.

This module knows nothing of files, headers or archives: it turns a payload key
and a byte sink (or source) into authenticated chunks. Layout, from docs/FORMAT.md:

* plaintext is cut into chunks of exactly ``CHUNK_SIZE`` bytes, the last one
  shorter (1..CHUNK_SIZE bytes; empty only when the whole payload is empty);
* chunk ``i`` is ``AES-256-GCM(payload_key, nonce_i, chunk, aad="")`` with its
  16-byte tag appended;
* ``nonce_i`` is the 11-byte big-endian counter ``i`` followed by one byte,
  0x01 for the final chunk and 0x00 otherwise.

The nonce binds every chunk to its position and the flag marks the end, so a
dropped, duplicated, reordered, spliced or truncated chunk fails to
authenticate. Chunks are decrypted with the one-shot ``AESGCM.decrypt``, which
checks the tag before returning any plaintext.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IntegrityError


class Sink(Protocol):
    def write(self, data: bytes | memoryview, /) -> object: ...


class Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class SequentialSource(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
CIPHER_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
_MAX_COUNTER = (1 << 88) - 1


def chunk_nonce(index: int, final: bool) -> bytes:
    """The 12-byte nonce of chunk ``index``."""
    if not 0 <= index <= _MAX_COUNTER:
        raise OverflowError("chunk counter out of range")
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def payload_plaintext_size(ciphertext_size: int) -> int:
    """Plaintext length of a payload whose ciphertext is ``ciphertext_size`` bytes.

    Raises IntegrityError for lengths no writer produces (a last chunk too short
    to hold a tag, or an empty final chunk after other chunks): truncation.
    """
    if ciphertext_size < TAG_SIZE:
        raise IntegrityError()
    count = chunk_count(ciphertext_size)
    last = ciphertext_size - (count - 1) * CIPHER_CHUNK_SIZE
    if last < TAG_SIZE or (last == TAG_SIZE and count > 1):
        raise IntegrityError()
    return (count - 1) * CHUNK_SIZE + last - TAG_SIZE


def chunk_count(ciphertext_size: int) -> int:
    """How many chunks a payload of ``ciphertext_size`` bytes holds (at least 1)."""
    return max(1, -(-ciphertext_size // CIPHER_CHUNK_SIZE))


class StreamWriter:
    """Encrypts a byte stream into ``sink`` chunk by chunk, in constant memory.

    A full chunk is sealed only when at least one more byte arrives: until
    ``close`` it is not known which chunk is the final one. Both buffers are
    allocated once; ``sink.write`` must consume the bytes it is given before it
    returns (a file does), because the buffer is reused for the next chunk.
    """

    def __init__(self, key: bytes, sink: Sink) -> None:
        self._aead = AESGCM(key)
        self._sink = sink
        self._chunk = memoryview(bytearray(CHUNK_SIZE))
        self._fill = 0
        self._out = memoryview(bytearray(CIPHER_CHUNK_SIZE))
        self._index = 0
        self._closed = False
        self.plaintext_bytes = 0
        self.ciphertext_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed stream")
        view = memoryview(data).cast("B")
        size = len(view)
        pos = 0
        if self._fill == 0:
            # Whole chunks straight from the caller's memory, no copy; the
            # last one waits in the buffer unless more data follows it here.
            while size - pos > CHUNK_SIZE:
                self._seal(view[pos : pos + CHUNK_SIZE], final=False)
                pos += CHUNK_SIZE
        while pos < size:
            if self._fill == CHUNK_SIZE:
                self._seal(self._chunk, final=False)
                self._fill = 0
            take = min(CHUNK_SIZE - self._fill, size - pos)
            self._chunk[self._fill : self._fill + take] = view[pos : pos + take]
            self._fill += take
            pos += take
        self.plaintext_bytes += size
        return size

    def close(self) -> None:
        """Seal the final chunk (empty only if nothing at all was written)."""
        if self._closed:
            return
        self._seal(self._chunk[: self._fill], final=True)
        self._closed = True

    def _seal(self, chunk: memoryview, *, final: bool) -> None:
        out = self._out[: len(chunk) + TAG_SIZE]
        self._aead.encrypt_into(chunk_nonce(self._index, final), chunk, None, out)
        self._sink.write(out)
        self.ciphertext_bytes += len(out)
        self._index += 1


class StreamReader:
    """Decrypts a payload; every chunk is authenticated before it is returned.

    Sequential use (``chunks()``) works on pipes: one chunk of look-ahead tells
    whether the current chunk must carry the final flag. Random access
    (``chunk(i)``) needs a seekable source whose payload length is known.
    """

    def __init__(
        self,
        key: bytes,
        source: Source | SequentialSource,
        *,
        start: int = 0,
        size: int | None = None,
    ) -> None:
        self._aead = AESGCM(key)
        self._source = source
        self._start = start
        self._size = size
        self.chunks_decrypted = 0

    @property
    def plaintext_size(self) -> int:
        if self._size is None:
            raise ValueError("payload size unknown on a non-seekable source")
        return payload_plaintext_size(self._size)

    def chunks(self) -> Iterator[bytes]:
        """Yield each chunk's plaintext in order; raise IntegrityError on any
        tampering, including a missing final chunk or data after it."""
        read = self._source.read
        current = _read_exact(read, CIPHER_CHUNK_SIZE)
        index = 0
        while True:
            following = (
                _read_exact(read, CIPHER_CHUNK_SIZE) if len(current) == CIPHER_CHUNK_SIZE else b""
            )
            final = not following
            if final and len(current) == TAG_SIZE and index > 0:
                raise IntegrityError()  # an empty final chunk after data: truncated
            yield self._open(index, current, final)
            if final:
                return
            current = following
            index += 1

    def chunk(self, index: int) -> bytes:
        """Decrypt chunk ``index`` of a seekable payload of known size."""
        total = chunk_count(self.size_known())
        if not 0 <= index < total:
            raise IndexError(index)
        assert hasattr(self._source, "seek")  # a known size implies a seekable source
        self._source.seek(self._start + index * CIPHER_CHUNK_SIZE)
        want = min(CIPHER_CHUNK_SIZE, self.size_known() - index * CIPHER_CHUNK_SIZE)
        data = _read_exact(self._source.read, want)
        if len(data) != want:
            raise IntegrityError()
        return self._open(index, data, index == total - 1)

    def size_known(self) -> int:
        if self._size is None:
            raise ValueError("payload size unknown on a non-seekable source")
        payload_plaintext_size(self._size)  # rejects impossible lengths early
        return self._size

    def _open(self, index: int, data: bytes, final: bool) -> bytes:
        if len(data) < TAG_SIZE:
            raise IntegrityError()
        try:
            plain = self._aead.decrypt(chunk_nonce(index, final), data, None)
        except InvalidTag:
            raise IntegrityError() from None
        self.chunks_decrypted += 1
        return plain


def _read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at end of input (pipes return short reads)."""
    first = read(size)
    if not first or len(first) == size:
        return first
    parts = [first]
    got = len(first)
    while got < size:
        more = read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)
