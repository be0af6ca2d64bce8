"""Smoke test of benchmarks/disc_features.py (what each disc feature costs), so it
cannot rot: one round on a small registry and 10 MB discs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench_support import run_bench_json


@pytest.mark.skipif(shutil.which("xorriso") is None, reason="needs xorriso")
def test_disc_features_benchmark_runs_and_reports_every_feature(tmp_path: Path) -> None:
    args = ["--rows", "30000", "--media", "10MB", "--runs", "1", "--work", str(tmp_path)]
    _, result = run_bench_json("disc_features.py", tmp_path / "discs.json", *args, timeout=60)
    pack = result["pack"]
    assert pack["spares_discs"] == pack["plain_discs"] + 1
    assert pack["size_ratio"] > 1
    assert pack["ratio"] > 0
    assert result["per_disc"]["spec_bytes"] > 0
    for part in ("heal", "lost_disc", "salvage"):
        assert result[part]["ratio"] > 0, part
    assert result["heal"]["sectors_zeroed"] > 0
    assert result["lost_disc"]["repair_rebuild_s"] > 0
    # The scratch sets are gone; only the generated registry stays in --work.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "discs.json",
        "registry-30000-2015.csv",
    ]
