"""Round-2 attack: a FIFO among the disc files an operator's glob picked up
(``securemedia verify /media/cdrom/*``; Rock Ridge can put one on a disc) is
refused at once instead of hanging the command at its first read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import RunCli
from securemedia.errors import UsageError
from securemedia.media.volume_set import is_volume_or_image, read_volume_info


def _fifos(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "ship.sm.001.iso", tmp_path / "ship.sm.002.iso"]
    for path in paths:
        os.mkfifo(path)
    return paths


def test_reading_a_fifo_as_a_disc_file_is_refused(tmp_path: Path) -> None:
    fifo = _fifos(tmp_path)[0]
    assert not is_volume_or_image(fifo)
    with pytest.raises(UsageError, match="not a file"):
        read_volume_info(fifo)


@pytest.mark.parametrize("command", [["verify"], ["unpack", "-p", "-o", "out"]])
def test_commands_on_a_glob_with_fifos_do_not_hang(
    tmp_path: Path, run_cli: RunCli, command: list[str]
) -> None:
    names = [p.name for p in _fifos(tmp_path)]
    result = run_cli(*command, *names, env={"SECUREMEDIA_PASSPHRASE": "x"}, timeout=60)
    assert result.code == UsageError.exit_code, result.stderr
    assert "ship.sm.001.iso: not a file" in result.stderr
