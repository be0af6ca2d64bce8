"""Issue #9, a killed unpack: a real ``securemedia unpack`` killed with SIGKILL
while it writes a member leaves no unverified plaintext reachable (members are
written into anonymous ``O_TMPFILE`` files and named only once verified), nothing
at a final name, and the next run into the same destination removes the stale
staging directory and says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import child_env, diff_r, start_cli
from conftest import KeyFiles, _entry_point
from securemedia import ArchiveWriter
from securemedia.archive.staging import STAGING_PREFIX

BIG = 64 << 20


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def _writing_big_member(pid: int, dest: Path) -> bool:
    """Whether process ``pid`` has a file open for writing under ``dest`` (named
    or anonymous) that already holds more than a few MB: the big member, mid-way."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        for fd in fds.iterdir():
            target = os.readlink(fd)
            if target.startswith(str(dest)) and os.stat(fd).st_size > 4 << 20:
                return True
    except OSError:
        pass  # the process or one of its descriptors went away meanwhile
    return False


def test_killed_unpack_leaves_no_unverified_plaintext_and_the_next_run_cleans_up(
    tmp_path: Path, key: KeyFiles
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "first.txt").write_bytes(b"small and first\n")
    big = os.urandom(1 << 20) * (BIG >> 20)
    (data / "registry.bin").write_bytes(big)
    archive = tmp_path / "ship.sm"
    with archive.open("wb") as sink, ArchiveWriter(sink, [key.secret.public.recipient()]) as w:
        w.add_path(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("the office's own file")

    proc = start_cli(["unpack", archive, "-i", key.path, "-o", dest, "-q"], tmp_path)
    deadline = time.monotonic() + 120
    while not _writing_big_member(proc.pid, dest):
        assert proc.poll() is None, "the unpack ended before it could be killed"
        assert time.monotonic() < deadline, "the unpack never wrote the big member"
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.stderr is not None
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # Nothing at a final name; the only plaintext anywhere is complete, verified
    # members (here the small one, if it was named before the kill).
    leftovers = sorted(os.listdir(dest))
    assert [n for n in leftovers if not n.startswith(STAGING_PREFIX)] == ["mine.txt"]
    assert len(leftovers) == 2, leftovers
    staged = dest / leftovers[0]
    for path in staged.rglob("*"):
        if path.is_file() and path.name != "lock":
            assert path.read_bytes() == (data / path.name).read_bytes(), path
    assert not [p for p in staged.rglob("registry.bin")], "unverified plaintext left"

    # The next run into the same destination removes it and says so.
    again = subprocess.run(
        [*_entry_point(), "unpack", str(archive), "-i", str(key.path), "-o", str(dest), "-q"],
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
        start_new_session=True,
    )
    assert again.returncode == 0, again.stderr
    assert f"removed {staged}" in again.stderr
    assert sorted(os.listdir(dest)) == ["data", "mine.txt"]
    diff_r(data, dest / "data")
