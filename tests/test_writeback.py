"""Page-cache advice on unpack's outputs (archive/writeback.py), and an unpack
whose output write fails midway through a multi-frame member."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import KeyFiles, make_archive
from securemedia.archive.compression import FRAME_CONTENT
from securemedia.archive.writeback import Writeback

WINDOW = 64 << 10  # small windows: many rounds of advice on a small file


def _data(size: int, seed: int) -> bytes:
    # Compressible but not trivial, so a compressed member has several frames.
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefghij,0123456789\n", k=8)) for _ in range(512)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


def test_advice_on_a_file_keeps_every_byte(tmp_path: Path) -> None:
    data = _data(7 * WINDOW + 123, seed=1)
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    advice = Writeback(fd, WINDOW)
    written = 0
    for start in range(0, len(data), 10_000):  # pieces that straddle the windows
        written += os.write(fd, data[start : start + 10_000])
        advice.written(written)
    os.close(fd)
    assert advice.active  # a regular file takes the advice: every round ran
    assert path.read_bytes() == data


def test_advice_on_a_pipe_turns_itself_off() -> None:
    read_end, write_end = os.pipe()
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read_end, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    data = _data(3 * WINDOW, seed=2)
    advice = Writeback(write_end, WINDOW)
    written = 0
    try:
        for start in range(0, len(data), WINDOW // 2):
            written += os.write(write_end, data[start : start + WINDOW // 2])
            advice.written(written)  # a pipe refuses (ESPIPE): no error, no more advice
    finally:
        os.close(write_end)
        reader.join()
        os.close(read_end)
    assert not advice.active
    assert bytes(received) == data


def test_unpack_to_stdout_through_a_pipe(
    make_keys: Callable[..., KeyFiles], tmp_path: Path
) -> None:
    keys = make_keys()
    content = _data(3 * FRAME_CONTENT + 5, seed=3)
    archive = tmp_path / "a.sm"
    archive.write_bytes(
        make_archive([("data.csv", content)], [keys.secret.public.recipient()], compress=True)
    )
    done = subprocess.run(
        [*_cli(), "unpack", str(archive), "-i", str(keys.path), "--stdout", "--quiet"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == content


def _cli() -> list[str]:
    return [sys.executable, "-c", "from securemedia.cli.main import main; main()"]


def _limit_file_size() -> None:
    # Any write past 2 frames fails with EFBIG (SIGXFSZ ignored, so the call
    # fails instead of killing the process): a disk that fills midway.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = 2 * FRAME_CONTENT + 4096
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_output_write_failing_midway_leaves_nothing(
    make_keys: Callable[..., KeyFiles], tmp_path: Path
) -> None:
    keys = make_keys()
    content = _data(5 * FRAME_CONTENT + 17, seed=4)  # six frames; the third write fails
    archive = tmp_path / "a.sm"
    archive.write_bytes(
        make_archive(
            [("small.txt", b"written before the big one\n"), ("big.csv", content)],
            [keys.secret.public.recipient()],
            compress=True,
        )
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "kept.txt").write_bytes(b"was here before")
    done = subprocess.run(
        [*_cli(), "unpack", str(archive), "-i", str(keys.path), "-o", str(dest)],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    # Nothing of the archive, not even the member written in full, and no
    # staging directory: the destination is as it was.
    assert sorted(p.name for p in dest.iterdir()) == ["kept.txt"]
    assert (dest / "kept.txt").read_bytes() == b"was here before"
