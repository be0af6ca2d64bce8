"""Issue #3, crash safety: a ``pack`` or ``unpack`` killed with SIGKILL at any
moment leaves nothing at the final output path that looks complete.

Real processes, killed at random points while they write (after their
partial output has appeared). Afterwards the final path is either absent or
holds the complete result (the kill came after the final rename), and the
only other leftovers are ``.NAME.partial-*`` files (pack) or
``.securemedia-partial-*`` directories (unpack).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import diff_r, start_cli
from conftest import KeyFiles
from securemedia import ArchiveReader

KILLS = 4


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """About 60 MB in one top-level folder: enough for a run of about a second."""
    root = tmp_path / "dataset"
    (root / "parts").mkdir(parents=True)
    (root / "random.bin").write_bytes(os.urandom(28_000_000))
    line = b"12345678,1987,F,0301,K35.8,2015-03-02,2015-03-05,Ullevaal,N02BE01,4711.50\n"
    (root / "registry.csv").write_bytes(line * 400_000)
    for i in range(300):
        (root / "parts" / f"part-{i:03d}.txt").write_bytes(os.urandom(200) * (i + 1))
    (root / "empty").mkdir()
    return root


def _writing_window(
    args: list[str | os.PathLike[str]], cwd: Path, partial_present: Callable[[], bool]
) -> float:
    """Run to completion; return how long its partial output existed (from
    its appearance to the end of the process): the window to kill it in."""
    proc = start_cli(args, cwd)
    deadline = time.monotonic() + 120
    while not partial_present() and proc.poll() is None:
        assert time.monotonic() < deadline, "no partial output appeared"
        time.sleep(0.002)
    appeared = time.monotonic()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return time.monotonic() - appeared


def _kill_while_writing(
    proc: subprocess.Popen[bytes],
    partial_present: Callable[[], bool],
    delay: float,
) -> bool:
    """Wait until the run's partial output exists, then ``delay`` seconds more,
    then SIGKILL it. Returns whether the kill came before the process ended."""
    deadline = time.monotonic() + 60
    while not partial_present() and proc.poll() is None:
        assert time.monotonic() < deadline, "no partial output appeared"
        time.sleep(0.002)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.stderr is not None
    proc.stderr.close()
    return alive and proc.returncode == -signal.SIGKILL


def test_killed_pack_leaves_no_complete_looking_archive(
    tmp_path: Path, dataset: Path, key: KeyFiles
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    window = _writing_window(
        ["pack", dataset, "-o", out / "full.sm", "-r", key.pub_path, "-q"],
        out,
        lambda: any(p.name.startswith(".full.sm.partial-") for p in out.iterdir()),
    )
    (out / "full.sm").unlink()
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    killed_mid_write = 0
    for attempt in range(KILLS):
        target = out / f"ship-{attempt}.sm"
        proc = start_cli(["pack", dataset, "-o", target, "-r", key.pub_path, "-q"], out)

        def partial(target: Path = target) -> bool:
            return any(p.name.startswith(f".{target.name}.partial-") for p in out.iterdir())

        delay = rng.uniform(0, window * 0.8)
        killed = _kill_while_writing(proc, partial, delay)
        leftovers = [p.name for p in out.iterdir()]
        note = f"seed={seed} attempt={attempt} delay={delay:.3f}s leftovers={leftovers}"
        for name in leftovers:
            assert name == target.name or name.startswith(f".{target.name}.partial-"), note
        if target.exists():
            # Only ever renamed into place complete: it opens and verifies.
            with target.open("rb") as handle:
                ArchiveReader(handle, [key.secret.identity()]).verify()
        else:
            assert killed, note
        killed_mid_write += not target.exists()
        for name in leftovers:
            (out / name).unlink()
    # The test really killed runs in the middle (not only after they finished).
    assert killed_mid_write >= KILLS // 2, f"seed={seed}"


def test_killed_unpack_leaves_no_member_at_its_final_path(
    tmp_path: Path, dataset: Path, key: KeyFiles
) -> None:
    archive = tmp_path / "ship.sm"
    _writing_window(
        ["pack", dataset, "-o", archive, "-r", key.pub_path, "-q"], tmp_path, lambda: False
    )
    probe = tmp_path / "probe"
    probe.mkdir()
    window = _writing_window(
        ["unpack", archive, "-i", key.path, "-o", probe, "-q"],
        tmp_path,
        lambda: any(p.name.startswith(".securemedia-partial-") for p in probe.iterdir()),
    )
    diff_r(dataset, probe / "dataset")
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    killed_mid_write = 0
    for attempt in range(KILLS):
        dest = tmp_path / f"dest-{attempt}"
        dest.mkdir()
        (dest / "already-here.txt").write_text("the office's own file")
        proc = start_cli(["unpack", archive, "-i", key.path, "-o", dest, "-q"], tmp_path)

        def partial(dest: Path = dest) -> bool:
            return any(p.name.startswith(".securemedia-partial-") for p in dest.iterdir())

        delay = rng.uniform(0, window * 0.8)
        killed = _kill_while_writing(proc, partial, delay)
        leftovers = sorted(p.name for p in dest.iterdir())
        note = f"seed={seed} attempt={attempt} delay={delay:.3f}s leftovers={leftovers}"
        for name in leftovers:
            assert name in ("already-here.txt", "dataset") or name.startswith(
                ".securemedia-partial-"
            ), note
        assert (dest / "already-here.txt").read_text() == "the office's own file"
        if (dest / "dataset").exists():
            diff_r(dataset, dest / "dataset")  # all of it, or nothing
        else:
            assert killed, note
            killed_mid_write += 1
    assert killed_mid_write >= KILLS // 2, f"seed={seed}"
