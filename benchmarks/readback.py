"""What ``pack --media``'s read-back costs: ``pack --media dvd --iso`` with and
without ``--no-verify``, on the same registry, in the same run.

The read-back opens the finished images from disk as ``unpack`` would and
authenticates every byte with the file key the writer still holds (header MAC,
every chunk, index, signature, every member's BLAKE3 digest), before the set
gets its names. Round-robin: each round runs both, in alternating order, and
the figure is the median over rounds of that round's time ratio (this machine
is shared and noisy; ratios within a round cancel most of its drift). ``pack
--json`` also reports how long the read-back itself took
(``read_back_seconds``), which is not blurred by the noise of a whole run.

    PYTHONPATH=src python benchmarks/readback.py                # 1,000,000 rows, 5 rounds
    PYTHONPATH=src python benchmarks/readback.py --rows 20000 --runs 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.paired import (
    bench_parser,
    cli_command,
    fresh,
    make_key,
    round_order,
    run_timed,
    write_figures,
)
from harness.proc import warm
from harness.roundtrip import log, registry_file


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = bench_parser(__doc__, rows=1_000_000, runs=5)
    p.add_argument("--media", default="dvd", help="medium (default dvd)")
    return p.parse_args(argv)


def timed(argv: list[str], out: Path) -> tuple[float, dict[str, Any]]:
    """Wall time of one pack into an empty ``out``, start-up included, and its --json."""
    elapsed, done = run_timed(argv, fresh(out))
    report: dict[str, Any] = json.loads(done.stdout)
    return elapsed, report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = cli_command()
    args.work.mkdir(parents=True, exist_ok=True)
    data = registry_file(args.work, args.rows, args.seed)
    with tempfile.TemporaryDirectory(dir=args.work, prefix="readback-") as scratch:
        tmp = Path(scratch)
        key = make_key(cli, tmp)
        base = [*cli, "pack", str(data), "-r", f"{key}.pub", "-o", "ship.sm", "-q", "--json"]
        base += ["--media", args.media, "--iso"]
        variants = {"verify": base, "no-verify": [*base, "--no-verify"]}
        times: dict[str, list[float]] = {name: [] for name in variants}
        ratios: list[float] = []
        inside: list[float] = []  # the read-back alone, as pack times it
        timed(variants["verify"], tmp / "warm-up")  # untimed: page cache, imports
        for round_no in range(args.runs):
            this: dict[str, float] = {}
            for name in round_order(round_no, list(variants)):
                warm(data)
                this[name], report = timed(variants[name], tmp / name)
                times[name].append(this[name])
                if report["read_back_seconds"] is not None:
                    inside.append(report["read_back_seconds"])
            ratios.append(this["verify"] / this["no-verify"])
            log(
                f"round {round_no + 1}: verify {this['verify']:.2f} s, "
                f"no-verify {this['no-verify']:.2f} s, ratio {ratios[-1]:.3f}, "
                f"read-back alone {inside[-1]:.2f} s"
            )
        image_bytes = sum(p.stat().st_size for p in (tmp / "verify").glob("ship.sm.*.iso"))
    result = {
        "rows": args.rows,
        "input_bytes": data.stat().st_size,
        "image_bytes": image_bytes,
        "media": args.media,
        "runs": args.runs,
        "median_seconds": {name: statistics.median(t) for name, t in times.items()},
        "median_ratio_verify_to_no_verify": statistics.median(ratios),
        "median_read_back_seconds": statistics.median(inside),
    }
    median = result["median_seconds"]
    print(
        f"pack --media {args.media} --iso, {result['input_bytes']:,} bytes in: "
        f"{median['verify']:.2f} s with the read-back, {median['no-verify']:.2f} s "
        f"with --no-verify; median ratio {result['median_ratio_verify_to_no_verify']:.3f} "
        f"over {args.runs} round(s); the read-back alone (timed by pack) "
        f"{result['median_read_back_seconds']:.2f} s"
    )
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
