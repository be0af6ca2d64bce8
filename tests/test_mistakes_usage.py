"""Issue 11, mistakes that point to the fix: ``pack -o DIR``, options that need
``--media``, the real smallest ``--media SIZE``, and ``plan`` on a tiny input.
Each through the real CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli
from securemedia.errors import UsageError
from securemedia.media.plan import smallest_medium, volume_capacity
from securemedia.media.sizes import MIN_SIZE, SECTOR, Medium


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    root.mkdir()
    (root / "rows.csv").write_bytes(b"id,value\n1,2\n")
    return root


@pytest.mark.parametrize("spelling", ["outdir", "outdir/"])
def test_pack_to_a_directory_names_a_file_inside_it(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, export: Path, spelling: str
) -> None:
    (tmp_path / "outdir").mkdir()
    for extra in ([], ["--force"]):
        result = run_cli("pack", "export", "-o", spelling, "-r", key.pub_path, *extra)
        assert result.code == 2, result.stderr
        assert "--force" not in result.stderr  # it could never replace a directory
        assert "-o names the archive file" in result.stderr
        assert f"-o {Path('outdir') / 'export.sm'}" in result.stderr
        assert result.stderr.count("\n") == 1
    assert list((tmp_path / "outdir").iterdir()) == []  # no hidden temporary either
    zipped = run_cli("pack", "export", "-o", "outdir", "--format", "zip")
    assert zipped.code == 2 and "-o outdir/export.zip" in zipped.stderr


def test_media_set_name_beside_a_directory_but_not_inside_it(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, export: Path
) -> None:
    (tmp_path / "ship").mkdir()
    inside = run_cli("pack", "export", "-o", "ship/", "-r", key.pub_path, "--media", "2MB")
    assert inside.code == 2 and "-o ship/export.sm" in inside.stderr
    beside = run_cli("pack", "export", "-o", "ship", "-r", key.pub_path, "--media", "2MB", "-q")
    assert beside.code == 0, beside.stderr
    assert (tmp_path / "ship.001.smv").is_file()


def test_pack_into_the_suggested_name_works(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, export: Path
) -> None:
    (tmp_path / "outdir").mkdir()
    result = run_cli("pack", "export", "-o", "outdir/export.sm", "-r", key.pub_path, "-q")
    assert result.code == 0, result.stderr
    assert (tmp_path / "outdir" / "export.sm").is_file()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--iso"], "--iso needs --media"),
        (["--redundancy", "10%"], "--redundancy needs --media"),
        (["--iso", "--redundancy", "10%"], "--iso and --redundancy need --media"),
        (
            ["--iso", "--redundancy", "10%", "--no-verify"],
            "--iso, --redundancy and --no-verify need --media",
        ),
    ],
)
def test_options_that_need_media_say_so_in_plain_words(
    run_cli: RunCli, key: KeyFiles, export: Path, options: list[str], message: str
) -> None:
    result = run_cli("pack", "export", "-o", "x.sm", "-r", key.pub_path, *options)
    assert result.code == 2
    assert result.stderr.strip() == f"securemedia: error: {message}"


@pytest.mark.parametrize("redundancy", [None, 0.15, 1.0])
def test_smallest_medium_is_the_real_minimum(redundancy: float | None) -> None:
    for iso in (False, True):
        least = smallest_medium(iso=iso, redundancy=redundancy)
        assert least >= MIN_SIZE and least % SECTOR == 0
        volume_capacity(Medium("x", least), iso=iso, redundancy=redundancy)
        if least > MIN_SIZE:
            with pytest.raises(UsageError, match=f"at least {least // 1024:,}KiB"):
                volume_capacity(Medium("x", least - SECTOR), iso=iso, redundancy=redundancy)


def test_documented_iso_minimum_matches_the_code() -> None:
    root = Path(__file__).resolve().parent.parent
    media_md = " ".join((root / "docs" / "MEDIA.md").read_text(encoding="utf-8").split())
    default = smallest_medium(iso=True, redundancy=0.15) // 1024
    none = smallest_medium(iso=True, redundancy=None) // 1024
    full = smallest_medium(iso=True, redundancy=1.0) // 1024
    assert f"at least {default:,} KiB with the default 15 % recovery data" in media_md
    assert f"({none:,} KiB with none, {full:,} KiB" in media_md
    assert MIN_SIZE == 256 * 1024 and "must be at least 256 KiB" in media_md


def test_media_300kib_with_iso_names_the_real_minimum(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, export: Path
) -> None:
    least = smallest_medium(iso=True, redundancy=0.15, base_name="ship.sm") // 1024
    small = run_cli("pack", "export", "-o", "ship.sm", "-r", key.pub_path, "--media", "300KiB",
                    "--iso")  # fmt: skip
    assert small.code == 2
    expected = (
        f"too small for ISO images with 15% recovery data: a SIZE must be at least {least:,}KiB"
    )
    assert expected in small.stderr, small.stderr
    fits = run_cli("pack", "export", "-o", "ship.sm", "-r", key.pub_path, "-q",
                   "--media", f"{least}KiB", "--iso")  # fmt: skip
    assert fits.code == 0, fits.stderr
    assert (tmp_path / "ship.sm.001.iso").is_file()
    plain = run_cli("pack", "export", "-o", "plain.sm", "-r", key.pub_path, "-q",
                    "--media", "256KiB")  # fmt: skip
    assert plain.code == 0, plain.stderr
    under = run_cli("plan", "export", "--media", "255KiB")
    assert under.code == 2 and "at least 256KiB" in under.stderr


def test_plan_of_a_tiny_input_never_samples_more_than_the_input(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "tiny.txt").write_bytes(b"hi\n")
    result = run_cli("plan", "tiny.txt", "--media", "cd")
    assert result.code == 0, result.stderr
    # Smaller than the fixed overhead: no ratio shown (test_polish_plan_tiny).
    assert "fixed overhead exceeds the input" in result.out
    assert "inputs:   1 file(s), 3 bytes" in result.out
    assert "sample" not in result.out
    doc = json.loads(run_cli("plan", "tiny.txt", "--media", "cd", "--json").out)
    assert doc["estimate"]["sampled_bytes"] == doc["estimate"]["content_bytes"] == 3


def test_plan_samples_a_large_input_without_overlap(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "a.bin").write_bytes(os.urandom(3 << 20))
    (tmp_path / "b.bin").write_bytes(bytes(3 << 20))
    doc = json.loads(run_cli("plan", "a.bin", "b.bin", "--media", "cd", "--json").out)
    estimate = doc["estimate"]
    assert estimate["content_bytes"] == 6 << 20
    assert estimate["sampled_bytes"] == 64 * 64 * 1024  # 64 whole, distinct blocks
    assert 0.4 < estimate["ratio"] < 0.6  # half random, half zeros
