"""Heal on the fly: what reading a set through its recovery data costs.

One set of protected volume files (15 % recovery data) is read three ways, each
time as one archive stream, and timed as a ratio to the first, measured in the
same run (the machine is shared and noisy):

* ``plain``: the payloads copied straight from the files (what reading did
  before healing: no sector checked);
* ``healing, intact``: ``open_volume_set`` (every sector checked against its
  CRC32C, nothing to rebuild);
* ``healing, damaged``: the same after zeroing 3 % scattered sectors plus one
  1 % run in every volume (rebuilt in memory, byte-identical).

    PYTHONPATH=src python benchmarks/bench_heal.py [--mb 96] [--medium 40MB]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from securemedia.media.header import HEADER_SIZE
from securemedia.media.plan import volume_capacity
from securemedia.media.sizes import SECTOR, parse_medium
from securemedia.media.volume_set import open_volume_set, read_volume_info
from securemedia.media.volumes import VolumeSetWriter


def _plain(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        info = read_volume_info(path)
        with path.open("rb") as fp:
            fp.seek(HEADER_SIZE)
            left = info.header.payload_length
            while left:
                got = len(fp.read(min(left, 2**20)))
                total += got
                left -= got
    return total


def _healing(paths: list[Path]) -> tuple[int, list[str]]:
    total = 0
    with open_volume_set(paths) as stream:
        while chunk := stream.read(2**20):
            total += len(chunk)
        return total, stream.report.lines()


def _damage(path: Path, rng: random.Random) -> None:
    sectors = path.stat().st_size // SECTOR
    hit = rng.sample(range(1, sectors), sectors * 3 // 100)
    start = rng.randrange(1, sectors - sectors // 100)
    with path.open("r+b") as fp:
        for s in [*hit, *range(start, start + sectors // 100)]:
            fp.seek(s * SECTOR)
            fp.write(bytes(SECTOR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=96, help="archive size in MB")
    parser.add_argument("--medium", default="40MB")
    args = parser.parse_args()
    medium = parse_medium(args.medium)
    with tempfile.TemporaryDirectory(prefix="bench-heal-") as tmp:
        base = Path(tmp) / "ship.sm"
        capacity = volume_capacity(medium, iso=False, redundancy=0.15, base_name=base.name)
        data = os.urandom(args.mb * 10**6)
        with VolumeSetWriter(base, capacity, redundancy=0.15) as writer:
            writer.write(data)
        paths = writer.paths
        del data
        _plain(paths)  # warm the page cache for every run alike
        t0 = time.perf_counter()
        size = _plain(paths)
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert _healing(paths)[0] == size
        intact = time.perf_counter() - t0
        rng = random.Random(1)
        for path in paths:
            _damage(path, rng)
        t0 = time.perf_counter()
        got, lines = _healing(paths)
        damaged = time.perf_counter() - t0
        assert got == size
        mb = size / 1e6
        print(f"{len(paths)} volumes, {mb:.0f} MB of archive")
        print(f"plain            {plain:7.2f} s  {mb / plain:8.0f} MB/s  1.00x")
        print(f"healing, intact  {intact:7.2f} s  {mb / intact:8.0f} MB/s  {intact / plain:.2f}x")
        print(
            f"healing, damaged {damaged:7.2f} s  {mb / damaged:8.0f} MB/s  {damaged / plain:.2f}x"
        )
        for line in lines:
            print("  " + line)


if __name__ == "__main__":
    main()
