"""Signals and a closed standard output, with real child processes and real signals.

SIGINT, SIGTERM and SIGHUP during ``pack`` exit 130, 143 and 129 after the same
cleanup (no output, temporary file, passphrase file or volume left next to the
target); a reader that closes our standard output ends the run quietly with 141.
The same signals during ``unpack`` leave DEST as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import default_signals
from conftest import KeyFiles, _entry_point

STARTUP_TIMEOUT = 60.0


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _start(tmp_path: Path, *args: str | Path, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [*_entry_point(), *map(str, args)],
        cwd=tmp_path,
        env=_env(tmp_path),
        start_new_session=True,
        stderr=subprocess.PIPE,
        preexec_fn=default_signals,
        **kw,
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        assert proc.poll() is None, (proc.returncode, proc.stderr and proc.stderr.read())
        assert time.monotonic() < deadline, "the command never started writing"
        time.sleep(0.01)


def _pack_data(tmp_path: Path, keys: KeyFiles) -> None:
    """``pack data -o a.sm`` in ``tmp_path``, for keys' public key; must succeed."""
    done = subprocess.run(
        [*_entry_point(), "pack", "data", "-o", "a.sm", "-r", str(keys.pub_path), "-q"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _new_files(directory: Path, before: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in before)


SIGNALS = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.parametrize("media", [False, True], ids=["file", "media"])
def test_signal_during_native_pack_cleans_up(
    tmp_path: Path, make_keys: Callable[..., KeyFiles], name: str, media: bool
) -> None:
    """``pack -`` blocks on a pipe the test holds open: the signal arrives while
    the archive (or the first volume) is half-written, every time."""
    keys = make_keys("alice")
    before = {p.name for p in tmp_path.iterdir()}
    extra = ["--media", "2MB"] if media else []
    proc = _start(
        tmp_path, "pack", "-", "-o", "out.sm", "-r", keys.pub_path, "-q", *extra,
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(os.urandom(300_000))
    proc.stdin.flush()
    _wait_for(lambda: bool(_new_files(tmp_path, before)), proc)
    proc.send_signal(getattr(signal, name))
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode()
    assert code == SIGNALS[name], (code, stderr)
    assert len(stderr.splitlines()) == 1 and stderr.startswith("securemedia: error: "), stderr
    assert _new_files(tmp_path, before) == []


@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_during_zip_pack_cleans_up(tmp_path: Path, name: str) -> None:
    """A compatibility ZIP of a large (sparse) file: signalled once its temporary
    file appears; neither the ZIP nor the passphrase file stays."""
    data = tmp_path / "data"
    data.mkdir()
    with (data / "big.bin").open("wb") as handle:
        handle.truncate(1 << 30)
    before = {p.name for p in tmp_path.iterdir()}
    proc = _start(
        tmp_path, "pack", "data", "-o", "out.zip", "--format", "zip",
        "--passphrase-out", "out.pw", "-q",
    )  # fmt: skip
    assert proc.stderr is not None
    # The passphrase file comes first: wait for the ZIP's own temporary file.
    _wait_for(lambda: len(_new_files(tmp_path, before)) >= 2, proc)
    proc.send_signal(getattr(signal, name))
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    assert code == SIGNALS[name], (code, stderr)
    assert len(stderr.splitlines()) == 1, stderr
    assert _new_files(tmp_path, before) == []


def _staged_files(dest: Path) -> list[Path]:
    """Members already named in a staging directory (``.securemedia-partial-*``)."""
    return [
        p
        for staging in dest.glob(".securemedia-partial-*")
        for p in staging.rglob("*")
        if p.is_file() and p.name != "lock"
    ]


@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_during_unpack_removes_all_it_staged(
    tmp_path: Path, make_keys: Callable[..., KeyFiles], name: str
) -> None:
    """A dropped SSH session or a scheduler's SIGTERM while ``unpack`` writes:
    the exit code says which signal, and DEST holds exactly what it held before
    (no staging directory, no decrypted plaintext left for anyone to find).
    Signalled once the first member is named in staging, with 31 members of
    8 MiB (compressed zeros, so the archive is small) still to write."""
    keys = make_keys("alice")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(32):
        with (data / f"part-{i:02}.bin").open("wb") as handle:
            handle.truncate(8 << 20)
    _pack_data(tmp_path, keys)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("the office's own")
    before = sorted(p.name for p in dest.iterdir())
    proc = _start(tmp_path, "unpack", "a.sm", "-i", keys.path, "-o", dest, "-q")
    assert proc.stderr is not None
    _wait_for(lambda: bool(_staged_files(dest)), proc)
    proc.send_signal(getattr(signal, name))
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    assert code == SIGNALS[name], (code, stderr)
    assert len(stderr.splitlines()) == 1 and stderr.startswith("securemedia: error: "), stderr
    assert sorted(p.name for p in dest.iterdir()) == before
    assert (dest / "mine.txt").read_text() == "the office's own"


def test_signal_ignored_by_the_parent_stays_ignored(
    tmp_path: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    """Under ``nohup`` (SIGHUP ignored) a hang-up does not stop the run."""
    keys = make_keys("alice")
    proc = subprocess.Popen(
        [*_entry_point(), "pack", "-", "-o", "out.sm", "-r", str(keys.pub_path), "-q"],
        cwd=tmp_path,
        env=_env(tmp_path),
        start_new_session=True,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"rows\n" * 1000)
    proc.stdin.flush()
    _wait_for(lambda: any(p.name.startswith(".out.sm") for p in tmp_path.iterdir()), proc)
    proc.send_signal(signal.SIGHUP)
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert (tmp_path / "out.sm").is_file()


# -- a closed standard output ---------------------------------------------------------------


def _closed_stdout_run(tmp_path: Path, *args: str | Path) -> tuple[int, str]:
    """Run with a standard output nobody reads (the pipe's read end is closed
    before the child starts), as ``| head`` looks once head has exited."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = _start(tmp_path, *args, stdout=write_end, stdin=subprocess.DEVNULL)
    finally:
        os.close(write_end)
    _out, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


@pytest.fixture
def archive(tmp_path: Path, make_keys: Callable[..., KeyFiles]) -> tuple[KeyFiles, Path]:
    keys = make_keys("alice")
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(2_000_000))
    for i in range(50):
        (data / f"small-{i:02}.txt").write_text("x")
    _pack_data(tmp_path, keys)
    return keys, tmp_path / "a.sm"


CLOSED = {
    "pack-native": ("pack", "data", "-o", "-", "-r", "alice.pub", "-q"),
    "pack-zip": ("pack", "data", "-o", "-", "--format", "zip", "--passphrase-out", "p.pw", "-q"),
    "unpack-stdout": ("unpack", "a.sm", "-i", "alice", "--stdout", "--member", "data/big.bin"),
    "list": ("list", "a.sm", "-i", "alice"),
    "list-json": ("list", "a.sm", "-i", "alice", "--json"),
    "inspect": ("inspect", "a.sm"),
    "plan": ("plan", "data", "--media", "cd"),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_closed_stdout_ends_quietly(
    tmp_path: Path, archive: tuple[KeyFiles, Path], name: str
) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    code, stderr = _closed_stdout_run(tmp_path, *CLOSED[name])
    assert (code, stderr) == (141, "")
    # Nothing is left behind (pack --format zip removes its passphrase file too).
    assert _new_files(tmp_path, before) == []
