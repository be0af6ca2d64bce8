"""Smoke test of benchmarks/zstd_paths.py (the compressed paths against zstd), so
it cannot rot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench_support import run_bench_json


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")
def test_zstd_paths_benchmark_runs_and_reports_ratios(tmp_path: Path) -> None:
    args = ["--rows", "3000", "--runs", "1", "--work", str(tmp_path)]
    done, result = run_bench_json("zstd_paths.py", tmp_path / "zstd_paths.json", *args)
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
