"""Smoke test of benchmarks/rs_backend.py's in-process part, so the script cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_encode_part_runs_and_reports_every_way(tmp_path: Path) -> None:
    out = tmp_path / "rs.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "rs_backend.py"), "--only", "encode",
         "--runs", "1", "--work", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    encode = json.loads(out.read_text())["encode"]
    assert encode["row_bytes"] == 16 * 2048
    assert set(encode["mb_per_s"]) >= {
        "zfec, two threads (before)",
        "isal, 4 KiB slices, two threads (now)",
    }
    assert all(rate > 0 for rate in encode["mb_per_s"].values())
