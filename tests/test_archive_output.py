"""Issue #3, operator comfort: a rich progress bar on stderr only when stderr
is a terminal (a real pty here) and never with --quiet; --json on pack,
unpack, list and inspect prints one JSON document; ``-o -`` puts the archive
on stdout and the JSON on stderr."""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest

from archive_helpers import diff_r, make_tree
from conftest import KeyFiles, RunCli, _entry_point


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@pytest.fixture
def big_input(tmp_path: Path) -> Path:
    """Large enough (about 2 s of work) for the bar to be drawn several times."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(64_000_000))
    return path


def _run_with_pty_stderr(args: list[str | os.PathLike[str]], cwd: Path) -> tuple[int, bytes]:
    """Run the CLI with stderr on a pseudo-terminal; returns (exit code, what
    the terminal received)."""
    master, slave = os.openpty()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "COLUMNS": "120",
    }
    if "PYTHONPATH" in os.environ:  # a checkout under test (a worktree) runs its own code
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    proc = subprocess.Popen(
        [*_entry_point(), *(os.fspath(a) for a in args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    received = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                received += data
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    return proc.wait(timeout=120), bytes(received)


def test_progress_bar_on_a_terminal_only(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, big_input: Path
) -> None:
    code, terminal = _run_with_pty_stderr(
        ["pack", big_input, "-o", "a.sm", "-r", key.pub_path], tmp_path
    )
    assert code == 0, terminal.decode(errors="replace")
    text = terminal.decode(errors="replace")
    assert "packing" in text
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert "MB" in text  # the byte counter column

    code, terminal = _run_with_pty_stderr(["unpack", "a.sm", "-i", key.path, "-o", "out"], tmp_path)
    assert code == 0, terminal.decode(errors="replace")
    assert "unpacking" in terminal.decode(errors="replace")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big_input.read_bytes()

    # --quiet on a terminal: nothing at all.
    code, terminal = _run_with_pty_stderr(
        ["pack", big_input, "-o", "b.sm", "-r", key.pub_path, "--quiet"], tmp_path
    )
    assert code == 0
    assert terminal == b""

    # A pipe: no bar, no control sequences; one summary line at most.
    piped = run_cli("pack", big_input, "-o", "c.sm", "-r", key.pub_path)
    assert piped.code == 0
    assert "packing" not in piped.stderr and "\x1b" not in piped.stderr
    assert len(piped.stderr.splitlines()) <= 1
    quiet = run_cli("unpack", "c.sm", "-i", key.path, "-o", "out2", "-q")
    assert quiet.code == 0 and quiet.stderr == "" and quiet.stdout == b""


def test_json_documents(tmp_path: Path, run_cli: RunCli, key: KeyFiles) -> None:
    data = make_tree(tmp_path / "dataset")
    packed = run_cli("pack", data, "-o", "ship.sm", "-r", key.pub_path, "--json")
    assert packed.code == 0, packed.stderr
    doc = json.loads(packed.stdout)  # one document, nothing else on stdout
    archive = tmp_path / "ship.sm"
    assert doc["archive"] == "ship.sm"
    assert doc["archive_bytes"] == archive.stat().st_size
    assert doc["input_bytes"] == sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert isinstance(doc["elapsed_seconds"], float | int) and doc["elapsed_seconds"] >= 0
    assert len(doc["recipients"]) == 1
    assert key.secret.public.fingerprint in doc["recipients"][0]
    files = {m["path"]: m for m in doc["members"] if m["type"] == "file"}
    assert files["dataset/æøå/Straße.txt"]["blake3"] == (
        blake3.blake3((data / "æøå" / "Straße.txt").read_bytes()).hexdigest()
    )
    assert files["dataset/empty.txt"]["size"] == 0

    inspected = json.loads(run_cli("inspect", "ship.sm", "--json").stdout)
    assert inspected["archive_id"] == doc["archive_id"]
    assert inspected["archive_bytes"] == doc["archive_bytes"]
    assert [r["kind"] for r in inspected["recipients"]] == ["X25519 (HPKE)"]
    assert "dataset" not in json.dumps(inspected, ensure_ascii=False)

    listed = json.loads(run_cli("list", "ship.sm", "-i", key.path, "--json").stdout)
    assert listed["archive_id"] == doc["archive_id"]
    assert {m["path"]: m["blake3"] for m in listed["members"]} == {
        m["path"]: m["blake3"] or "" for m in doc["members"]
    }

    unpacked = run_cli("unpack", "ship.sm", "-i", key.path, "-o", "out", "--json")
    assert unpacked.code == 0, unpacked.stderr
    report = json.loads(unpacked.stdout)
    assert report["archive_id"] == doc["archive_id"]
    assert report["destination"] == "out"
    assert {m["path"] for m in report["members"]} == {m["path"] for m in doc["members"]}
    assert report["elapsed_seconds"] >= 0
    diff_r(data, tmp_path / "out" / "dataset")


def test_archive_to_stdout_puts_json_on_stderr(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    data = make_tree(tmp_path / "dataset")
    packed = run_cli("pack", data, "-o", "-", "-r", key.pub_path, "--json")
    assert packed.code == 0, packed.stderr
    doc = json.loads(packed.stderr)
    assert doc["archive_bytes"] == len(packed.stdout)
    (tmp_path / "piped.sm").write_bytes(packed.stdout)
    inspected = json.loads(run_cli("inspect", "piped.sm", "--json").stdout)
    assert inspected["archive_id"] == doc["archive_id"]
    # The piped archive unpacks from a pipe too.
    result = run_cli("unpack", "-", "-i", key.path, "-o", "out", "-q", stdin=packed.stdout)
    assert result.code == 0, result.stderr
    diff_r(data, tmp_path / "out" / "dataset")
