"""Peak memory of the core CLI (pack and unpack) as the input grows 10x.

Generates 100 MB and 1 GB inputs in a scratch directory (a 64 MiB random block
repeated: cheap to make, incompressible to zstd's window), packs each with
``--no-compress`` and with the default zstd, unpacks each archive, and prints
every child's peak RSS as the kernel reports it (``os.wait4`` ru_maxrss) and
the ratio of the 1 GB peak to the 100 MB peak. Exits 1 if a ratio exceeds
``--max-ratio``; a failing command stops the run with its message.

Flat streaming code gives a ratio near 1.0. Memory that grows with the input,
even slowly, shows at once: with a 50 MiB base, leaking 1 % of the input gives
(50 + 10) MiB at 100 MB and (50 + 100) MiB at 1 GB, a ratio of 2.5. The default
limit, 1.5, leaves room for warm-up: multi-threaded zstd fills its job buffers
over the first few hundred MB, so zstd pack reads ~125 MiB at 100 MB and
plateaus near 160 MiB (2 threads) from 1 GB on (3 GB gives the same peak).

    python benchmarks/memory_core.py
    python benchmarks/memory_core.py --sizes 10 100 --work /var/tmp/smbench
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1000 * 1000
BLOCK = 64 * 1024 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes", type=int, nargs=2, default=[100, 1000], metavar=("SMALL", "LARGE"), help="MB"
    )
    p.add_argument("--work", type=Path, help="scratch directory (default: a new temp dir)")
    p.add_argument("--max-ratio", type=float, default=1.5, help="allowed large/small peak ratio")
    p.add_argument("--no-check", action="store_true", help="skip comparing unpacked output")
    return p.parse_args(argv)


def securemedia() -> list[str]:
    beside = Path(sys.executable).parent / "securemedia"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("securemedia")
    return (
        [found]
        if found
        else [sys.executable, "-c", "from securemedia.cli.main import main; main()"]
    )


_GENERATE = """
import os, sys
size, block = int(sys.argv[2]), os.urandom(int(sys.argv[3]))
with open(sys.argv[1], "wb") as out:
    while size:
        n = min(size, len(block))
        out.write(block[:n])
        size -= n
"""


def generate(path: Path, size: int) -> None:
    """Write ``size`` bytes to ``path`` in a child process, so this process stays
    small: a child's ru_maxrss starts from its parent's RSS at fork/exec."""
    subprocess.run([sys.executable, "-c", _GENERATE, str(path), str(size), str(BLOCK)], check=True)


def run(args: list[str], cwd: Path) -> tuple[int, float]:
    """Run a child, return (peak RSS in KiB, seconds). Raises on failure."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*securemedia(), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()  # small: -q; read before waiting so it cannot block
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        message = stderr.decode(errors="replace")
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n{message}")
    return usage.ru_maxrss, elapsed


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    work = opts.work or Path(tempfile.mkdtemp(prefix="securemedia-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    created = opts.work is None
    try:
        run(["keygen", "-o", "key", "--no-passphrase", "--force"], work)
        peaks: dict[tuple[str, str, int], int] = {}
        print(f"{'input':>8} {'mode':<12} {'op':<7} {'peak RSS':>10} {'time':>8}")
        for size_mb in opts.sizes:
            source = work / f"input-{size_mb}MB.bin"
            generate(source, size_mb * MB)
            for mode, extra in (("no-compress", ["--no-compress"]), ("zstd", [])):
                archive = work / "out.sm"
                dest = work / "unpacked"
                archive.unlink(missing_ok=True)
                shutil.rmtree(dest, ignore_errors=True)
                pack = ["pack", source.name, "-o", archive.name, "-r", "key.pub", "-q", *extra]
                unpack = ["unpack", archive.name, "-i", "key", "-o", dest.name, "-q"]
                for op, args in (("pack", pack), ("unpack", unpack)):
                    rss, secs = run(args, work)
                    peaks[(mode, op, size_mb)] = rss
                    print(
                        f"{size_mb:>6}MB {mode:<12} {op:<7} {rss / 1024:>7.1f} MiB {secs:>7.1f}s",
                        flush=True,
                    )
                if not opts.no_check and not filecmp.cmp(source, dest / source.name, shallow=False):
                    raise SystemExit(f"unpacked output differs from {source}")
                archive.unlink()
                shutil.rmtree(dest)
            source.unlink()
    finally:
        if created:
            shutil.rmtree(work, ignore_errors=True)

    small, large = opts.sizes
    worst = 0.0
    print(f"\npeak RSS ratio {large} MB / {small} MB:")
    for mode in ("no-compress", "zstd"):
        for op in ("pack", "unpack"):
            ratio = peaks[(mode, op, large)] / peaks[(mode, op, small)]
            worst = max(worst, ratio)
            print(f"  {mode:<12} {op:<7} {ratio:.3f}")
    if worst > opts.max_ratio:
        print(f"FAIL: peak memory grows with the input (ratio {worst:.3f} > {opts.max_ratio})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
