"""Run one child process and take the kernel's own measure of it.

Wall time covers fork to reap, so interpreter start-up and imports count, as
they do for a user. Peak memory is the child's ``ru_maxrss`` from ``os.wait4``
on its pid: the OS's accounting of that process alone, not of every child ever
reaped (which is what ``RUSAGE_CHILDREN`` gives). Both are taken by
``launch.py``, a small intermediate process: see its docstring for why a child
spawned straight from this (large) harness would report the wrong peak.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parent / "launch.py"


@dataclass(frozen=True)
class Measurement:
    """One process run: wall seconds, peak RSS (KiB, Linux units) and exit code."""

    seconds: float
    max_rss_kib: int
    returncode: int
    stderr: str


class CommandFailed(RuntimeError):
    """A measured command exited non-zero; carries its stderr for the report."""


def run_measured(
    argv: list[str],
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run ``argv`` under the launcher and return its measurement.

    ``stdin``/``stdout`` are files for tools that only stream (crypt4gh); they
    are opened in the child before exec, so only the tool's own work is timed.
    """
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(LAUNCHER), str(stdin or "-"), str(stdout or "-"), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        seconds, rss, code = done.stdout.split()
    except ValueError as exc:  # the launcher itself failed: surface why
        raise CommandFailed(f"launcher failed: {done.stderr.strip()}") from exc
    return Measurement(float(seconds), int(rss), int(code), done.stderr)


def launcher_floor_kib() -> int:
    """The ru_maxrss of a do-nothing command: readings near it are the floor."""
    return sorted(run_measured(["true"]).max_rss_kib for _ in range(3))[1]


def run_checked(
    argv: list[str],
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """``run_measured`` that raises ``CommandFailed`` on a non-zero exit."""
    m = run_measured(argv, stdin=stdin, stdout=stdout, env=env)
    if m.returncode != 0:
        tail = m.stderr.strip().splitlines()[-3:]
        raise CommandFailed(f"{' '.join(argv)} exited {m.returncode}: {' | '.join(tail)}")
    return m


def warm(path: Path) -> None:
    """Read ``path`` once so the timed run finds it in the page cache.

    This machine pages out cold page-cache pages within seconds (DAMON
    reclaim): an archive last touched a round ago would otherwise be read from
    disk by one run and from memory by the next.
    """
    buffer = bytearray(8 << 20)
    with path.open("rb", buffering=0) as f:
        while f.readinto(buffer):
            pass


def remove(path: Path) -> None:
    """Delete a file or directory tree if present (outputs between runs)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def tree_size(path: Path) -> int:
    """Bytes in a file, or in all files under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def capture(argv: list[str], env: dict[str, str] | None = None) -> str:
    """stdout+stderr of a quick command (versions, key generation); '' if missing."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()
