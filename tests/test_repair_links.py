"""``repair -o DIR`` against a neighbour who can write to DIR (issue 9): the
repaired copy is written through the one atomic-write primitive, so a link
planted at any name ``repair`` used to write to (its final name, or the
temporary names derived from the file name and the process id) is never
followed, with or without ``--force``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from media_support import SRC, one_image

VICTIM_TEXT = "root only\n"
MAIN = "from securemedia.cli.main import main; main()"


def _damaged_volume(tmp_path: Path) -> Path:
    image = one_image(tmp_path)
    with image.open("r+b") as fp:  # a scratch across a few sectors of data
        fp.seek(100 * 2048)
        fp.write(bytes(4 * 2048))
    return image


def _repair_with_links(image: Path, out: Path, victim: Path, *extra: str) -> int:
    """Run ``repair`` in a child that, before it starts, plants links to
    ``victim`` at every name derived from the file name and the child's own
    process id (what a neighbour watching the process table can predict)."""
    name = image.name

    def plant() -> None:
        pid = os.getpid()  # exec keeps it: the pid repair runs with
        part = f".{name}.repair-part"  # the names repair wrote to before issue 9
        for planted in (part, f".{part}.repair-{pid}.tmp", f".{name}.repair-{pid}.tmp"):
            os.symlink(victim, out / planted)

    # $PYTHONPATH first, so that the code under test is the one the suite runs on.
    env = {**os.environ, "PYTHONPATH": f"{os.environ.get('PYTHONPATH', '')}{os.pathsep}{SRC}"}
    done = subprocess.run(
        [sys.executable, "-c", MAIN, "repair", str(image), "-o", str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        preexec_fn=plant,
    )
    return done.returncode


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_repair_follows_no_link_planted_in_its_output_directory(
    tmp_path: Path, force: bool
) -> None:
    image = _damaged_volume(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text(VICTIM_TEXT)
    victim.chmod(0o600)
    out = tmp_path / "out"
    out.mkdir()
    if force:
        (out / image.name).symlink_to(victim)  # at the final name too
    code = _repair_with_links(image, out, victim, *(["--force"] if force else []))
    assert code == 0
    assert victim.read_bytes() == VICTIM_TEXT.encode() and (victim.stat().st_mode & 0o777) == 0o600
    repaired = out / image.name
    assert not repaired.is_symlink() and repaired.stat().st_size == image.stat().st_size
