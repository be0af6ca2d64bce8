"""Smoke test of benchmarks/spares.py (what spare discs cost), so it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_spares_benchmark_runs_and_reports_ratios(tmp_path: Path) -> None:
    out = tmp_path / "spares.json"
    args = ["--rows", "30000", "--media", "1MB", "--runs", "1", "--work", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "spares.py"), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["discs"]["spares-1"] == result["discs"]["plain"] + 1
    assert result["size_ratio_spares_to_plain"] > 1
    assert result["median_ratio_spares_to_plain"] > 0
    assert "median time ratio" in done.stdout
    # The scratch sets are gone; only the generated registry stays in --work.
    assert [p.name for p in tmp_path.iterdir() if p.name != "spares.json"] == [
        "registry-30000-2015.csv"
    ]
