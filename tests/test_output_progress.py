"""Progress on every long phase, on a terminal only (issue 11, "Progress and silence").

Each command runs for real under a pseudo-terminal (stderr is the terminal,
stdout a pipe, as when an operator redirects the results): every phase's label
must be drawn. The same commands in a pipe must print no progress at all, and
``-q`` must silence it on a terminal too.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from media_support import cli

SRC = Path(__file__).resolve().parents[1] / "src"
_MAIN = "from securemedia.cli.main import main; main()"
PHASE_WORDS = (
    "packing",
    "writing image",
    "recovery data",
    "reading back",
    "spare discs",
    "checking",
    "authenticating",
    "repairing",
    "rebuilding",
    "unpacking",
)


def on_terminal(*args: str | Path) -> tuple[int, str, str]:
    """Run ``securemedia ARGS`` with stderr on a pseudo-terminal (200 columns)
    and stdout on a pipe: (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "TERM": "xterm",
        "COLUMNS": "200",
    }
    env.pop("NO_COLOR", None)
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-c", _MAIN, *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return result.returncode, result.stdout.decode(), shown.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key pair and about 1.5 MB of incompressible data (two discs of 1 MB)."""
    root = tmp_path_factory.mktemp("progress")
    made = cli("keygen", "--no-passphrase", "--classic", "-o", root / "office.key")
    assert made.returncode == 0, made.stderr
    data = root / "data"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(1_500_000))
    return root


def pack_discs(work: Path, out: Path, *extra: str) -> list[str | Path]:
    return [
        "pack",
        work / "data",
        "-r",
        work / "office.key.pub",
        "-o",
        out / "ship.sm",
        "--media",
        "1MB",
        "--iso",
        *extra,
    ]


def test_pack_media_iso_shows_each_phase(work: Path, tmp_path: Path) -> None:
    code, _out, shown = on_terminal(*pack_discs(work, tmp_path, "--spare-discs", "1"))
    assert code == 0, shown
    for label in ("packing", "spare discs", "reading back", "reading back spare discs"):
        assert label in shown, (label, shown)
    count = len(list(tmp_path.glob("ship.sm.*.iso")))
    assert count >= 3
    for number in range(1, count + 1):  # every disc, the spare last
        for step in ("writing image", "recovery data"):
            assert f"disc {number} of {count}: {step}" in shown, (number, step, shown)


def test_verify_repair_and_rebuild_show_progress(work: Path, tmp_path: Path) -> None:
    made = cli(*pack_discs(work, tmp_path, "--spare-discs", "1"))
    assert made.returncode == 0, made.stderr
    discs = sorted(tmp_path.glob("ship.sm.*.iso"))
    assert len(discs) >= 3
    code, _out, shown = on_terminal("verify", *discs)
    assert code == 0, shown
    assert f"checking {discs[0].name}" in shown and f"checking {discs[2].name}" in shown
    code, _out, shown = on_terminal("verify", "-i", work / "office.key", *discs)
    assert code == 0, shown
    assert "authenticating" in shown
    # Scratch disc 1 and leave disc 2 out: repair mends one, rebuilds the other.
    with discs[0].open("r+b") as fp:
        fp.seek(40 * 2048)
        fp.write(bytes(4096))
    given = [d for d in discs if d != discs[1]]
    code, _out, shown = on_terminal("repair", *given, "-o", tmp_path / "fixed")
    assert code == 0, shown
    for label in (f"checking {discs[0].name}", f"repairing {discs[0].name}", "rebuilding"):
        assert label in shown, (label, shown)
    # A rebuilt disc is made as packing made it.
    assert f"disc 2 of {len(discs)}: recovery data" in shown


def test_zip_and_unpack_show_progress(work: Path, tmp_path: Path) -> None:
    code, _out, shown = on_terminal(
        "pack",
        work / "data",
        "--format",
        "zip",
        "--passphrase-out",
        tmp_path / "pass.txt",
        "-o",
        tmp_path / "ship.zip",
    )
    assert code == 0, shown
    assert "packing" in shown
    packed = cli("pack", work / "data", "-r", work / "office.key.pub", "-o", tmp_path / "a.sm")
    assert packed.returncode == 0, packed.stderr
    code, _out, shown = on_terminal(
        "unpack", tmp_path / "a.sm", "-i", work / "office.key", "-o", tmp_path / "out"
    )
    assert code == 0, shown
    assert "unpacking" in shown


Runner = Callable[..., tuple[int, str, str]]


def _in_pipe(*args: str | Path) -> tuple[int, str, str]:
    result = cli(*args)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("runner", "quiet"), [(_in_pipe, False), (on_terminal, True)], ids=["pipe", "terminal -q"]
)
def test_no_progress_in_a_pipe_or_with_quiet(
    work: Path, tmp_path: Path, runner: Runner, quiet: bool
) -> None:
    q = ["-q"] if quiet else []
    out = tmp_path / "set"
    out.mkdir()
    seen = []
    code, _o, err = runner(*pack_discs(work, out, "--spare-discs", "1", *q))
    assert code == 0, err
    seen.append(err)
    discs = sorted(out.glob("ship.sm.*.iso"))
    for args in (
        ["verify", *discs, *q],
        ["verify", "-i", work / "office.key", *discs, *q],
        ["repair", *[d for d in discs if d != discs[1]], "-o", tmp_path / "fixed", *q],
        ["unpack", *discs, "-i", work / "office.key", "-o", tmp_path / "u", *q],
    ):
        code, _o, err = runner(*args)
        assert code == 0, err
        seen.append(err)
    for err in seen:
        for word in PHASE_WORDS:
            assert word not in err, (word, err)
        if quiet:
            assert "note:" not in err and "packed" not in err and "restored" not in err
