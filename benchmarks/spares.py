"""What spare discs cost: ``pack --media M --iso`` with and without ``--spare-discs N``
on the same registry, in the same run, and how long ``repair`` takes to rebuild one
lost disc.

Round-robin: each round runs both packs in alternating order; the figure is the
median over rounds of that round's time ratio (the machine is shared and noisy;
ratios within a round cancel most of its drift). Sizes are exact: the bytes of
all disc files of each set. The rebuild is timed on the last round's set with
data disc 1 removed (``repair SURVIVORS -o DIR``, which also repairs-copies the
survivors, as an operator runs it).

    PYTHONPATH=src python benchmarks/spares.py                      # 1e6 rows on 20MB discs
    PYTHONPATH=src python benchmarks/spares.py --media cd --spare-discs 1 --rows 5282616
    PYTHONPATH=src python benchmarks/spares.py --rows 20000 --media 1MB --runs 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.proc import warm
from harness.roundtrip import log, registry_file
from harness.tools import securemedia_command

ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="registry rows (default 1e6)")
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--media", default="20MB", help="medium (default 20MB)")
    p.add_argument("--spare-discs", type=int, default=1, help="spares (default 1)")
    p.add_argument("--work", type=Path, default=ROOT / "work", help="scratch directory")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def run(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return elapsed


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = securemedia_command(None)
    if not cli:
        raise SystemExit("the securemedia console script is not installed")
    args.work.mkdir(parents=True, exist_ok=True)
    data = registry_file(args.work, args.rows, args.seed)
    with tempfile.TemporaryDirectory(dir=args.work, prefix="spares-") as scratch:
        tmp = Path(scratch)
        key = tmp / "key"
        subprocess.run(
            [*cli, "keygen", "--no-passphrase", "--classic", "-o", str(key)],
            capture_output=True,
            check=True,
        )
        base = [*cli, "pack", str(data), "-r", f"{key}.pub", "-o", "ship.sm", "-q"]
        base += ["--media", args.media, "--iso"]
        spares = f"spares-{args.spare_discs}"
        variants = {"plain": base, spares: [*base, "--spare-discs", str(args.spare_discs)]}
        times: dict[str, list[float]] = {name: [] for name in variants}
        ratios: list[float] = []
        run(variants[spares], fresh(tmp / "warm-up"))  # untimed: page cache, imports
        for round_no in range(args.runs):
            order = list(variants) if round_no % 2 == 0 else list(variants)[::-1]
            this: dict[str, float] = {}
            for name in order:
                warm(data)
                this[name] = run(variants[name], fresh(tmp / name))
                times[name].append(this[name])
            ratios.append(this[spares] / this["plain"])
            log(
                f"round {round_no + 1}: plain {this['plain']:.2f} s, "
                f"{spares} {this[spares]:.2f} s, ratio {ratios[-1]:.3f}"
            )
        sets = {name: sorted((tmp / name).glob("ship.sm.*.iso")) for name in variants}
        survivors = sets[spares][1:]
        rebuild = run([*cli, "repair", *map(str, survivors), "-o", "out"], tmp)
        rebuilt = tmp / "out" / sets[spares][0].name
        if not rebuilt.is_file():
            raise SystemExit("repair did not rebuild the lost disc")
        counts = {name: len(paths) for name, paths in sets.items()}
        sizes = {name: sum(p.stat().st_size for p in paths) for name, paths in sets.items()}
    result: dict[str, Any] = {
        "rows": args.rows,
        "input_bytes": data.stat().st_size,
        "media": args.media,
        "spare_discs": args.spare_discs,
        "runs": args.runs,
        "discs": counts,
        "disc_bytes": sizes,
        "median_seconds": {name: statistics.median(t) for name, t in times.items()},
        "median_ratio_spares_to_plain": statistics.median(ratios),
        "rebuild_one_disc_seconds": rebuild,
    }
    size_ratio = result["disc_bytes"][spares] / result["disc_bytes"]["plain"]
    result["size_ratio_spares_to_plain"] = size_ratio
    median = result["median_seconds"]
    print(
        f"pack --media {args.media} --iso, {result['input_bytes']:,} bytes in: "
        f"{result['discs']['plain']} discs in {median['plain']:.2f} s; with "
        f"--spare-discs {args.spare_discs}: {result['discs'][spares]} discs in "
        f"{median[spares]:.2f} s; median time ratio "
        f"{result['median_ratio_spares_to_plain']:.3f} over {args.runs} round(s), "
        f"size ratio {size_ratio:.3f}; repair rebuilding disc 1 from the others: "
        f"{rebuild:.2f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
