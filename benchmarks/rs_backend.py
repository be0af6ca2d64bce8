"""Recovery data at the speed of the archive (issue 13): ISA-L against zfec, side by side.

Three parts, each a ratio measured in the same process or the same rounds (this
machine is shared and noisy, so only ratios within a round are compared):

* ``encode``: parity MB/s at the default 222+34 geometry on one batch of rows
  as ``rsgroups`` feeds it, zfec (as before: two halves on two threads) against
  ISA-L with zfec's matrix (4 KiB slices, two threads), plus ISA-L on one
  thread and unsliced to show what each choice buys.
* ``pack``: ``pack --media dvd --iso`` (with its read-back, and with
  ``--no-verify``) against plain ``pack`` on a registry sample, whole
  processes, for the code before ISA-L (``--before``) and now (``--rev``):
  median over rounds of each round's ratio, and every run's peak RSS.
* ``repair``: the disc image of the media pack with 3 % of its sectors zeroed
  at random plus one 1 % run, repaired by each version: wall time and peak RSS
  of ``securemedia repair``, and the rebuild (decode) step alone timed inside
  a child process of each version.

    PYTHONPATH=src python benchmarks/rs_backend.py                  # 4,200,000 rows (~300 MB)
    PYTHONPATH=src python benchmarks/rs_backend.py --rows 200000 --runs 1 --json /tmp/rs.json
    PYTHONPATH=src python benchmarks/rs_backend.py --only encode
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zfec

from harness.paired import ROOT, bench_parser, make_key, round_order, write_figures
from harness.proc import run_checked, warm
from harness.roundtrip import log, registry_file
from harness.tools import snapshot_command
from securemedia.media import rs_backend

REPO = ROOT.parent
SECTOR = 2048
K, M = 222, 256


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = bench_parser(__doc__, rows=4_200_000, runs=3)
    p.add_argument("--rev", default="HEAD", help="the code measured as 'now'")
    p.add_argument("--before", help="the code before ISA-L (default: parent of rs_backend.py)")
    p.add_argument("--only", default="encode,pack,repair", help="comma-separated parts")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- encode


def _rate(fn: Callable[[], object], nbytes: int, seconds: float = 1.0) -> float:
    """MB/s of input of ``fn``, repeated for about ``seconds`` (best of the repeats)."""
    best = float("inf")
    spent = 0.0
    while spent < seconds:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
    return nbytes / best / 1e6


def _zfec_split(blocks: list[bytes]) -> list[bytes]:
    """The pre-ISA-L encode: zfec on two halves of the rows, on two threads."""
    enc = zfec.Encoder(K, M)
    nums = tuple(range(K, M))
    half = len(blocks[0]) // 2 // SECTOR * SECTOR
    views = [memoryview(b) for b in blocks]
    with ThreadPoolExecutor(2) as pool:
        parts = list(
            pool.map(
                lambda sl: enc.encode(tuple(v[sl] for v in views), nums),
                (slice(0, half), slice(half, len(blocks[0]))),
            )
        )
    return [bytes(a) + bytes(b) for a, b in zip(parts[0], parts[1], strict=True)]


def bench_encode(runs: int) -> dict[str, Any]:
    """MB/s of message data encoded at 222+34, per way of doing it; medians over rounds."""
    columns = 8 * 2**20 // (M * SECTOR)  # one rsgroups batch (BATCH_BYTES = 8 MiB)
    row = columns * SECTOR
    rng = random.Random(1)
    blocks = [rng.randbytes(row) for _ in range(K)]
    outs = [bytearray(row) for _ in range(M - K)]
    isal = rs_backend.Codec(K, M, "isal")
    nbytes = K * row

    def isal_with(slice_bytes: int, parallel_min: int) -> Callable[[], None]:
        def run() -> None:
            saved = rs_backend.SLICE, rs_backend._PARALLEL_MIN
            rs_backend.SLICE, rs_backend._PARALLEL_MIN = slice_bytes, parallel_min
            try:
                isal.encode_into(blocks, outs)
            finally:
                rs_backend.SLICE, rs_backend._PARALLEL_MIN = saved

        return run

    ways: dict[str, Callable[[], object]] = {
        "zfec, one thread": lambda: zfec.Encoder(K, M).encode(blocks, tuple(range(K, M))),
        "zfec, two threads (before)": lambda: _zfec_split(blocks),
        "isal, 4 KiB slices, two threads (now)": isal_with(4096, 1 << 20),
        "isal, 4 KiB slices, one thread": isal_with(4096, 1 << 62),
        "isal, 2 KiB slices, two threads": isal_with(2048, 1 << 20),
        "isal, unsliced, one thread": isal_with(row, 1 << 62),
    }
    assert _zfec_split(blocks) == isal.encode(blocks), "ISA-L parity differs from zfec's"
    rates: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(runs):
        for name, fn in ways.items():
            rates[name].append(_rate(fn, nbytes, 0.5 if "zfec" in name else 1.0))
    median = {name: statistics.median(r) for name, r in rates.items()}
    base = median["zfec, two threads (before)"]
    for name, rate in median.items():
        log(f"encode 222+34, {row // 1024} KiB rows: {name}: {rate:.0f} MB/s ({rate / base:.1f}x)")
    return {"row_bytes": row, "mb_per_s": median, "speedup_vs_before": {
        name: rate / base for name, rate in median.items()
    }}  # fmt: skip


# --------------------------------------------------------------------------- processes


def _cli(rev: str, work: Path) -> list[str]:
    return snapshot_command(REPO, rev, work)


def _before_rev() -> str:
    added = subprocess.run(
        ["git", "-C", str(REPO), "log", "--diff-filter=A", "--format=%h", "--",
         "src/securemedia/media/rs_backend.py"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not added:
        raise SystemExit("cannot find the commit that added rs_backend.py: pass --before")
    return added[-1] + "^"


def _pack(cli: list[str], data: Path, key: Path, out: Path, extra: list[str]) -> tuple[float, int]:
    for old in out.parent.glob(out.name + "*"):
        old.unlink()
    argv = [*cli, "pack", str(data), "-r", f"{key}.pub", "-o", str(out), "-q", *extra]
    m = run_checked(argv)
    return m.seconds, m.max_rss_kib


def bench_pack(
    args: argparse.Namespace, versions: dict[str, list[str]], tmp: Path
) -> dict[str, Any]:
    data = registry_file(args.work, args.rows, args.seed)
    key = make_key(next(iter(versions.values())), tmp)
    variants = {
        "plain": [],
        "media": ["--media", "dvd", "--iso"],
        "media-no-verify": ["--media", "dvd", "--iso", "--no-verify"],
    }
    seconds: dict[str, list[float]] = {}
    rss: dict[str, list[int]] = {}
    ratios: dict[str, list[float]] = {}
    for version in versions:  # untimed: page cache, byte-compiling the snapshot
        _pack(versions[version], data, key, tmp / version / "ship.sm", variants["media"])
    for round_no in range(args.runs):
        order = [(v, n) for v in versions for n in variants]
        if round_no % 2:
            order.reverse()
        this: dict[str, float] = {}
        for version, name in order:
            warm(data)
            label = f"{version} {name}"
            this[label], peak = _pack(versions[version], data, key, tmp / version / "ship.sm",
                                      variants[name])  # fmt: skip
            seconds.setdefault(label, []).append(this[label])
            rss.setdefault(label, []).append(peak)
        for version in versions:
            for name in ("media", "media-no-verify"):
                ratio = this[f"{version} {name}"] / this[f"{version} plain"]
                ratios.setdefault(f"{version} {name} / plain", []).append(ratio)
        log(f"pack round {round_no + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in this.items()))
    result = {
        "input_bytes": data.stat().st_size,
        "median_seconds": {k: statistics.median(v) for k, v in seconds.items()},
        "median_ratio": {k: statistics.median(v) for k, v in ratios.items()},
        "peak_rss_mib": {k: max(v) / 1024 for k, v in rss.items()},
    }
    for k, v in result["median_ratio"].items():
        log(f"pack {k}: {v:.3f}x")
    for k, v in result["peak_rss_mib"].items():
        log(f"pack {k}: peak RSS {v:.1f} MiB")
    return result


_REBUILD = """
import sys, time
from pathlib import Path
from securemedia.media import recovery, rsgroups
path = Path(sys.argv[1])
with open(path, "rb") as f, open("/dev/null", "wb") as dst:
    lay, ctab, ptab, scan, report, why = recovery.analyse(f, path)
    t = time.perf_counter()
    rsgroups.rebuild(f, dst, lay, ctab, ptab, scan)
    print(time.perf_counter() - t)
"""


def _damage(image: Path, dest: Path) -> int:
    """Copy ``image`` with 3 % of its sectors zeroed at random and one 1 % run."""
    raw = bytearray(image.read_bytes())
    n = len(raw) // SECTOR
    rng = random.Random(13)
    run = n // 100
    start = rng.randrange(n - run)
    hit = [*rng.sample(range(n), 3 * n // 100), *range(start, start + run)]
    for s in hit:
        raw[s * SECTOR : (s + 1) * SECTOR] = bytes(SECTOR)
    dest.write_bytes(raw)
    return len(set(hit))


def bench_repair(
    args: argparse.Namespace, versions: dict[str, list[str]], tmp: Path
) -> dict[str, Any]:
    image = next((tmp / "now").glob("ship.sm.*.iso"), None)
    if image is None:
        data = registry_file(args.work, args.rows, args.seed)
        key = make_key(next(iter(versions.values())), tmp)
        _pack(versions["now"], data, key, tmp / "now" / "ship.sm", ["--media", "dvd", "--iso"])
        image = next((tmp / "now").glob("ship.sm.*.iso"))
    damaged = tmp / "damaged" / image.name
    damaged.parent.mkdir(exist_ok=True)
    zeroed = _damage(image, damaged)
    seconds: dict[str, list[float]] = {}
    rss: dict[str, list[int]] = {}
    rebuild: dict[str, list[float]] = {}
    for round_no in range(args.runs):
        order = round_order(round_no, list(versions))
        for version in order:
            out = tmp / f"repaired-{version}"
            out.mkdir(exist_ok=True)
            (out / image.name).unlink(missing_ok=True)
            warm(damaged)
            m = run_checked([*versions[version], "repair", str(damaged), "-o", str(out)])
            seconds.setdefault(version, []).append(m.seconds)
            rss.setdefault(version, []).append(m.max_rss_kib)
            if (out / image.name).read_bytes() != image.read_bytes():
                raise SystemExit(f"{version}: repair did not give the original image back")
            src = Path(versions[version][-1]).parent / "src"
            env = {**os.environ, "PYTHONPATH": str(src)}
            done = subprocess.run([sys.executable, "-c", _REBUILD, str(damaged)], env=env,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            rebuild.setdefault(version, []).append(float(done.stdout))
        log(
            f"repair round {round_no + 1}: "
            + ", ".join(
                f"{v} {seconds[v][-1]:.2f} s (rebuild {rebuild[v][-1]:.2f} s)" for v in order
            )
        )
    result = {
        "image_bytes": image.stat().st_size,
        "sectors_zeroed": zeroed,
        "median_seconds": {k: statistics.median(v) for k, v in seconds.items()},
        "median_rebuild_seconds": {k: statistics.median(v) for k, v in rebuild.items()},
        "peak_rss_mib": {k: max(v) / 1024 for k, v in rss.items()},
    }
    med = result["median_rebuild_seconds"]
    if "before" in med and "now" in med:
        result["rebuild_now_over_before"] = med["now"] / med["before"]
        log(f"repair: rebuild now/before {result['rebuild_now_over_before']:.3f}")
    for k, v in result["peak_rss_mib"].items():
        log(f"repair {k}: peak RSS {v:.1f} MiB, median {result['median_seconds'][k]:.2f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = set(args.only.split(","))
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"rows": args.rows, "runs": args.runs}
    if "encode" in parts:
        result["encode"] = bench_encode(args.runs)
    if parts & {"pack", "repair"}:
        versions = {
            "before": _cli(args.before or _before_rev(), args.work),
            "now": _cli(args.rev, args.work),
        }
        with tempfile.TemporaryDirectory(dir=args.work, prefix="rs-") as scratch:
            tmp = Path(scratch)
            for v in versions:
                (tmp / v).mkdir()
            if "pack" in parts:
                result["pack"] = bench_pack(args, versions, tmp)
            if "repair" in parts:
                result["repair"] = bench_repair(args, versions, tmp)
    print(json.dumps(result, indent=2))
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
