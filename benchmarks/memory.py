"""Peak memory of securemedia pack/unpack must not grow with the input (issue #6).

Packs and unpacks the registry (1x) and the registry concatenated four times
(4x), with and without compression, and reads each process's peak RSS from the
kernel (``wait4``). Streaming code has a flat peak: the 4x peak may exceed the
1x peak by at most ``--tolerance`` (10 %), and no peak may reach ``--limit``
(100 MiB). Exits 1 if either fails, 2 if a command fails.

    python benchmarks/memory.py              # full registry: 1x ~380 MB, 4x ~1.5 GB
    python benchmarks/memory.py --rows 500000
    python benchmarks/memory.py --json benchmarks/results/memory.json   # as published
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import registry
from harness import machine
from harness.proc import CommandFailed, capture
from harness.roundtrip import digest, log, registry_file, round_trip
from harness.tools import (
    Context,
    Unavailable,
    first_line,
    securemedia_command,
    setup_securemedia,
    snapshot_command,
    source_revision,
    src_commit,
)

ROOT = Path(__file__).resolve().parent
COPIES = 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=registry.DEFAULT_ROWS, help="rows of the 1x file")
    p.add_argument("--seed", type=int, default=registry.DEFAULT_SEED)
    p.add_argument("--work", type=Path, default=ROOT / "work", help="scratch directory")
    p.add_argument("--securemedia", help="command prefix for the CLI (default: console script)")
    p.add_argument("--rev", help="measure src/ as committed at this git revision")
    p.add_argument("--limit", type=float, default=100.0, help="MiB no peak may reach")
    p.add_argument("--tolerance", type=float, default=0.10, help="allowed 4x/1x growth")
    p.add_argument("--json", type=Path, help="also write the measurements here")
    return p.parse_args(argv)


def concatenated(src: Path, copies: int) -> Path:
    """``src`` repeated ``copies`` times (made once, reused like the registry)."""
    dst = src.with_name(f"{src.stem}-x{copies}.csv")
    if not dst.exists():
        log(f"writing {dst} ...")
        tmp = dst.with_suffix(".tmp")
        with tmp.open("wb") as out:
            for _ in range(copies):
                with src.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        tmp.rename(dst)
    return dst


def peaks(input_path: Path, scratch: Path, command: list[str]) -> dict[str, float]:
    """Peak RSS (MiB) of each securemedia op on ``input_path``, round trip checked."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    ctx = Context(input_path, scratch, sys.executable, command)
    tool = setup_securemedia(ctx)
    want = digest(input_path)
    result = {}
    try:
        for pair in tool.pairs:
            packed, unpacked = round_trip(pair, want)
            assert pair.unpack is not None and unpacked is not None
            result[pair.pack.name] = packed.max_rss_kib / 1024
            result[pair.unpack.name] = unpacked.max_rss_kib / 1024
            log(f"{input_path.name}: {pair.label} pack {packed.seconds:.1f} s, unpack "
                f"{unpacked.seconds:.1f} s")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def verdicts(one: dict[str, float], four: dict[str, float], limit: float, tol: float) -> bool:
    """Print the table; True if every op is flat and under the limit."""
    ok = True
    print(f"{'operation':36s} {'1x MiB':>8s} {'4x MiB':>8s} {'4x/1x':>6s}  verdict")
    for op, a in one.items():
        b = four[op]
        ratio = b / a
        good = ratio <= 1 + tol and a < limit and b < limit
        ok &= good
        print(f"{op:36s} {a:8.1f} {b:8.1f} {ratio:6.3f}  {'PASS' if good else 'MISS'}")
    print(f"limits: 4x/1x <= {1 + tol:.2f}, every peak < {limit:g} MiB")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rev:
        command = snapshot_command(ROOT.parent, args.rev, args.work)
    else:
        command = securemedia_command(args.securemedia)
    one_path = registry_file(args.work, args.rows, args.seed)
    four_path = concatenated(one_path, COPIES)
    try:
        one = peaks(one_path, args.work / "memory-1x", command)
        four = peaks(four_path, args.work / "memory-4x", command)
    except (Unavailable, CommandFailed, OSError) as exc:
        print(f"memory.py: {exc}", file=sys.stderr)
        return 2
    ok = verdicts(one, four, args.limit, args.tolerance)
    if args.json:
        data: dict[str, Any] = {
            "command": "python benchmarks/memory.py " + " ".join(argv or sys.argv[1:]),
            "machine": machine.describe(),
            "securemedia": first_line(capture([*command, "--version"])),
            "securemedia source": (
                src_commit(ROOT.parent, args.rev) if args.rev else source_revision(ROOT.parent)
            ),
            "rows_1x": args.rows,
            "bytes_1x": one_path.stat().st_size,
            "bytes_4x": four_path.stat().st_size,
            "peak_rss_mib_1x": one,
            "peak_rss_mib_4x": four,
            "ok": ok,
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
