"""An existing output is refused in one wording, whichever command meets it:
``PATH already exists (use --force to overwrite)`` (the library's
``atomic.already_exists`` plus the CLI's hint), exit 1, nothing replaced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli

_HINT = "already exists (use --force to overwrite)"


def test_zip_output_exists(tmp_path: Path, run_cli: RunCli) -> None:
    pytest.importorskip("pyzipper")
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "s.zip").write_bytes(b"keep")
    result = run_cli(
        "pack", "f.txt", "-o", "s.zip", "--format", "zip", "--passphrase-out", "s.pass"
    )  # fmt: skip
    assert result.code == 1
    assert f"s.zip {_HINT}" in result.stderr
    assert (tmp_path / "s.zip").read_bytes() == b"keep"
    assert not (tmp_path / "s.pass").exists()


def test_volume_output_exists(
    tmp_path: Path, run_cli: RunCli, make_keys: Callable[..., KeyFiles]
) -> None:
    alice = make_keys()
    (tmp_path / "f.txt").write_text("x")
    first = run_cli("pack", "f.txt", "-o", "ship.sm", "--media", "2MB", "-r", alice.pub_path)
    assert first.code == 0, first.stderr
    again = run_cli("pack", "f.txt", "-o", "ship.sm", "--media", "2MB", "-r", alice.pub_path)
    assert again.code == 1
    assert _HINT in again.stderr and "ship.sm" in again.stderr
