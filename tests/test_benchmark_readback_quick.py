"""Smoke test of benchmarks/readback.py (the read-back's cost), so it cannot rot."""

from __future__ import annotations

from pathlib import Path

from bench_support import run_bench_json


def test_readback_benchmark_runs_and_reports_a_ratio(tmp_path: Path) -> None:
    args = ["--rows", "3000", "--runs", "1", "--work", str(tmp_path)]
    done, result = run_bench_json("readback.py", tmp_path / "readback.json", *args)
    assert result["median_ratio_verify_to_no_verify"] > 0
    assert set(result["median_seconds"]) == {"verify", "no-verify"}
    assert "median ratio" in done.stdout
    # The scratch set is gone; only the generated registry stays in --work.
    assert [p.name for p in tmp_path.iterdir() if p.name != "readback.json"] == [
        "registry-3000-2015.csv"
    ]
