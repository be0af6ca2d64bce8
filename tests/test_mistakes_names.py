"""Issue 11: every name rule fires during pack's scan, before anything is
written or any key or passphrase is asked for, and the message names the file
on disk, the rule and the fix. The bad name is always the last of many files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli

MANY = 400


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "rows").mkdir(parents=True)
    for n in range(MANY):
        (root / "rows" / f"part-{n:04d}.csv").write_bytes(b"id,value\n%d,1\n" % n)
    (root / "rows" / "part-0000.bin").write_bytes(os.urandom(1 << 20))
    return root


def refused(run_cli: RunCli, *inputs: str) -> str:
    """Pack ``inputs`` to a directory that does not exist, with -p and no way to
    give a passphrase: a name error (exit 5) proves the scan ran first."""
    result = run_cli("pack", *inputs, "-o", "nowhere/ship.sm", "-p")
    assert result.code == 5, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("bad", "rule", "fix"),
    [
        ("con.txt", "reserved device name", "Windows cannot create a file of that name"),
        ("zz\\notes.txt", "backslash", "rename it without one"),
        ("zz:stream", "':'", "rename it without ':'"),
        (
            "zz-final.",
            "a component ends with a dot or a space",
            "without the dot or space at the end",
        ),
        ("zz\x1b[31m", "control character \\x1b", "visible characters only"),
    ],
)
def test_unsafe_name_is_named_by_its_path_with_rule_and_fix(
    export: Path, run_cli: RunCli, tmp_path: Path, bad: str, rule: str, fix: str
) -> None:
    (export / "rows" / bad).write_bytes(b"x")
    line = refused(run_cli, "export")
    shown = bad.replace("\\", "\\\\").replace("\x1b", "\\x1b")
    assert f"cannot pack 'export/rows/{shown}': unsafe name: {rule}" in line
    assert fix in line
    assert "move it out of the input" in line
    assert not (tmp_path / "nowhere").exists()


def test_a_name_that_only_contains_a_device_name_packs(
    export: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    (export / "rows" / "zz-CON.txt").write_bytes(b"x")
    result = run_cli("pack", "export", "-o", "ok.sm", "-r", key.pub_path, "-q")
    assert result.code == 0, result.stderr


def test_case_folded_duplicate_names_both_files(export: Path, run_cli: RunCli) -> None:
    (export / "rows" / "zz-Readme.txt").write_bytes(b"a")
    (export / "rows" / "zz-README.TXT").write_bytes(b"b")
    line = refused(run_cli, "export")
    assert "export/rows/zz-Readme.txt" in line and "export/rows/zz-README.TXT" in line
    assert "differs from that of" in line
    assert "rename one of them" in line


def test_unicode_normalisation_duplicate(export: Path, run_cli: RunCli) -> None:
    (export / "rows" / "zz-caf\u00e9").write_bytes(b"a")  # precomposed
    (export / "rows" / "zz-cafe\u0301").write_bytes(b"b")  # decomposed
    line = refused(run_cli, "export")
    assert "Unicode form" in line and "zz-caf" in line


def test_directory_and_file_of_one_folded_name(export: Path, run_cli: RunCli) -> None:
    (export / "zz").mkdir()
    (export / "zz" / "inner.csv").write_bytes(b"a")
    (export / "ZZ").write_bytes(b"b")
    line = refused(run_cli, "export")
    assert "export/ZZ" in line and "export/zz" in line


def test_two_inputs_with_one_name(tmp_path: Path, run_cli: RunCli) -> None:
    for side in ("a", "b"):
        (tmp_path / side / "data").mkdir(parents=True)
        (tmp_path / side / "data" / "f.csv").write_bytes(b"1")
    line = refused(run_cli, "a/data", "b/data")
    assert "cannot pack b/data: a/data is also given" in line
    assert "stored as 'data'" in line


def test_standard_input_named_like_an_input(export: Path, run_cli: RunCli) -> None:
    result = run_cli("pack", "-", "export", "--stdin-name", "EXPORT", "-o", "nowhere/s.sm", "-p",
                     stdin=b"rows")  # fmt: skip
    assert result.code == 5
    assert "standard input" in result.stderr and "export" in result.stderr
