"""The compatibility ZIP against 7-Zip's own AES ZIP: ``securemedia pack
--format zip`` (deflate, level 6) against ``7zz a -tzip -mem=AES256 -p...``
(7-Zip's default deflate, -mx5) of the same registry, in the same run: time
ratio and size ratio; also the sizes of ``--no-compress`` (stored, as before
issue 11) and of the native archive, which the ZIP should fit beside on a disc.

Whole processes, start-up included. Paired rounds: each round runs both
commands in alternating order, and the time figure is the median over rounds of
that round's ratio (this machine is shared and noisy; ratios within a round
cancel most of its drift). Inputs are read from the page cache (``warm``).
Every ZIP is opened once, untimed, by real 7-Zip to check it gives the input
back. 7-Zip gets the passphrase on its command line here: a benchmark, never
what an operator should do.

    PYTHONPATH=src python benchmarks/compat_zip.py --rows 5282616 --runs 3 --work /work/bench
    PYTHONPATH=src python benchmarks/compat_zip.py --rows 3000 --runs 1 --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
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

SEVEN_ZIP_PASSPHRASE = "benchmark-only-passphrase-7zz"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench_parser(__doc__, rows=1_500_000, runs=3).parse_args(argv)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def seven_zip_restores(seven: str, zpath: Path, passphrase: str, data: Path, out: Path) -> None:
    """Open ``zpath`` with real 7-Zip (and the tar inside, for ours); exit unless
    it gives ``data`` back byte for byte."""
    out.mkdir()
    subprocess.run([seven, "x", "-y", f"-p{passphrase}", f"-o{out}", str(zpath)], check=True,
                   capture_output=True)  # fmt: skip
    inner = out / "dataset.tar"
    if inner.exists():
        subprocess.run([seven, "x", "-y", f"-o{out}", str(inner)], check=True, capture_output=True)
        inner.unlink()
    if sha256(out / data.name) != sha256(data):
        raise SystemExit(f"7-Zip did not restore the input from {zpath}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = cli_command()
    seven = require("7zz")
    args.work.mkdir(parents=True, exist_ok=True)
    data = registry_file(args.work, args.rows, args.seed)
    with tempfile.TemporaryDirectory(dir=args.work, prefix="compat-zip-") as scratch:
        tmp = Path(scratch)
        ours, theirs, phrase = tmp / "ours.zip", tmp / "7zz.zip", tmp / "ours.pass"

        def fresh_ours() -> None:
            ours.unlink(missing_ok=True)
            phrase.unlink(missing_ok=True)
            warm(data)

        def fresh_theirs() -> None:
            theirs.unlink(missing_ok=True)
            warm(data)

        pack = [*cli, "pack", "-q", str(data), "-o", str(ours), "--format", "zip",
                "--passphrase-out", str(phrase)]  # fmt: skip
        # Run beside the input, given by name: 7-Zip stores a relative path as given.
        seven_pack = [seven, "a", "-bd", "-tzip", "-mem=AES256", f"-p{SEVEN_ZIP_PASSPHRASE}",
                      str(theirs.resolve()), data.name]  # fmt: skip
        sides: dict[str, tuple[list[str], Callable[[], None], Path | None]] = {
            "securemedia": (pack, fresh_ours, None),
            "7zz": (seven_pack, fresh_theirs, data.parent),
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        ratios: list[float] = []
        for round_no in range(args.runs):
            this: dict[str, float] = {}
            for side in round_order(round_no, list(sides)):
                argv, before, cwd = sides[side]
                before()
                this[side], _ = run_timed(argv, cwd)
                times[side].append(this[side])
            ratios.append(this["securemedia"] / this["7zz"])
            log(
                f"round {round_no + 1}: securemedia {this['securemedia']:.2f} s, "
                f"7zz {this['7zz']:.2f} s, ratio {ratios[-1]:.3f}"
            )
        seven_zip_restores(seven, ours, phrase.read_text().strip(), data, tmp / "x-ours")
        seven_zip_restores(seven, theirs, SEVEN_ZIP_PASSPHRASE, data, tmp / "x-7zz")
        # Sizes only (one untimed run each): stored, and the native archive.
        stored, stored_pass, native = tmp / "stored.zip", tmp / "stored.pass", tmp / "data.sm"
        run_timed([*cli, "pack", "-q", str(data), "-o", str(stored), "--format", "zip",
                   "--no-compress", "--passphrase-out", str(stored_pass)])  # fmt: skip
        key = make_key(cli, tmp)
        run_timed([*cli, "pack", "-q", str(data), "-o", str(native), "-r", f"{key}.pub"])
        result: dict[str, Any] = {
            "rows": args.rows,
            "input_bytes": data.stat().st_size,
            "runs": args.runs,
            "median_seconds": {side: statistics.median(t) for side, t in times.items()},
            "median_time_ratio": statistics.median(ratios),
            "time_ratios": ratios,
            "zip_bytes": ours.stat().st_size,
            "seven_zip_bytes": theirs.stat().st_size,
            "stored_zip_bytes": stored.stat().st_size,
            "native_bytes": native.stat().st_size,
        }
    result["size_ratio"] = result["zip_bytes"] / result["seven_zip_bytes"]
    result["size_ratio_vs_native"] = result["zip_bytes"] / result["native_bytes"]
    result["size_ratio_vs_stored"] = result["zip_bytes"] / result["stored_zip_bytes"]
    sec = result["median_seconds"]
    print(
        f"{result['input_bytes']:,} bytes in, {args.runs} round(s):\n"
        f"  pack --format zip {sec['securemedia']:.2f} s, 7zz a -tzip -mem=AES256 "
        f"{sec['7zz']:.2f} s: median time ratio {result['median_time_ratio']:.3f}\n"
        f"  ZIP {result['zip_bytes']:,} bytes, 7zz {result['seven_zip_bytes']:,}: "
        f"size ratio {result['size_ratio']:.3f}\n"
        f"  against the native archive ({result['native_bytes']:,}): "
        f"{result['size_ratio_vs_native']:.3f}; against --no-compress "
        f"({result['stored_zip_bytes']:,}): {result['size_ratio_vs_stored']:.3f}"
    )
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
