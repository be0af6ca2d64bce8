"""What the paired-round benchmark scripts share: their options, a key, a timed
command, and rounds of two commands in alternating order.

A figure from these scripts is the median over rounds of that round's time
ratio: this machine is shared and noisy, and ratios within one round cancel
most of its drift, where ratios of medians would not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from harness.tools import securemedia_command

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def bench_parser(doc: str, *, rows: int, runs: int) -> argparse.ArgumentParser:
    """The options every paired script takes: --rows, --seed, --runs, --work, --json."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--rows", type=int, default=rows, help=f"registry rows (default {rows:,})")
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument("--runs", type=int, default=runs, help=f"rounds (default {runs})")
    p.add_argument("--work", type=Path, default=ROOT / "work", help="scratch directory")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p


def cli_command() -> list[str]:
    """The securemedia console script, or exit saying it is missing."""
    cli = securemedia_command(None)
    if not cli:
        raise SystemExit("the securemedia console script is not installed")
    return cli


def make_key(cli: Sequence[str], directory: Path) -> Path:
    """A fresh passphrase-less classic key pair in ``directory``: the secret key's path
    (the public key is beside it, with ``.pub``)."""
    key = directory / "key"
    subprocess.run(
        [*cli, "keygen", "--no-passphrase", "--classic", "-o", str(key)],
        capture_output=True,
        check=True,
    )
    return key


def run_timed(
    argv: Sequence[str],
    cwd: Path | None = None,
    *,
    ok: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one whole command (start-up included) and its result; exits
    unless its exit code is in ``ok``."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed, done


def fresh(path: Path) -> Path:
    """``path`` as a new empty directory (outputs of an earlier run removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def round_order(round_no: int, names: Sequence[T]) -> list[T]:
    """``names`` in order on even rounds, reversed on odd ones."""
    return list(names) if round_no % 2 == 0 else list(names)[::-1]


def paired(
    runs: int, first: Callable[[], float], second: Callable[[], float]
) -> tuple[float, float, float]:
    """``runs`` rounds of both, in alternating order: the median seconds of each, and
    the median per-round ratio second/first."""
    a: list[float] = []
    b: list[float] = []
    ratios: list[float] = []
    for round_no in range(runs):
        if round_no % 2 == 0:
            ta, tb = first(), second()
        else:
            tb, ta = second(), first()
        a.append(ta)
        b.append(tb)
        ratios.append(tb / ta)
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def write_figures(path: Path | None, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` (``--json``), if one was given."""
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n")
