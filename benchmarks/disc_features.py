"""What each disc feature costs, in time and bytes, against the same pack without it.

For one medium (``--media cd``, ``dvd``, ...) and the synthetic registry:

* **spare discs** (``--spare-discs N``): ``pack --media M --iso`` with and without
  them, round-robin; the extra discs and bytes (and their ratio);
* **salvage copies** and **the specifications on every disc**: bytes per disc
  (they are always written: read from the volume headers and the images' file
  lists);
* **heal on the fly**: ``unpack`` of a damaged set (a scratch of 1 % of the first
  image's sectors plus 2 % scattered) against the intact set;
* **a lost disc**: ``unpack`` with the first data disc missing (rebuilt from the
  spares) against the intact set, and ``repair -o`` rebuilding its image (checked
  to be there), as an operator runs it;
* **salvage**: ``unpack --salvage`` of the intact set against ``unpack``.

Each timed pair runs in alternating order in every round and the figure is the
median over rounds of the per-round ratio (the machine is shared and noisy).

    PYTHONPATH=src python benchmarks/disc_features.py --media cd --spare-discs 1
    PYTHONPATH=src python benchmarks/disc_features.py --media dvd --runs 3 --json out.json
    PYTHONPATH=src python benchmarks/disc_features.py --rows 30000 --media 10MB --runs 1
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.paired import (
    bench_parser,
    cli_command,
    fresh,
    make_key,
    paired,
    run_timed,
    write_figures,
)
from harness.proc import warm
from harness.roundtrip import digest, log, registry_file

SECTOR = 2048


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = bench_parser(__doc__, rows=5_282_616, runs=3)
    p.add_argument("--media", default="cd", help="medium (default cd)")
    p.add_argument("--spare-discs", type=int, default=1, help="spares to measure (default 1)")
    return p.parse_args(argv)


def run(argv: list[str], cwd: Path, *, ok: tuple[int, ...] = (0,)) -> float:
    """Wall time of one command (start-up included); fails unless its exit code is in ``ok``."""
    return run_timed(argv, cwd, ok=ok)[0]


def images(directory: Path) -> list[Path]:
    return sorted(directory.glob("ship.sm.*.iso"))


def damage(image: Path, seed: int) -> int:
    """Zero a scratch of 1 % of the image's sectors and 2 % more at random; returns the count."""
    sectors = image.stat().st_size // SECTOR
    rng = random.Random(seed)
    run_len = max(1, sectors // 100)
    start = rng.randrange(32, max(33, sectors - run_len))
    hit = set(range(start, start + run_len))
    hit |= set(rng.sample(range(32, sectors), max(1, sectors // 50)))
    with image.open("r+b") as f:
        for s in sorted(hit):
            f.seek(s * SECTOR)
            f.write(bytes(SECTOR))
    return len(hit)


def disc_extras(image: Path) -> dict[str, int]:
    """Bytes of the salvage copy (volume header) and of the spec files (image's file list)."""
    from securemedia.media.volume_set import read_volume_info

    info = read_volume_info(image)
    listing = subprocess.run(
        ["xorriso", "-indev", str(image), "-lsl", "/"], capture_output=True, text=True, check=False
    ).stdout
    spec_bytes = 0
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[-1].strip("'") in ("FORMAT.TXT", "MEDIA.TXT"):
            spec_bytes += int(parts[4])
    return {"salvage_copy_bytes": info.header.copy_length, "spec_bytes": spec_bytes}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = cli_command()
    if shutil.which("xorriso") is None:
        raise SystemExit("xorriso is needed (apt-get install xorriso)")
    args.work.mkdir(parents=True, exist_ok=True)
    data = registry_file(args.work, args.rows, args.seed)
    want = digest(data)
    result: dict[str, Any] = {
        "rows": args.rows,
        "input_bytes": data.stat().st_size,
        "media": args.media,
        "spare_discs": args.spare_discs,
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory(dir=args.work, prefix="discs-") as scratch:
        tmp = Path(scratch)
        key = make_key(cli, tmp)
        pack = [*cli, "pack", str(data), "-r", f"{key}.pub", "-o", "ship.sm", "-q"]
        pack += ["--media", args.media, "--iso"]
        spares = [*pack, "--spare-discs", str(args.spare_discs)]

        def pack_into(argv: list[str], name: str) -> Callable[[], float]:
            def go() -> float:
                warm(data)
                return run(argv, fresh(tmp / name))

            return go

        log("packing (untimed warm-up) ...")
        pack_into(pack, "plain")()
        plain_s, spare_s, ratio = paired(
            args.runs, pack_into(pack, "plain"), pack_into(spares, "spares")
        )
        plain_imgs, spare_imgs = images(tmp / "plain"), images(tmp / "spares")
        result["pack"] = {
            "plain_seconds": plain_s,
            "spares_seconds": spare_s,
            "ratio": ratio,
            "plain_discs": len(plain_imgs),
            "spares_discs": len(spare_imgs),
            "plain_bytes": sum(p.stat().st_size for p in plain_imgs),
            "spares_bytes": sum(p.stat().st_size for p in spare_imgs),
        }
        result["pack"]["size_ratio"] = (
            result["pack"]["spares_bytes"] / result["pack"]["plain_bytes"]
        )
        result["per_disc"] = disc_extras(plain_imgs[0])
        result["per_disc"]["image_bytes"] = plain_imgs[0].stat().st_size
        log(f"pack: {json.dumps(result['pack'])}; per disc {json.dumps(result['per_disc'])}")

        def unpack_from(files: list[Path], *extra: str, ok: tuple[int, ...] = (0,)) -> float:
            out = tmp / "out"
            shutil.rmtree(out, ignore_errors=True)
            argv = [*cli, "unpack", "-q", "-i", str(key), *map(str, files), "-o", str(out), *extra]
            elapsed = run(argv, tmp, ok=ok)
            if digest(out) != want:
                raise SystemExit("unpack gave different bytes")
            return elapsed

        intact = spare_imgs
        damaged_dir = fresh(tmp / "damaged")
        damaged = [Path(shutil.copy2(p, damaged_dir / p.name)) for p in intact]
        hit = damage(damaged[0], args.seed)
        a, b, r = paired(args.runs, lambda: unpack_from(intact), lambda: unpack_from(damaged))
        result["heal"] = {"sectors_zeroed": hit, "intact_s": a, "damaged_s": b, "ratio": r}
        log(f"heal: {json.dumps(result['heal'])}")

        if args.spare_discs:
            lost = intact[1:]
            a, b, r = paired(args.runs, lambda: unpack_from(intact), lambda: unpack_from(lost))
            result["lost_disc"] = {"intact_s": a, "missing_first_s": b, "ratio": r}
            rebuilt = fresh(tmp / "rebuilt")
            result["lost_disc"]["repair_rebuild_s"] = run(
                [*cli, "repair", *map(str, lost), "-o", str(rebuilt)], tmp
            )
            if not (rebuilt / intact[0].name).is_file():
                raise SystemExit("repair did not rebuild the lost disc")
            log(f"lost disc: {json.dumps(result['lost_disc'])}")

        a, b, r = paired(
            args.runs, lambda: unpack_from(intact), lambda: unpack_from(intact, "--salvage")
        )
        result["salvage"] = {"unpack_s": a, "salvage_s": b, "ratio": r}
        log(f"salvage: {json.dumps(result['salvage'])}")
    print(json.dumps(result, indent=2))
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
