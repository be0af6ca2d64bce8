"""Smoke test of benchmarks/rs_backend.py's in-process part, so the script cannot rot."""

from __future__ import annotations

from pathlib import Path

from bench_support import run_bench_json


def test_encode_part_runs_and_reports_every_way(tmp_path: Path) -> None:
    args = ["--only", "encode", "--runs", "1", "--work", str(tmp_path)]
    _, result = run_bench_json("rs_backend.py", tmp_path / "rs.json", *args, timeout=300)
    encode = result["encode"]
    assert encode["row_bytes"] == 16 * 2048
    assert set(encode["mb_per_s"]) >= {
        "zfec, two threads (before)",
        "isal, 4 KiB slices, two threads (now)",
    }
    assert all(rate > 0 for rate in encode["mb_per_s"].values())
