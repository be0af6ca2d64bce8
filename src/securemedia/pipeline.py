"""Overlapping disk I/O with cryptography.

AES-GCM in ``cryptography`` holds the GIL, but file reads and writes release
it, so one thread reading ahead and one writing behind let the main thread
spend its time encrypting. Both wrappers keep at most ``depth`` blocks in
flight (constant memory) and re-raise an I/O error of their thread in the
caller, at the next call.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 1 << 20
_DONE = object()


class ReadAhead:
    """A ``read(n)`` over ``source`` fed by a thread reading ``block``-sized pieces."""

    def __init__(self, source: BinaryIO, *, block: int = BLOCK, depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._current = b""
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(
            target=self._run, args=(source, block), name="securemedia-read", daemon=True
        )
        self._thread.start()

    def _run(self, source: BinaryIO, block: int) -> None:
        try:
            while not self._stop.is_set():
                data = source.read(block)
                if not data:
                    break
                self._queue.put(data)
            self._queue.put(_DONE)
        except BaseException as exc:  # handed to the reader thread, raised there
            self._queue.put(exc)

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while piece := self.read(BLOCK):
                parts.append(piece)
            return b"".join(parts)
        parts_: list[bytes] = []
        want = size
        while want > 0:
            if self._pos >= len(self._current):
                if not self._next():
                    break
                continue
            if self._pos == 0 and len(self._current) <= want:
                piece = self._current  # whole block: no copy
            else:
                piece = self._current[self._pos : self._pos + want]
            self._pos += len(piece)
            want -= len(piece)
            parts_.append(piece)
        return parts_[0] if len(parts_) == 1 else b"".join(parts_)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def _next(self) -> bool:
        if self._eof:
            return False
        item = self._queue.get()
        if item is _DONE:
            self._eof = True
            return False
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        assert isinstance(item, bytes)
        self._current, self._pos = item, 0
        return True

    def close(self) -> None:
        """Stop the thread. It may be blocked on a full queue (drained here) or
        in a read from a pipe that never ends; it is a daemon thread, so it is
        not waited for beyond a moment."""
        self._stop.set()
        for _ in range(self._queue.maxsize + 1):
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=0.2)


@dataclass(frozen=True)
class _Call:
    func: Callable[..., object]
    args: tuple[object, ...]


class SerialWorker:
    """Runs submitted calls one after another in a thread, in order.

    At most ``depth`` calls wait at once (constant memory). An exception in one
    call stops the rest and is raised in the caller at the next ``submit`` or
    at ``finish``.
    """

    def __init__(self, *, depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="securemedia-io", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None:
                continue  # keep draining so the producer never blocks forever
            assert isinstance(item, _Call)
            try:
                item.func(*item.args)
            except BaseException as exc:
                self._error = exc

    def submit(self, func: Callable[..., object], *args: object) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(_Call(func, args))

    def finish(self) -> None:
        """Wait for every submitted call; raise the first error, if any."""
        if not self._finished:
            self._finished = True
            self._queue.put(_DONE)
            self._thread.join()
        if self._error is not None:
            raise self._error


class WriteBehind:
    """A ``write`` that hands data to a thread writing to ``sink`` in order.

    Data passed to ``write`` must not change afterwards (``bytes`` are copied
    from anything mutable). ``close`` waits until everything is written, flushes
    the sink and raises any write error; it does not close the sink.
    """

    def __init__(self, sink: BinaryIO, *, depth: int = 4) -> None:
        self._sink = sink
        self._worker = SerialWorker(depth=depth)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        item = data if isinstance(data, bytes) else bytes(data)
        self._worker.submit(self._sink.write, item)
        return len(item)

    def flush(self) -> None:
        """Nothing to do until ``close``: flushing mid-stream would stall the pipeline."""

    def close(self) -> None:
        self._worker.finish()
        self._sink.flush()

    def abort(self) -> None:
        """Stop after what is queued; swallow errors (the caller is failing already)."""
        with contextlib.suppress(BaseException):
            self._worker.finish()
