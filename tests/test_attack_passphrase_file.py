"""Round-2 attack (careless script): a passphrase file that is a pipe
(``--passphrase-file /dev/stdin``, ``<(...)``, or /dev/zero) says 0 bytes in
``stat``: it is read no further than the 64 KiB cap, never whole."""

from __future__ import annotations

from pathlib import Path

from conftest import RunCli
from securemedia.cli.passphrases import MAX_PASSPHRASE_FILE


def test_a_pipe_longer_than_the_cap_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "data.csv").write_text("id\n1\n")
    flood = b"correct horse battery staple " * ((MAX_PASSPHRASE_FILE // 29) + 100)
    result = run_cli(
        "pack", "-p", "--passphrase-file", "/dev/stdin", "data.csv", "-o", "out.sm", stdin=flood
    )
    assert result.code == 2, result.stderr
    assert "/dev/stdin: too large to be a passphrase file" in result.stderr
    assert not (tmp_path / "out.sm").exists()


def test_a_pipe_within_the_cap_still_works(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "data.csv").write_text("id\n1\n")
    phrase = b"tundra velvet quarry mango lantern\n"
    result = run_cli(
        "pack", "-p", "--passphrase-file", "/dev/stdin", "data.csv", "-o", "out.sm", stdin=phrase
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "out.sm").exists()
