"""A disc set's day on a terminal, as plain text, and what drawing progress costs.

Runs ``keygen``, ``pack --media KIND --iso``, ``verify``, ``verify -i``,
``repair`` (one scratched disc) and ``unpack`` for real, each with stderr on a
pseudo-terminal, and prints what the operator saw: every progress phase's last
frame (colours and cursor moves removed), then the messages and results. This is
the "terminal recording" of issue 11.

With ``--repeat N`` it also times ``pack --media KIND --iso`` N times with stderr
on the terminal (progress drawn) and N times in a pipe (no progress) in the same
process, and prints the ratio of the medians: the cost of progress drawing.

    python benchmarks/terminal_session.py                      # 12 MB on 8MB "discs"
    python benchmarks/terminal_session.py --size 1400MB --media cd --repeat 1
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAIN = "from securemedia.cli.main import main; main()"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(args: list[str | Path], *, terminal: bool) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr as shown, seconds); stderr on a 120-column pty if asked."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env |= {"TERM": "xterm", "COLUMNS": "120"}
    command = [sys.executable, "-c", MAIN, *map(str, args)]
    started = time.monotonic()
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        return done.returncode, done.stdout, done.stderr, time.monotonic() - started
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=slave, text=True, env=env, check=False
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    seconds = time.monotonic() - started
    return done.returncode, done.stdout, shown.decode("utf-8", "replace"), seconds


def plain(shown: str) -> list[str]:
    """The last frame of each progress phase, then the lines that stayed."""
    frames: dict[str, str] = {}
    kept: list[str] = []
    for raw in re.split(r"\r\n|\n", shown):
        pieces = [_ANSI.sub("", p).rstrip() for p in raw.split("\r")]
        pieces = [p for p in pieces if p.strip()]
        bars = [p for p in pieces if "━" in p]
        for bar in bars:
            # The label is what precedes the bar, whose first cell may be a half cell.
            label = re.split("[━╸╺]", bar, maxsplit=1)[0].strip()
            frames[label] = bar
        kept += [p for p in pieces if "━" not in p]
    return [f"  [progress] {frame}" for frame in frames.values()] + kept


def session(work: Path, size: int, media: str) -> None:
    data = work / "export"
    data.mkdir()
    with (data / "registry.bin").open("wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    discs = work / "discs"
    discs.mkdir()
    steps: list[list[str | Path]] = [
        ["keygen", "--no-passphrase", "-o", work / "office.key"],
        ["pack", data, "-r", work / "office.key.pub", "-o", discs / "ship.sm", "--media", media,
         "--iso"],
        ["verify", "DISCS"],
        ["verify", "-i", work / "office.key", "DISCS"],
        ["repair", "DISC1", "-o", work / "fixed"],
        ["unpack", "DISCS", "-i", work / "office.key", "-o", work / "received"],
    ]  # fmt: skip
    for step in steps:
        images = sorted(discs.glob("ship.sm.*.iso"))
        if step[0] == "repair":
            with images[0].open("r+b") as fp:  # a scratch on disc 1
                fp.seek(64 * 2048)
                fp.write(bytes(16 * 2048))
        args: list[str | Path] = []
        for a in step:
            args += images if a == "DISCS" else [images[0]] if a == "DISC1" else [a]
        code, out, err, seconds = run(args, terminal=True)
        shown = " ".join(str(a).replace(str(work) + os.sep, "") for a in args)
        print(f"$ securemedia {shown}")
        for line in plain(err):
            print(line.replace(str(work) + os.sep, ""))
        for line in out.splitlines()[:12]:
            print(line.replace(str(work) + os.sep, ""))
        print(f"# exit {code}, {seconds:.1f} s\n")


def cost(work: Path, size: int, media: str, repeat: int) -> None:
    data = work / "cost"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(size))
    run(["keygen", "--no-passphrase", "-o", work / "k.key"], terminal=False)
    times: dict[bool, list[float]] = {True: [], False: []}
    for n in range(repeat):
        for terminal in (False, True):
            out = work / f"c{n}{terminal}"
            out.mkdir()
            args: list[str | Path] = ["pack", data, "-r", work / "k.key.pub", "-o", out / "s.sm"]
            code, _o, err, seconds = run([*args, "--media", media, "--iso"], terminal=terminal)
            if code != 0:
                sys.exit(f"pack failed: {err}")
            times[terminal].append(seconds)
            shutil.rmtree(out)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"pack --media {media} --iso of {size:,} bytes, median of {repeat}:")
    print(f"  stderr a terminal (progress drawn) {on:.2f} s, a pipe {off:.2f} s")
    print(f"  ratio {on / off:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="12MB", help="data to pack (MB)")
    parser.add_argument("--media", default="8MB")
    parser.add_argument("--repeat", type=int, default=0, help="time N packs each way")
    options = parser.parse_args()
    size = int(options.size.removesuffix("MB")) * 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        session(Path(tmp), size, options.media)
        if options.repeat:
            cost(Path(tmp), size, options.media, options.repeat)


if __name__ == "__main__":
    main()
