"""Fork, exec and ``wait4`` one command from a small process; print its measure.

Why a separate launcher: Linux carries a process's memory high-water mark
across ``exec``, and Python's subprocess forks with vfork/posix_spawn, so a
child spawned straight from the (large) harness reports the harness's peak RSS
as its own ``ru_maxrss``. Forked from this process, started with ``-S -I`` and
importing nothing but ``os``/``sys``/``time``, a child starts from a floor of
about 5 MiB instead; any tool that uses more than that reads true.

usage: python -S -I launch.py STDIN|- STDOUT|- ARGV...
Prints ``seconds max_rss_kib exit_code`` on its stdout (the command's own
stdout goes to STDOUT or /dev/null); the command's stderr passes through.
"""

import os
import sys
import time


def child(stdin: str, stdout: str, argv: list[str]) -> None:
    """In the forked child: wire stdin/stdout, then become the command."""
    try:
        fd_in = os.open(stdin if stdin != "-" else os.devnull, os.O_RDONLY)
        fd_out = os.open(
            stdout if stdout != "-" else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
        )
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"launch: {argv[0]}: {exc}\n".encode())
    os._exit(127)


def main() -> int:
    stdin, stdout, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        child(stdin, stdout, argv)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t0
    print(f"{seconds:.6f} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
