"""The one way the quick benchmark tests run a script of benchmarks/: as a user
would, a whole process from the repository's root, on small inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def run_bench(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/SCRIPT ARGS`` and return what it did (no check of its exit)."""
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def run_bench_json(
    script: str, out: Path, *args: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run the script with ``--json OUT``, require exit 0, and return it and its figures."""
    done = run_bench(script, *args, "--json", str(out), timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(out.read_text())
