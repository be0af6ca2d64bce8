"""SIGINT, SIGTERM and SIGHUP end a run the way an error does: by an exception
in the main thread, so that every ``with`` and ``finally`` on the way out runs
(staged plaintext, temporary outputs, unfinished volume sets are removed).

Python runs signal handlers in the main thread, between bytecodes. A signal
that lands while the main thread is inside a C loop of blocking calls (a
buffered read of a pipe that then waits for more data, say) would only be acted
on when that call returns, which on an idle pipe is never. A small watcher
thread, woken through :func:`signal.set_wakeup_fd`, therefore delivers the
signal again to the main thread until the handler has run: the blocked call
then fails with EINTR and the handler raises.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from ..errors import Terminated

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_REDELIVER_EVERY = 0.05  # seconds between deliveries to the main thread


def _handler(handled: threading.Event) -> Callable[[int, FrameType | None], None]:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Ignore further signals while the cleanup this exception triggers runs:
        # a second SIGTERM or Ctrl-C must not cut short the removal of staged
        # plaintext or of a half-written set. SIGKILL still stops at once.
        for each in SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        handled.set()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    return on_signal


def _watch(read_fd: int, main_thread: int, handled: threading.Event) -> None:
    # Process-directed signals go to the main thread, not to this one.
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    while data := os.read(read_fd, 64):
        wanted = [signum for signum in data if signum in SIGNALS]
        while wanted and not handled.wait(_REDELIVER_EVERY):
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pthread_kill(main_thread, wanted[0])


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGINT raises KeyboardInterrupt and SIGTERM/SIGHUP raise
    :class:`Terminated` in the main thread; the old handlers come back on leaving.
    A signal the parent set to be ignored (``nohup``, a background job) stays
    ignored. Only in the main thread (signal handlers cannot be set elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = threading.Event()  # set once the handler ran: stop re-delivering
    previous: dict[int, Any] = {}
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue
        previous[signum] = current
        signal.signal(signum, _handler(handled))
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(
        target=_watch,
        args=(read_fd, threading.get_ident(), handled),
        name="securemedia-signals",
        daemon=True,
    )
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_wakeup)
        handled.set()  # the watcher stops re-delivering
        os.close(write_fd)  # and sees end of file
        watcher.join(timeout=1)
        os.close(read_fd)
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
