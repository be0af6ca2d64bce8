"""Finding the volume inside a disc image whose directory tree is huge.

A finder controls every byte of a disc: here, an ISO image (made by xorriso) holding
a real securemedia volume file in its root beside ``--dirs`` empty directories.
``verify`` and ``inspect`` must find the volume without walking that tree. Runs
each command in a child process and reads its wall time and peak RSS from the
kernel (``wait4``). Target (issue 9): under 1 s and 100 MiB whatever the tree.

    python benchmarks/iso_locate.py                      # 30,000 directories
    python benchmarks/iso_locate.py --src /path/to/other/checkout/src   # before/after
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LIMIT_SECONDS = 1.0
LIMIT_MIB = 100.0


def hostile_image(work: Path, dirs: int) -> Path:
    """An ISO with one volume file in its root and ``dirs`` directories beside it."""
    from securemedia.media.volumes import VolumeSetWriter

    stage = work / "stage"
    tree = stage / "tree"
    for i in range(dirs):
        (tree / f"g{i // 1000:03d}" / f"d{i:05d}").mkdir(parents=True)
    with VolumeSetWriter(
        work / "ship.sm", 4 * 1024 * 1024, iso=False, redundancy=None, disc_capacity=None
    ) as writer:
        writer.write(os.urandom(200_000))
    os.replace(writer.paths[0], stage / "ship.sm.001.smv")
    image = work / "hostile.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-J", "-r", "-o", str(image), str(stage)],
        check=True,
        capture_output=True,
    )
    return image


def measure(src: Path, *args: str) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB, exit code) of ``securemedia ARGS`` run from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "securemedia", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=30_000)
    parser.add_argument("--src", type=Path, default=ROOT.parent / "src")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="iso-locate-") as tmp:
        image = hostile_image(Path(tmp), args.dirs)
        size = image.stat().st_size
        print(f"image: {args.dirs:,} directories, {size / 2**20:.1f} MiB; code from {args.src}")
        idle = measure(args.src, "--version")
        print(f"{'baseline (--version)':<22} {idle[0]:6.2f} s {idle[1]:7.1f} MiB")
        for command in ("verify", "inspect"):
            seconds, rss, code = measure(args.src, command, str(image))
            over = seconds >= LIMIT_SECONDS or rss >= LIMIT_MIB
            failed |= over
            print(
                f"{command + ' (exit ' + str(code) + ')':<22} {seconds:6.2f} s {rss:7.1f} MiB"
                f"   x{seconds / idle[0]:.1f} time, x{rss / idle[1]:.2f} RSS vs baseline"
                + ("   OVER THE TARGET" if over else "")
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
