"""Per-frame decode timeline of one ``securemedia`` command (issue 13 profile).

Runs the CLI in this process with the zstd frame decoder and the ordered take
of its results wrapped in timers, then prints: import and run time, process and
main-thread CPU, how many frames each thread decoded and how long, how much of
the decode span had 0, 1 or 2+ decodes running, and how long the main thread
waited for results. ``TL_DUMP=file.tsv`` also writes one line per frame
(thread, start ms, end ms, bytes; times from the end of the imports).

    PYTHONPATH=src python benchmarks/unpack_timeline.py unpack A.sm -i KEY -o DIR --quiet

Profiling code only: the timers add ~1 us per frame.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time
from typing import Any

T0 = time.perf_counter()
import securemedia.archive.compression as c  # noqa: E402
from securemedia.cli.main import main  # noqa: E402

T_IMPORT = time.perf_counter()
events: list[tuple[str, float, float, int]] = []  # thread, start, end, bytes out
waits: list[tuple[float, float]] = []  # main thread inside take()
_decompress = c._decompress
_take = c._Ordered.take


def timed_decompress(frame: bytes) -> bytes:
    start = time.perf_counter()
    out = _decompress(frame)
    events.append((threading.current_thread().name, start, time.perf_counter(), len(out)))
    return out


def timed_take(self: Any) -> bytes:
    start = time.perf_counter()
    out = _take(self)
    waits.append((start, time.perf_counter()))
    return out


def report(t_end: float) -> None:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"import {T_IMPORT - T0:.3f}s  run {t_end - T_IMPORT:.3f}s  process user "
        f"{ru.ru_utime:.3f} sys {ru.ru_stime:.3f}  main-thread cpu {time.thread_time():.3f}"
    )
    if not events:
        return
    first = min(e[1] for e in events)
    last = max(e[2] for e in events)
    print(
        f"frames {len(events)}, decode span {last - first:.3f}s (first start "
        f"{first - T_IMPORT:.3f}s after import, last end {t_end - last:.3f}s before exit)"
    )
    by: dict[str, list[float]] = {}
    for name, start, end, _ in events:
        by.setdefault(name, []).append(end - start)
    for name, spans in sorted(by.items()):
        mean = 1000 * sum(spans) / len(spans)
        print(f"  {name:14s} frames {len(spans):4d} busy {sum(spans):.3f}s  mean {mean:.2f} ms")
    edges = sorted([(e[1], 1) for e in events] + [(e[2], -1) for e in events])
    running = {0: 0.0, 1: 0.0, 2: 0.0}
    now, prev = 0, first
    for t, step in edges:
        running[min(now, 2)] += t - prev
        prev, now = t, now + step
    spans = " / ".join(f"{running[k]:.3f}s" for k in (0, 1, 2))
    print(f"  span with 0/1/>=2 decodes running: {spans}")
    inline = sum(e[2] - e[1] for e in events if e[0] == "MainThread")
    waited = sum(end - start for start, end in waits)
    print(
        f"main thread in take(): {waited:.3f}s over {len(waits)} takes "
        f"(includes inline decodes: {inline:.3f}s)"
    )
    dump = os.environ.get("TL_DUMP")
    if dump:
        with open(dump, "w") as out:
            for name, start, end, size in sorted(events, key=lambda e: e[1]):
                begin_ms, end_ms = 1000 * (start - T_IMPORT), 1000 * (end - T_IMPORT)
                out.write(f"{name}\t{begin_ms:.1f}\t{end_ms:.1f}\t{size}\n")


if __name__ == "__main__":
    c._decompress = timed_decompress
    c._Ordered.take = timed_take  # type: ignore[method-assign]
    sys.argv = ["securemedia", *sys.argv[1:]]
    with contextlib.suppress(SystemExit):
        main()
    report(time.perf_counter())
