"""Smoke test of benchmarks/compat_zip.py (the compatibility ZIP against 7zz's
AES ZIP), so it cannot rot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench_support import run_bench_json


@pytest.mark.skipif(shutil.which("7zz") is None, reason="needs 7-Zip (7zz)")
def test_compat_zip_benchmark_runs_and_reports_ratios(tmp_path: Path) -> None:
    args = ["--rows", "3000", "--runs", "1", "--work", str(tmp_path)]
    done, result = run_bench_json("compat_zip.py", tmp_path / "compat_zip.json", *args)
    assert set(result["median_seconds"]) == {"securemedia", "7zz"}
    assert result["median_time_ratio"] > 0
    # Deflated: far below the input and the stored ZIP, near 7-Zip's own deflate.
    assert result["zip_bytes"] < result["input_bytes"] / 2
    assert result["size_ratio_vs_stored"] < 0.6
    assert 0.8 < result["size_ratio"] < 1.3
    assert "size ratio" in done.stdout
    # The scratch files are gone; only the registry and the figures stay.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "compat_zip.json",
        "registry-3000-2015.csv",
    ]
