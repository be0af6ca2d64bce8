"""Smoke test of benchmarks/readback.py (the read-back's cost), so it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readback_benchmark_runs_and_reports_a_ratio(tmp_path: Path) -> None:
    out = tmp_path / "readback.json"
    args = ["--rows", "3000", "--runs", "1", "--work", str(tmp_path), "--json", str(out)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "readback.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["median_ratio_verify_to_no_verify"] > 0
    assert set(result["median_seconds"]) == {"verify", "no-verify"}
    assert "median ratio" in done.stdout
    # The scratch set is gone; only the generated registry stays in --work.
    assert [p.name for p in tmp_path.iterdir() if p.name != "readback.json"] == [
        "registry-3000-2015.csv"
    ]
