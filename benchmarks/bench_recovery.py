"""Recovery data: how much damage it survives, and how fast it protects and repairs.

Survival: one protected file per redundancy, then many trials of zeroed sectors
(what ddrescue leaves for unreadable ones): a fraction scattered at random plus
one contiguous run (a radial scratch). ``verify_file`` decides repairability
exactly (the code is MDS: any k intact blocks of a group rebuild it), and for
the default redundancy every repairable trial of the issue's case is also
repaired and compared byte for byte. Because a small test file has few groups,
the per-group failure rate is reported too, with the binomial model's
extrapolation to a 50 GB BD-DL image (~110,000 groups).

Speed: protect, verify and repair (3% + 1% damage) of one large file, as MB/s
of original data and as a ratio to a plain copy of the same file measured in
the same run (the machine is shared and noisy).

    PYTHONPATH=src python benchmarks/bench_recovery.py [--trials 200] [--speed-mb 200]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from math import comb
from pathlib import Path

from securemedia.errors import MediaError
from securemedia.media.recovery import (
    DEFAULT_REDUNDANCY,
    SECTOR,
    protect_file,
    repair_file,
    verify_file,
)
from securemedia.media.sectors import layout_for_redundancy

BD_DL_SECTORS = 24_438_784


def _damaged(prot: bytes, rng: random.Random, scattered: float, run: float) -> bytes:
    n = len(prot) // SECTOR
    buf = bytearray(prot)
    hit = rng.sample(range(n), int(n * scattered))
    length = int(n * run)
    start = rng.randrange(n - length) if length else 0
    for s in [*hit, *range(start, start + length)]:
        buf[s * SECTOR : (s + 1) * SECTOR] = bytes(SECTOR)
    return bytes(buf)


def _group_tail(m: int, p: int, q: float, burst: int) -> float:
    """P(a group of m blocks loses more than p): Binomial(m, q) plus ``burst`` from the run."""
    limit = p - burst
    return sum(comb(m, i) * q**i * (1 - q) ** (m - i) for i in range(max(0, limit + 1), m + 1))


def survival(work: Path, size: int, trials: int, redundancies: list[float]) -> None:
    data = random.Random(1).randbytes(size)
    print(f"== survival: {size / 1e6:.0f} MB file, {trials} trials per row ==")
    for red in redundancies:
        path = work / f"prot-{red}"
        path.write_bytes(data)
        protect_file(path, red)
        prot = path.read_bytes()
        lay = layout_for_redundancy(size, red)
        print(
            f"redundancy {red:.0%}: k={lay.k} data + p={lay.p} parity blocks per group, "
            f"{lay.columns} groups, overhead {(len(prot) - size) / size:.1%}"
        )
        levels = [0.03, 0.04, 0.05, 0.06, 0.07, 0.08] if red == DEFAULT_REDUNDANCY else [0.03]
        for scattered in levels:
            rng = random.Random(int(scattered * 1000) + int(red * 100))
            failed = groups_lost = checked = 0
            t0 = time.perf_counter()
            for _ in range(trials):
                damaged = _damaged(prot, rng, scattered, 0.01)
                src = work / "damaged"
                src.write_bytes(damaged)
                report = verify_file(src)
                groups_lost += report.groups_unrepairable
                if not report.repairable:
                    failed += 1
                elif red == DEFAULT_REDUNDANCY and scattered == 0.03:
                    repair_file(src, work / "repaired")
                    if (work / "repaired").read_bytes() != prot:
                        raise SystemExit("WRONG REPAIR: output differs from the original")
                    checked += 1
            burst = -(-lay.m // 100)
            model = _group_tail(lay.m, lay.p, scattered, burst)
            bd = min(1.0, model * BD_DL_SECTORS / lay.m)
            extra = f", {checked} repaired byte-identical" if checked else ""
            print(
                f"  {scattered:.0%} random + 1% run: {failed}/{trials} trials unrepairable"
                f"{extra}; groups lost {groups_lost}/{trials * lay.columns}; "
                f"model per group {model:.1e} -> 50 GB image {bd:.1e} "
                f"({time.perf_counter() - t0:.0f} s)"
            )


def _timed(fn: object, *args: object) -> float:
    t0 = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - t0


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as f:
        os.fsync(f.fileno())


def speed(work: Path, size: int) -> None:
    print(f"== speed: {size / 1e6:.0f} MB file, redundancy {DEFAULT_REDUNDANCY:.0%} ==")
    path = work / "big"
    with open(path, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))
    copy_s = _timed(_copy, path, work / "copy")
    protect_s = _timed(protect_file, path)
    copy2_s = _timed(_copy, path, work / "copy")
    verify_s = _timed(verify_file, path)
    prot = path.read_bytes()
    (work / "damaged").write_bytes(_damaged(prot, random.Random(7), 0.03, 0.01))
    del prot
    repair_s = _timed(repair_file, work / "damaged", work / "repaired")
    if not filecmp_equal(path, work / "repaired"):
        raise SystemExit("WRONG REPAIR")
    copy_mb = size / 1e6 / min(copy_s, copy2_s)
    for name, secs in (("protect", protect_s), ("verify", verify_s), ("repair 3%+1%", repair_s)):
        rate = size / 1e6 / secs
        print(f"  {name:13s} {rate:7.1f} MB/s  ({secs:.2f} s; {rate / copy_mb:.3f} x plain copy)")
    print(f"  {'plain copy':13s} {copy_mb:7.1f} MB/s  (best of two, with fsync)")


def filecmp_equal(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(2**22), fb.read(2**22)
            if x != y:
                return False
            if not x:
                return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--survival-mb", type=float, default=8)
    ap.add_argument("--speed-mb", type=int, default=200)
    ap.add_argument("--redundancies", default="0.10,0.15,0.20")
    ap.add_argument("--skip-survival", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    reds = sorted({float(x) for x in args.redundancies.split(",")} | {DEFAULT_REDUNDANCY})
    with tempfile.TemporaryDirectory(prefix="bench-recovery-", dir=os.environ.get("TMPDIR")) as d:
        work = Path(d)
        try:
            if not args.skip_survival:
                survival(work, int(args.survival_mb * 1e6), args.trials, reds)
            if not args.skip_speed:
                speed(work, args.speed_mb * 2**20)
        except MediaError as e:
            print(f"error: {e}", file=sys.stderr)
            return 4
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
