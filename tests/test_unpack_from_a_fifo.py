"""``unpack`` of an archive given as a named pipe (``<(cat ship.sm)``): telling a
compatibility ZIP from a native archive must not consume the pipe's first bytes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import KeyFiles, RunCli


def test_unpack_reads_an_archive_from_a_named_pipe(
    tmp_path: Path, run_cli: RunCli, make_keys: Callable[..., KeyFiles]
) -> None:
    key = make_keys("office")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "rows.csv").write_bytes(b"id,value\n1,2\n")
    packed = run_cli("pack", "export", "-o", "ship.sm", "-r", key.pub_path, "-q")
    assert packed.code == 0, packed.stderr
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write((tmp_path / "ship.sm").read_bytes())

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        result = run_cli("unpack", fifo, "-i", key.path, "-o", "out", "-q", timeout=60)
    finally:
        if feeder.is_alive():  # the CLI never opened the pipe: let the writer go
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        feeder.join(timeout=10)
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "export" / "rows.csv").read_bytes() == b"id,value\n1,2\n"


def test_telling_a_volume_never_opens_a_named_pipe(tmp_path: Path) -> None:
    """Opening a FIFO, even without blocking, releases a writer waiting in open():
    it would write into a pipe closed under it, and the real read that follows
    would wait forever (a race that made the test above hang under load)."""
    from securemedia.media.volume_set import is_volume_or_image

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:
        with fifo.open("wb"):
            opened.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert not is_volume_or_image(fifo)
        assert not opened.wait(0.5), "the probe opened the pipe"
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        thread.join(timeout=10)
