"""Compare securemedia's pack/unpack with the physical references and its peers.

Round-robin: each round runs every operation once, in a rotated order, so slow
drift of this shared machine touches every tool alike; figures are medians over
rounds and ratios are taken within a round (see harness/stats.py). Each command
is a whole process, start-up included, timed around spawn and ``wait4``.

Every row of issue 13's table in one run: compressed ``unpack`` against ``zstd
-d``; ``pack --no-compress`` against ``age`` quiet and while a busy-loop
process started here keeps one core busy; ``pack`` against ``zstd -3 -T2``;
``pack --media dvd --iso`` with and without ``--no-verify`` against plain
``pack`` (tool ``media``); ``repair`` of one of its images with 1 % of the
sectors zeroed; the peak RSS of every command.

    python benchmarks/compare.py                      # full registry, 3 rounds
    python benchmarks/compare.py --quick              # 500,000 rows, < 2 min
    python benchmarks/compare.py --only securemedia   # + cp and the AESGCM loop
    python benchmarks/compare.py --only securemedia,media,age,zstd   # issue 13's rows
    python benchmarks/compare.py --only securemedia,age --copies 4   # 1.5 GB
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import registry
from harness import machine, report
from harness.proc import (
    CommandFailed,
    launcher_floor_kib,
    remove,
    run_measured,
    tree_size,
    warm,
)
from harness.roundtrip import concatenated, digest, log, registry_file, round_trip
from harness.stats import Run, check_targets, summarise
from harness.tools import (
    BASELINES,
    SETUPS,
    Context,
    Op,
    Pair,
    ToolSet,
    Unavailable,
    securemedia_command,
    snapshot_command,
    source_revision,
    src_commit,
    stop_gpg_agent,
)

ROOT = Path(__file__).resolve().parent
QUICK_ROWS = 500_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="round-robin rounds (default 3)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,}-row registry")
    p.add_argument("--rows", type=int, help="registry rows (overrides --quick's size)")
    p.add_argument("--seed", type=int, default=registry.DEFAULT_SEED)
    p.add_argument("--input", type=Path, help="benchmark this file instead of the registry")
    p.add_argument(
        "--copies", type=int, default=1, help="the input repeated N times (4: the issue's 1.5 GB)"
    )
    p.add_argument(
        "--only",
        help="comma list of tools to run besides the baselines "
        f"(of: {', '.join(k for k in SETUPS if k not in BASELINES)})",
    )
    p.add_argument("--out", type=Path, default=ROOT / "results", help="results directory")
    p.add_argument("--work", type=Path, default=ROOT / "work", help="scratch directory")
    p.add_argument("--securemedia", help="command prefix for the CLI (default: console script)")
    p.add_argument("--rev", help="benchmark src/ as committed at this git revision")
    p.add_argument("--strict", action="store_true", help="exit 1 if any target is MISS")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def set_up(ctx: Context, only: set[str] | None) -> tuple[list[ToolSet], dict[str, str]]:
    """Set up every selected tool; the missing ones go to ``skipped`` with why."""
    tools, skipped = [], {}
    for name, setup in SETUPS.items():
        if only is not None and name not in only and name not in BASELINES:
            continue
        try:
            tools.append(setup(ctx))
        except (Unavailable, CommandFailed, OSError) as exc:
            skipped[name] = str(exc)
            log(f"skip {name}: {exc}")
    return tools, skipped


def ready_pairs(tools: list[ToolSet], input_digest: str, skipped: dict[str, str]) -> list[Pair]:
    pairs = []
    for tool in tools:
        for pair in tool.pairs:
            log(f"prepare {pair.label}")
            try:
                round_trip(pair, input_digest)
                pairs.append(pair)
            except (CommandFailed, OSError) as exc:
                skipped[pair.label] = str(exc)
                log(f"skip {pair.label}: {exc}")
    return pairs


Planned = tuple[ToolSet, str, Op, Path]
"""A tool, "pack" or "unpack", the command, and the file it reads."""


@contextlib.contextmanager
def one_core_busy(busy: bool) -> Iterator[None]:
    """With ``busy``, a CPU-bound process (a Python busy loop) runs meanwhile."""
    if not busy:
        yield
        return
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # running, and on a core, before the timed command starts
        yield
    finally:
        loop.kill()
        loop.wait()


def measure_round(rnd: int, ops: list[Planned]) -> list[Run]:
    """One round-robin pass, starting at a rotated position each round."""
    runs = []
    k = rnd % len(ops)
    for tool, action, op, source in ops[k:] + ops[:k]:
        remove(op.output)
        if op.workdir is not None:
            op.workdir.mkdir(parents=True)
        os.sync()  # write-back of the previous run's output must not land on this one
        warm(source)
        with one_core_busy(op.busy):
            m = run_measured(op.argv, stdin=op.stdin, stdout=op.stdout, env=op.env)
        size = tree_size(op.output) if op.output.exists() else 0
        remove(op.output)
        runs.append(
            {
                "round": rnd,
                "op": op.name,
                "tool": tool.name,
                "group": tool.group,
                "action": action,
                "seconds": m.seconds,
                "max_rss_kib": m.max_rss_kib,
                "output_bytes": size,
                "returncode": m.returncode,
                "stderr": m.stderr[-500:] if m.returncode else "",
            }
        )
        status = f"{m.seconds:8.3f} s {m.max_rss_kib / 1024:7.1f} MiB"
        log(f"round {rnd + 1} {op.name:45s} {status if m.returncode == 0 else 'FAILED'}")
    return runs


def op_list(tools: list[ToolSet], pairs: list[Pair], input_path: Path) -> list[Planned]:
    ready = {id(p) for p in pairs}
    ops: list[Planned] = []
    for tool in tools:
        for pair in (p for p in tool.pairs if id(p) in ready):
            pack = pair.pack
            ops.append((tool, pack.action or "pack", pack, pack.reads or input_path))
            if pair.unpack:
                ops.append((tool, "unpack", pair.unpack, pair.unpack.reads or pair.archive))
    return ops


def print_summary(md_path: Path, targets: list[dict[str, Any]]) -> None:
    print(md_path.read_text().split("## Targets")[0])
    print("Targets:")
    for t in targets:
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        bar = f"goal {t['comparison']} {t['limit']:g}" if t["comparison"] else "no bar"
        print(f"  {t['status']:4s}  {t['name']}: {value} ({bar})")


def compiled_once(command: list[str], work: Path) -> None:
    """Let every benchmarked securemedia run use compiled bytecode, as an
    installed copy does. The environment may say PYTHONDONTWRITEBYTECODE; each
    run would then compile some 60 modules again (0.05-0.1 s of CPU per command,
    more than a whole ``pack --no-compress`` of the quick input spends on its
    data). The bytecode goes to a cache under ``work``, not into the tree; ``--help``
    imports every command's module, so no timed run is the one that compiles."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str((work / "pycache").resolve())
    if command:
        subprocess.run([*command, "--help"], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else registry.DEFAULT_ROWS)
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    scratch = args.work / "compare"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    args.out.mkdir(parents=True, exist_ok=True)

    input_path = args.input or registry_file(args.work, rows, args.seed)
    if args.copies > 1:
        input_path = concatenated(input_path, args.copies)
    input_bytes = input_path.stat().st_size
    if args.rev:
        command = snapshot_command(ROOT.parent, args.rev, args.work)
        source = src_commit(ROOT.parent, args.rev)
    else:
        command = securemedia_command(args.securemedia)
        source = args.securemedia or source_revision(ROOT.parent)
    compiled_once(command, args.work)
    ctx = Context(input_path, scratch, sys.executable, command)
    before = machine.describe()
    before["rss_floor_kib"] = launcher_floor_kib()
    tools, skipped = set_up(ctx, only)
    try:
        pairs = ready_pairs(tools, digest(input_path), skipped)
        ops = op_list(tools, pairs, input_path)
        runs: list[Run] = []
        for rnd in range(args.runs):
            runs += measure_round(rnd, ops)
    finally:
        stop_gpg_agent(ctx)
        shutil.rmtree(scratch, ignore_errors=True)

    rows_summary = summarise(runs, input_bytes)
    targets = [t.to_dict() for t in check_targets(runs)]
    data: dict[str, Any] = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": before,
        "machine_after": machine.describe(),
        "config": {
            "command": "python benchmarks/compare.py " + " ".join(argv or sys.argv[1:]),
            "rows": rows if args.input is None else None,
            "input": input_path.name,
            "input_bytes": input_bytes,
            "runs": args.runs,
            "quick": args.quick,
            "copies": args.copies,
            "only": sorted(only) if only else None,
        },
        "versions": {t.name: t.version for t in tools} | {"securemedia source": source},
        "skipped": skipped,
        "summary": [asdict(s) for s in rows_summary],
        "targets": targets,
        "runs": runs,
    }
    report.write_json(args.out / "results.json", data)
    md = args.out / "RESULTS.md"
    report.write_markdown(md, data, rows_summary, check_targets(runs))
    title = f"{input_bytes / 1e6:.0f} MB registry, median of {args.runs} rounds"
    if importlib.util.find_spec("matplotlib") is None:
        # The plot is for people reading RESULTS.md; the figures stand without it.
        print("matplotlib is not installed (pip install -e '.[bench]'): no throughput.png")
    else:
        report.write_plot(args.out / "throughput.png", rows_summary, title)
    print_summary(md, targets)
    failed = any(r["returncode"] != 0 for r in runs)
    missed = any(t["status"] == "MISS" for t in targets)
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
