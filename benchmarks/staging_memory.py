"""Peak memory of extraction staging must not grow with the member count (issue #9).

Stages COUNT one-byte files (spread over 100 directories, as an archive lists
them: directory by directory) through ``securemedia.archive.staging.Staging``
exactly as ``unpack`` does (anonymous file, metadata on the descriptor, named
when finished), commits them into a fresh destination, and reports each run's
peak RSS from the kernel (``wait4``), one child process per count. Archive
reading is left out: ``memory.py`` measures whole unpacks.

    python benchmarks/staging_memory.py                          # 10,000 and 100,000
    python benchmarks/staging_memory.py --counts 1000000 --work /var/tmp/sm
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DIRS = 100


def stage(count: int, dest: Path) -> None:
    """The child: stage ``count`` files into ``dest`` and commit."""
    from securemedia.archive.staging import Staging

    with Staging(dest, list_paths=False) as staging:
        for d in range(DIRS):
            staging.add_dir(f"data/d{d:03d}")
            staging.set_metadata(f"data/d{d:03d}", mtime_ns=0, mode=0o755)
        for i in range(count):
            name = f"data/d{i * DIRS // count:03d}/m{i:07d}"
            with staging.open_file(name, 1, mode=0o644, mtime_ns=0) as out:
                out.write(b"x")
        staging.commit()


def measure(count: int, work: Path) -> tuple[float, float]:
    """Run one child; returns (seconds, peak RSS in MiB)."""
    dest = work / f"dest-{count}"
    shutil.rmtree(dest, ignore_errors=True)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            stage(count, dest)
        except BaseException as exc:
            print(f"staging {count} files failed: {exc}", file=sys.stderr)
            code = 1
        os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.monotonic() - started
    shutil.rmtree(dest, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(2)
    return elapsed, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default="10000,100000", help="comma-separated member counts")
    p.add_argument("--work", type=Path, default=ROOT / "work", help="scratch directory")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    for count in (int(c) for c in args.counts.split(",")):
        seconds, peak = measure(count, args.work)
        print(f"{count:>9,} files  {seconds:7.1f} s  peak RSS {peak:6.1f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
