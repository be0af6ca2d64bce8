"""Peak memory of securemedia pack/unpack must not grow with the input (issue #6).

Packs and unpacks the registry (1x) and the registry concatenated four times
(4x), with and without compression, and reads each process's peak RSS from the
kernel (``wait4``). Streaming code has a flat peak: the 4x peak may exceed the
1x peak by at most ``--tolerance`` (10 %), and no peak may reach ``--limit``
(100 MiB). Exits 1 if either fails, 2 if a command fails.

    python benchmarks/memory.py              # full registry: 1x ~380 MB, 4x ~1.5 GB
    python benchmarks/memory.py --rows 500000
    python benchmarks/memory.py --json benchmarks/results/memory.json   # as published

The member-count axis (issues 9 and 13) instead measures the peak RSS of
``pack`` and ``pack --no-compress`` of a tree of COUNT one-byte files (1,000
to a directory; made once and kept in ``--work``), and of ``list``, ``verify
-i`` (the reader's full walk, writing nothing) and ``unpack`` of an archive of
COUNT tiny files (built through the API in a child process, so it is fast).
Every peak must stay under ``--members-limit`` (100 MiB), and grow by at most
``--per-member`` bytes (16) a member from the smallest count to the largest,
plus 10 MiB of slack: neither side keeps anything per member in memory (the
index entries, the scan's records and the unique-name check's digests go to
temporary files when they are many), and what rises from 1,000 to 100,000
members is the 1 MiB buffers that fill once.

    python benchmarks/memory.py --members 1000,100000,1000000
    python benchmarks/memory.py --members 1000,100000 --skip-unpack --skip-pack
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import registry
from harness import machine
from harness.proc import CommandFailed, capture, run_checked, run_measured
from harness.roundtrip import concatenated, digest, log, registry_file, round_trip
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
    p.add_argument(
        "--members",
        type=lambda text: [int(n) for n in text.split(",")],
        help="the member-count axis instead: comma-separated counts of tiny files",
    )
    p.add_argument("--members-limit", type=float, default=100.0, help="MiB, member axis")
    p.add_argument("--skip-unpack", action="store_true", help="member axis: no unpack")
    p.add_argument("--skip-pack", action="store_true", help="member axis: no pack (no file tree)")
    p.add_argument("--per-member", type=float, default=16.0, help="bytes, member axis growth")
    return p.parse_args(argv)


# Builds an archive of COUNT one-byte files in 1,000-member directories, with
# the library writer (no file system walk): ~1 s per 100,000 members.
_BUILD = """
import sys
from securemedia.archive.compression import Compression
from securemedia.archive.writer import ArchiveWriter
from securemedia.keyring import load_recipients
out, pub, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(out, "wb") as sink, ArchiveWriter(
    sink, load_recipients(pub), compression=Compression(enabled=False)
) as writer:
    for i in range(count):
        if i % 1000 == 0:
            writer.add_directory(f"d{i // 1000:05}", mtime_ns=0)
        with writer.open_member(f"d{i // 1000:05}/f{i:07}.txt", mtime_ns=0) as member:
            member.write(b"x")
"""


# A tree of COUNT one-byte files, 1,000 to a directory: what pack walks.
_TREE = """
import os, sys
top, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    if i % 1000 == 0:
        here = os.path.join(top, f"d{i // 1000:05}")
        os.makedirs(here)
    with open(os.path.join(here, f"f{i:07}.txt"), "wb") as f:
        f.write(b"x")
"""


def member_tree(work: Path, count: int) -> Path:
    tree = work / f"members-tree-{count}"
    if not tree.exists():
        log(f"building {tree.name} ...")
        tmp = work / f"members-tree-{count}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        subprocess.run([sys.executable, "-c", _TREE, str(tmp), str(count)], check=True)
        tmp.rename(tree)
    return tree


def member_peaks(
    counts: list[int], work: Path, command: list[str], skip_unpack: bool, skip_pack: bool = False
) -> dict[int, dict[str, float]]:
    """Peak RSS (MiB) of pack (of a tree of ``count`` files), and of list,
    verify -i and unpack (of an archive of ``count`` members), per count."""
    work.mkdir(parents=True, exist_ok=True)
    key = work / "members-key"
    if not key.exists():
        run_checked([*command, "keygen", "-o", str(key), "--no-passphrase", "--force"])
    result: dict[int, dict[str, float]] = {}
    for count in counts:
        archive = work / f"members-{count}.sm"
        if not archive.exists():
            log(f"building {archive.name} ...")
            tmp = archive.with_suffix(".tmp")
            subprocess.run(
                [sys.executable, "-c", _BUILD, str(tmp), f"{key}.pub", str(count)], check=True
            )
            tmp.rename(archive)
        ops: dict[str, list[str]] = {}
        packed = work / "members-packed.sm"
        if not skip_pack:
            tree = member_tree(work, count)
            for op, extra in (("pack", []), ("pack --no-compress", ["--no-compress"])):
                ops[op] = [
                    *command, "pack", str(tree), "-o", str(packed), "-r", f"{key}.pub",
                    "--force", "-q", *extra,
                ]  # fmt: skip
        ops |= {
            "list": [*command, "list", str(archive), "-i", str(key)],
            "verify -i": [*command, "verify", str(archive), "-i", str(key)],
        }
        dest = work / "members-out"
        if not skip_unpack:
            ops["unpack"] = [
                *command,
                "unpack",
                str(archive),
                "-i",
                str(key),
                "-o",
                str(dest),
                "-q",
            ]
        result[count] = {}
        for op, argv in ops.items():
            shutil.rmtree(dest, ignore_errors=True)
            packed.unlink(missing_ok=True)
            measured = run_measured(argv, stdout=Path(os.devnull))
            shutil.rmtree(dest, ignore_errors=True)
            packed.unlink(missing_ok=True)
            if measured.returncode != 0:
                raise CommandFailed(f"{op} at {count} members: {measured.stderr.strip()}")
            result[count][op] = measured.max_rss_kib / 1024
            log(f"{count:>9,} members: {op:10s} {result[count][op]:7.1f} MiB "
                f"{measured.seconds:7.1f} s")  # fmt: skip
    return result


def member_verdicts(peaks: dict[int, dict[str, float]], limit: float, per_member: float) -> bool:
    """Print the table; True if every peak is under the limit and grows by at most
    ``per_member`` bytes a member (plus 10 MiB)."""
    counts = sorted(peaks)
    ops = list(peaks[counts[0]])
    print(f"{'members':>10s} " + " ".join(f"{op:>10s}" for op in ops))
    for count in counts:
        print(f"{count:>10,} " + " ".join(f"{peaks[count][op]:10.1f}" for op in ops))
    ok = True
    for op in ops:
        low, high = peaks[counts[0]][op], peaks[counts[-1]][op]
        growth = (high - low) * 2**20 / max(1, counts[-1] - counts[0])
        allowed = low + 10 + per_member * (counts[-1] - counts[0]) / 2**20
        good = high <= allowed and all(peaks[c][op] < limit for c in counts)
        ok &= good
        verdict = "PASS" if good else "MISS"
        print(f"{op:10s} {counts[0]:,} to {counts[-1]:,}: {growth:5.1f} bytes a member  {verdict}")
    print(f"limits: every peak < {limit:g} MiB; growth <= {per_member:g} bytes a member + 10 MiB")
    return ok


def peaks(input_path: Path, scratch: Path, command: list[str]) -> dict[str, float]:
    """Peak RSS (MiB) of each securemedia op on ``input_path``, round trip checked."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    ctx = Context(input_path, scratch, sys.executable, command)
    tool = setup_securemedia(ctx)
    want = digest(input_path)
    result = {}
    try:
        for pair in (p for p in tool.pairs if p.unpack is not None):  # not the busy variant
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
    if args.members:
        return members_main(args, command, argv)
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


def members_main(args: argparse.Namespace, command: list[str], argv: list[str] | None) -> int:
    try:
        peaks_by_count = member_peaks(
            sorted(args.members), args.work, command, args.skip_unpack, args.skip_pack
        )
    except (Unavailable, CommandFailed, OSError, subprocess.CalledProcessError) as exc:
        print(f"memory.py: {exc}", file=sys.stderr)
        return 2
    ok = member_verdicts(peaks_by_count, args.members_limit, args.per_member)
    if args.json:
        data = {
            "command": "python benchmarks/memory.py " + " ".join(argv or sys.argv[1:]),
            "machine": machine.describe(),
            "securemedia": first_line(capture([*command, "--version"])),
            "securemedia source": source_revision(ROOT.parent),
            "peak_rss_mib_by_members": {str(c): p for c, p in peaks_by_count.items()},
            "ok": ok,
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
