"""zstd compression of members, and the one place the zstandard library is used.

A compressed member is a sequence of independent zstd frames, each holding
FRAME_CONTENT bytes of content (the last one the rest) and declaring that size
in its frame header (docs/FORMAT.md, section 6.1). Independent frames let both
cores compress and decompress one member, and let a reader bound every frame
before decoding it: no frame is decoded that would yield more than FRAME_CONTENT
bytes or more than the member has left, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import zstandard

from ..stream import SequentialSource

DEFAULT_LEVEL = 3
# 2 MiB: at level 3 zstd's window is 2 MiB anyway, so frames of 2 MiB come out
# 0.7 % larger than `zstd -3` of the whole file (1 MiB: 1.7 %, 4 MiB: 0.3 %) and
# decode on two cores best (the 1,500,000-row registry; docs/FORMAT.md 17).
FRAME_CONTENT = 2 << 20
# ZSTD_COMPRESSBOUND(FRAME_CONTENT): no zstd encoder writes a longer frame for
# that much content, so a reader never holds more than this for one frame.
MAX_STORED_FRAME = FRAME_CONTENT + (FRAME_CONTENT >> 8)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_BLOCK = 128 << 10  # RFC 8878: a block never exceeds 128 KiB
IN_FLIGHT = 2  # frames queued per worker: both cores busy, memory bounded


def default_threads() -> int:
    return min(os.cpu_count() or 1, 8)


class ZstdFrameError(zstandard.ZstdError):
    """Stored bytes that break the frame rules of FORMAT.md section 6.1."""


ZstdError = zstandard.ZstdError


# -- worker threads ----------------------------------------------------------------

_pools: dict[int, tuple[int, Executor]] = {}
_pools_lock = threading.Lock()
_local = threading.local()


def _pool(threads: int) -> Executor:
    """A shared pool of ``threads`` workers (idle workers cost nothing; a pool per
    archive or member would start threads per member). Recreated after a fork."""
    with _pools_lock:
        found = _pools.get(threads)
        if found is None or found[0] != os.getpid():
            found = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="zstd"))
            _pools[threads] = found
        return found[1]


def _compress(level: int, block: bytes | bytearray) -> bytes:
    """One frame, with its content size in the header (zstd writes it when the
    whole input is given at once). Contexts are per thread: they are not
    thread-safe, and zstd releases the GIL while it works."""
    contexts: dict[int, Any] = _local.__dict__.setdefault("compressors", {})
    ctx = contexts.get(level)
    if ctx is None:
        ctx = contexts[level] = zstandard.ZstdCompressor(
            level=level, write_content_size=True, write_checksum=False
        )
    data: bytes = ctx.compress(block)
    return data


def _decompress(frame: bytes) -> bytes:
    ctx = _local.__dict__.get("decompressor")
    if ctx is None:
        ctx = _local.decompressor = zstandard.ZstdDecompressor()
    # The frame header declares the content size (checked by the caller), so
    # zstd allocates exactly that and refuses a frame that decodes to more.
    data: bytes = ctx.decompress(frame)
    return data


class _Ordered:
    """Jobs for the worker threads, whose results are taken in order.

    While the caller waits for the oldest result it runs queued jobs itself (the
    oldest not yet started first): on a busy machine a worker may wait long for
    a core, while the caller already has one, so the pipeline never stalls on a
    thread handoff and degrades to one thread's speed at worst.
    """

    def __init__(self, pool: Executor | None, job: Callable[[Any], bytes]) -> None:
        self._pool = pool
        self._job = job
        # [future, argument, result]: a job run here has no future and a result.
        self._jobs: deque[list[Any]] = deque()

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, argument: Any) -> None:
        if self._pool is None:
            self._jobs.append([None, None, self._job(argument)])
        else:
            self._jobs.append([self._pool.submit(self._job, argument), argument, None])

    def head_done(self) -> bool:
        future = self._jobs[0][0]
        return future is None or bool(future.done())

    def take(self) -> bytes:
        head = self._jobs[0]
        while not self.head_done():
            queued = next((j for j in self._jobs if j[0] is not None and j[0].cancel()), None)
            if queued is None:
                break  # every job left is running: wait for the oldest
            queued[2] = self._job(queued[1])
            queued[0] = queued[1] = None
        self._jobs.popleft()
        result: bytes = head[2] if head[0] is None else head[0].result()
        return result


# -- writing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Compression:
    """How members are stored: zstd at ``level`` with ``threads`` workers, or not at all."""

    enabled: bool = True
    level: int = DEFAULT_LEVEL
    threads: int = 0  # 0: one per core (up to 8)

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 19:
            raise ValueError("compression level must be between 1 and 19")

    @property
    def name(self) -> str:
        return "zstd" if self.enabled else "none"

    def context(self) -> Executor | None:
        """The workers that compress frames (None: compress on the calling thread).
        Shared by every member of an archive."""
        threads = self.threads or default_threads()
        return _pool(threads) if threads > 1 else None

    def compressor(self, sink: Any) -> FrameWriter:
        """A writer that sends the member's zstd frames to ``sink.write``, on the
        shared workers of :meth:`context`."""
        depth = IN_FLIGHT * (self.threads or default_threads())
        return FrameWriter(sink, self.level, self.context(), depth)


class FrameWriter:
    """Cuts content into FRAME_CONTENT pieces and compresses each into its own
    frame, on the worker threads when there are any; frames reach the sink in
    order. Memory: at most IN_FLIGHT frames per worker, in and out."""

    def __init__(self, sink: Any, level: int, pool: Executor | None, depth: int) -> None:
        self._sink = sink
        self._level = level
        self._limit = depth
        self._buffer = bytearray()
        self._pending = _Ordered(pool, functools.partial(_compress, level))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            room = FRAME_CONTENT - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == FRAME_CONTENT:
                block, self._buffer = self._buffer, bytearray()
                self._frame(block)
        return size

    def close(self) -> None:
        """Write the last (short) frame and wait for every frame to be written.
        An empty member has no frame at all."""
        if self._buffer:
            block, self._buffer = self._buffer, bytearray()
            self._frame(block)
        while self._pending:
            self._sink.write(self._pending.take())

    def _frame(self, block: bytearray) -> None:
        if not self._pending and len(block) < FRAME_CONTENT:
            # A small member's only frame: a round trip through a worker would
            # cost more than it saves.
            self._sink.write(_compress(self._level, block))
            return
        self._pending.put(block)
        while self._pending and (len(self._pending) > self._limit or self._pending.head_done()):
            self._sink.write(self._pending.take())


# -- reading -----------------------------------------------------------------------


def decompressor(source: SequentialSource, size: int) -> SequentialSource:
    """A pull-based reader of a member of ``size`` content bytes stored as zstd
    frames (FORMAT.md 6.1): output is produced only as it is read, and every
    frame is checked against the rules before it is decoded."""
    threads = default_threads()
    pool = _pool(threads) if threads > 1 and size > FRAME_CONTENT else None
    return FrameDecoder(source, size, pool, IN_FLIGHT * threads)


class FrameDecoder:
    """Splits stored bytes into zstd frames, refusing (ZstdFrameError) anything
    FORMAT.md 6.1 does not allow, and decodes them, ``depth`` at most in flight."""

    def __init__(
        self, source: SequentialSource, size: int, pool: Executor | None, depth: int
    ) -> None:
        self._source = source
        self._unscheduled = size  # content bytes no frame has claimed yet
        self._depth = depth if pool is not None else 1
        self._pending = _Ordered(pool, _decompress)
        self._out = b""
        self._pos = 0
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._out):
            self._out, self._pos = self._next_output(), 0
        if size < 0 or (self._pos == 0 and size >= len(self._out)):
            out, self._out = self._out[self._pos :], b""
            return out
        out = self._out[self._pos : self._pos + size]
        self._pos += len(out)
        return out

    def _next_output(self) -> bytes:
        while not self._ended and len(self._pending) < self._depth:
            self._schedule()
        return self._pending.take() if self._pending else b""

    def _schedule(self) -> None:
        frame, content = self._split()
        if frame is None:
            self._ended = True
            return
        self._unscheduled -= content
        self._pending.put(frame)

    def _split(self) -> tuple[bytes | None, int]:
        """The next whole frame and its declared content size; (None, 0) at a
        correct end of the stored bytes."""
        left = self._unscheduled
        magic = self._read(4, allow_end=True)
        if not magic:
            if left:
                raise ZstdFrameError("stored bytes end before the member's content")
            return None, 0
        if not left:
            raise ZstdFrameError("stored bytes after the member's last frame")
        if magic != ZSTD_MAGIC:
            raise ZstdFrameError("stored bytes are not a zstd frame")  # skippable or other
        descriptor = self._read(1)
        flags = descriptor[0]
        fcs_flag, single = flags >> 6, flags >> 5 & 1
        if flags & 0x0B:  # bit 3 is reserved; bits 0-1 declare a dictionary
            raise ZstdFrameError("zstd frame uses a dictionary or a reserved bit")
        fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
        if not fcs_size:
            raise ZstdFrameError("zstd frame does not declare its content size")
        header = magic + descriptor + self._read((0 if single else 1) + fcs_size)
        content = zstandard.get_frame_parameters(header).content_size
        if content != min(FRAME_CONTENT, left):
            raise ZstdFrameError("zstd frame content size is not the one required")
        parts = [header]
        stored = len(header)
        last = False
        while not last:
            block = self._read(3)
            value = int.from_bytes(block, "little")
            last, kind, length = bool(value & 1), value >> 1 & 3, value >> 3
            if kind == 3 or length > MAX_BLOCK:
                raise ZstdFrameError("zstd frame has a malformed block")
            body = self._read(1 if kind == 1 else length)
            stored += 3 + len(body)
            if stored > MAX_STORED_FRAME:
                raise ZstdFrameError("zstd frame is longer than its content allows")
            parts += (block, body)
        if flags & 4:
            parts.append(self._read(4))  # content checksum: zstd verifies it
            if stored + 4 > MAX_STORED_FRAME:
                raise ZstdFrameError("zstd frame is longer than its content allows")
        return b"".join(parts), content

    def _read(self, size: int, *, allow_end: bool = False) -> bytes:
        parts: list[bytes] = []
        want = size
        while want:
            piece = self._source.read(want)
            if not piece:
                break
            parts.append(piece)
            want -= len(piece)
        data = b"".join(parts)
        if want and not (allow_end and not data):
            raise ZstdFrameError("stored bytes end inside a zstd frame")
        return data
