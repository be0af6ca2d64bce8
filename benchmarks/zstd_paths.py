"""The compressed paths against zstd itself: ``securemedia unpack`` of a
compressed archive against ``zstd -d`` of the same content (written with
``zstd -3``), and ``securemedia pack`` against ``zstd -3 -T2``, on the same
registry, in the same run; and the archive's size against zstd's.

Targets (issue 13): unpack <= 1.0x ``zstd -d``; pack <= 1.05x ``zstd -3 -T2``
at <= 1.01x its bytes. Whole processes, start-up included. Paired rounds: each
round runs both sides of a pair, in alternating order, and a figure is the
median over rounds of that round's time ratio (this machine is shared and
noisy; ratios within a round cancel most of its drift). Outputs go to the
page cache, as the inputs do (``warm``), so neither side waits on a disk.
securemedia runs from compiled bytecode, as an installed copy does: the
environment may say PYTHONDONTWRITEBYTECODE, which would add compiling 40
modules (about 0.09 s) to every run; the bytecode goes to a cache under --work.

    PYTHONPATH=src python benchmarks/zstd_paths.py                # 1,500,000 rows, 5 rounds
    PYTHONPATH=src python benchmarks/zstd_paths.py --rows 20000 --runs 1 --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.paired import (
    bench_parser,
    cli_command,
    make_key,
    round_order,
    run_timed,
    write_figures,
)
from harness.proc import warm
from harness.roundtrip import log, registry_file
from harness.tools import require


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench_parser(__doc__, rows=1_500_000, runs=5).parse_args(argv)


ENV = dict(os.environ)


def timed(argv: list[str], before: Callable[[], None]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, every thread) of one whole process
    (``before`` runs first, untimed). CPU time is what a busy machine cannot blur."""
    before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed, _ = run_timed(argv, env=ENV)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    return elapsed, cpu


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def paired(
    name: str,
    ours: tuple[list[str], Callable[[], None]],
    theirs: tuple[list[str], Callable[[], None]],
    runs: int,
) -> dict[str, Any]:
    """``runs`` rounds of both commands, in alternating order; per-round ratios."""
    times: dict[str, list[float]] = {"securemedia": [], "zstd": []}
    cpus: dict[str, list[float]] = {"securemedia": [], "zstd": []}
    ratios: list[float] = []
    sides = {"securemedia": ours, "zstd": theirs}
    for round_no in range(runs):
        this = {side: timed(*sides[side]) for side in round_order(round_no, list(sides))}
        for side, (seconds, cpu) in this.items():
            times[side].append(seconds)
            cpus[side].append(cpu)
        ratios.append(this["securemedia"][0] / this["zstd"][0])
        log(
            f"{name} round {round_no + 1}: securemedia {this['securemedia'][0]:.3f} s "
            f"(cpu {this['securemedia'][1]:.3f}), zstd {this['zstd'][0]:.3f} s "
            f"(cpu {this['zstd'][1]:.3f}), ratio {ratios[-1]:.3f}"
        )
    return {
        "median_seconds": {side: statistics.median(t) for side, t in times.items()},
        "median_cpu_seconds": {side: statistics.median(t) for side, t in cpus.items()},
        "median_ratio": statistics.median(ratios),
        "ratios": ratios,
    }


def summary(pair: dict[str, Any], side: str = "securemedia") -> str:
    wall, cpu = pair["median_seconds"][side], pair["median_cpu_seconds"][side]
    return f"{wall:.3f} s (cpu {cpu:.3f} s)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = cli_command()
    zstd = require("zstd")
    args.work.mkdir(parents=True, exist_ok=True)
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str((args.work / "pycache").resolve())
    data = registry_file(args.work, args.rows, args.seed)
    with tempfile.TemporaryDirectory(dir=args.work, prefix="zstd-paths-") as scratch:
        tmp = Path(scratch)
        key = make_key(cli, tmp)
        archive, packed_zst = tmp / "data.sm", tmp / "data.zst"
        single_zst, restored_csv, out_dir = tmp / "single.zst", tmp / "restored.csv", tmp / "out"

        def fresh_pack() -> None:
            archive.unlink(missing_ok=True)
            warm(data)

        def fresh_zstd_pack() -> None:
            packed_zst.unlink(missing_ok=True)
            warm(data)

        pack = [*cli, "pack", str(data), "-r", f"{key}.pub", "-o", str(archive), "-q"]
        zstd_pack = [zstd, "-3", "-T2", "-q", "-f", str(data), "-o", str(packed_zst)]
        # Untimed warm-up (imports, page cache), and the files unpack reads.
        timed(pack, fresh_pack)
        timed([zstd, "-3", "-q", "-f", str(data), "-o", str(single_zst)], lambda: None)

        def fresh_unpack() -> None:
            shutil.rmtree(out_dir, ignore_errors=True)
            warm(archive)

        def fresh_zstd_d() -> None:
            restored_csv.unlink(missing_ok=True)
            warm(single_zst)

        unpack = [*cli, "unpack", "-q", "-i", str(key), "-o", str(out_dir), str(archive)]
        zstd_d = [zstd, "-d", "-q", "-f", str(single_zst), "-o", str(restored_csv)]
        timed(unpack, fresh_unpack)
        same = sha256(out_dir / data.name) == sha256(data)
        if not same:
            raise SystemExit("unpack did not restore the input")
        result: dict[str, Any] = {
            "rows": args.rows,
            "input_bytes": data.stat().st_size,
            "runs": args.runs,
            "unpack_vs_zstd_d": paired(
                "unpack", (unpack, fresh_unpack), (zstd_d, fresh_zstd_d), args.runs
            ),
            "pack_vs_zstd_3_T2": paired(
                "pack", (pack, fresh_pack), (zstd_pack, fresh_zstd_pack), args.runs
            ),
        }
        result["archive_bytes"] = archive.stat().st_size
        result["zstd_3_T2_bytes"] = packed_zst.stat().st_size
        result["zstd_3_bytes"] = single_zst.stat().st_size
        result["size_ratio"] = result["archive_bytes"] / result["zstd_3_T2_bytes"]
    unpacked, packed = result["unpack_vs_zstd_d"], result["pack_vs_zstd_3_T2"]
    print(
        f"{result['input_bytes']:,} bytes in, {args.runs} round(s):\n"
        f"  unpack {summary(unpacked)}, zstd -d {summary(unpacked, 'zstd')}: "
        f"median ratio {unpacked['median_ratio']:.3f} (target <= 1.0)\n"
        f"  pack {summary(packed)}, zstd -3 -T2 {summary(packed, 'zstd')}: "
        f"median ratio {packed['median_ratio']:.3f} (target <= 1.05)\n"
        f"  archive {result['archive_bytes']:,} bytes, zstd -3 -T2 "
        f"{result['zstd_3_T2_bytes']:,}: size ratio {result['size_ratio']:.4f} "
        f"(target <= 1.01)"
    )
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
