"""Smoke test of benchmarks/zstd_paths.py (the compressed paths against zstd), so
it cannot rot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")
def test_zstd_paths_benchmark_runs_and_reports_ratios(tmp_path: Path) -> None:
    out = tmp_path / "zstd_paths.json"
    args = ["--rows", "3000", "--runs", "1", "--work", str(tmp_path), "--json", str(out)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "zstd_paths.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    for pair in ("unpack_vs_zstd_d", "pack_vs_zstd_3_T2"):
        assert result[pair]["median_ratio"] > 0
        assert set(result[pair]["median_seconds"]) == {"securemedia", "zstd"}
        assert all(cpu > 0 for cpu in result[pair]["median_cpu_seconds"].values())
    # The archive is compressed: near zstd's own size, far below the input.
    assert 0.9 < result["size_ratio"] < 1.2
    assert result["archive_bytes"] < result["input_bytes"] / 2
    assert "median ratio" in done.stdout
    # The scratch files are gone; only the registry and the bytecode cache stay.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pycache",
        "registry-3000-2015.csv",
        "zstd_paths.json",
    ]
