"""Guards for code that tidy made one, through the real CLI: an existing output
is refused in one wording whichever command meets it (``PATH already exists
(use --force to overwrite)``: ``atomic.already_exists`` plus the CLI's hint,
exit 1, nothing replaced), and files are told apart by their first bytes in one
place (``header.is_archive_file``, ``compat_zip.is_compat_zip``)."""

from __future__ import annotations

import io
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


def test_repair_names_a_compat_zip(tmp_path: Path, run_cli: RunCli) -> None:
    """repair recognises a compat ZIP by its bytes (repair_advice, header.is_archive_file)."""
    pytest.importorskip("pyzipper")
    (tmp_path / "f.txt").write_text("x")
    packed = run_cli(
        "pack", "f.txt", "-o", "s.bin", "--format", "zip", "--passphrase-out", "s.pass"
    )  # fmt: skip
    assert packed.code == 0, packed.stderr
    result = run_cli("repair", "s.bin", "-o", "fixed")
    assert result.code == 2
    assert "s.bin: a compat ZIP (pack --format zip): it carries no recovery data" in result.stderr


def test_require_signer_refuses_raw_keys_before_opening(tmp_path: Path) -> None:
    """One check of ``require_signer`` (arguments.require_signer_argument), for the
    API and ArchiveReader alike: a raw 32-byte key is refused before any file is read."""
    import securemedia

    with (
        pytest.raises(TypeError, match="require_signer takes securemedia PublicKey objects"),
        securemedia.open_archive(tmp_path / "absent.sm", [], require_signer=[bytes(32)]),
    ):
        pass
    with pytest.raises(TypeError, match=r"not bytes$"):
        securemedia.ArchiveReader(io.BytesIO(b""), [], require_signer=[bytes(32)])
