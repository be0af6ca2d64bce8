"""``plan`` of an input smaller than the archive's fixed overhead says so,
instead of a compression ratio above 100 % (zstd's frame around 3 bytes)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import RunCli

ESTIMATE_FIELDS = {
    "files",
    "entries",
    "content_bytes",
    "sampled_bytes",
    "ratio",
    "archive_bytes",
    "salvage_reserve",
}


def test_a_tiny_input_is_said_plainly(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "tiny.txt").write_bytes(b"hi\n")
    result = run_cli("plan", "tiny.txt", "--media", "cd")
    assert result.code == 0, result.stderr
    assert "(estimated: the archive's fixed overhead exceeds the input)" in result.out
    assert "compresses" not in result.out
    doc = json.loads(run_cli("plan", "tiny.txt", "--media", "cd", "--json").out)
    assert set(doc["estimate"]) == ESTIMATE_FIELDS  # the JSON document is unchanged
    assert doc["estimate"]["ratio"] > 1


def test_an_input_larger_than_the_overhead_still_shows_its_ratio(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "rows.csv").write_bytes(b"12345,1970\n" * 20_000)
    result = run_cli("plan", "rows.csv", "--media", "cd")
    assert result.code == 0, result.stderr
    assert "(estimated: zstd level 3 compresses all of it to " in result.out
    assert "fixed overhead" not in result.out
