"""The compatibility ZIP's one entry carries a fixed date (1980-01-01 00:00:00),
as the disc images do, so that a finder learns nothing of when or in which time
zone it was packed; the member times inside the encrypted tar stay.

Through the real CLI and real 7-Zip (7zz).
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("pyzipper")
from conftest import RunCli
from securemedia.compat_zip import INNER_NAME
from test_compat_zip import needs_7zip, seven_zip

MEMBER_MTIME = 1_234_567_890  # 2009-02-13, far from both 1980 and today


@pytest.fixture
def packed_zip(tmp_path: Path, run_cli: RunCli) -> tuple[Path, str]:
    """(out.zip, passphrase) of a small dataset whose one file has MEMBER_MTIME."""
    data = tmp_path / "data"
    data.mkdir()
    member = data / "report.csv"
    member.write_bytes(b"id,value\n" + b"1,alpha\n" * 200)
    os.utime(member, (MEMBER_MTIME, MEMBER_MTIME))
    result = run_cli(
        "pack", "data", "-o", "out.zip", "--format", "zip", "--passphrase-out", "pass.txt", "-q"
    )
    assert result.code == 0, result.stderr
    return tmp_path / "out.zip", (tmp_path / "pass.txt").read_text().strip()


@needs_7zip
def test_7zip_lists_the_fixed_date_and_still_extracts(
    tmp_path: Path, packed_zip: tuple[Path, str]
) -> None:
    zpath, passphrase = packed_zip
    listing = seven_zip("l", "-slt", str(zpath))
    assert listing.returncode == 0, listing.stderr
    modified = [line for line in listing.stdout.splitlines() if line.startswith("Modified = ")]
    assert modified == ["Modified = 1980-01-01 00:00:00"], listing.stdout

    dest = tmp_path / "by-7zip"
    dest.mkdir()
    first = seven_zip("x", str(zpath), f"-p{passphrase}", f"-o{dest}")
    assert first.returncode == 0, first.stdout + first.stderr
    with tarfile.open(dest / INNER_NAME) as tar:
        inner = tar.getmember("data/report.csv")
        # The member's own time is kept inside the encrypted tar.
        assert int(inner.mtime) == MEMBER_MTIME
    second = seven_zip("x", INNER_NAME, cwd=dest)
    assert second.returncode == 0, second.stdout + second.stderr
    restored = dest / "data" / "report.csv"
    assert restored.read_bytes() == b"id,value\n" + b"1,alpha\n" * 200
    assert int(restored.stat().st_mtime) == MEMBER_MTIME


def test_inspect_says_the_date_is_fixed(run_cli: RunCli, packed_zip: tuple[Path, str]) -> None:
    text = run_cli("inspect", "out.zip")
    assert text.code == 0, text.stderr
    assert "entry time   1980-01-01 00:00:00 (fixed: when it was packed is not recorded)" in (
        text.out
    )
    assert "packer's clock" not in text.out
    assert "the entry name and the two sizes, nothing else" in text.out
    doc = json.loads(run_cli("inspect", "out.zip", "--json").stdout)
    assert doc["packed_at"] == "1980-01-01 00:00:00"
    assert doc["packed_at_fixed"] is True
