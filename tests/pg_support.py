"""A throwaway PostgreSQL server for tests and benchmarks: the Debian package's
binaries, ``initdb`` + ``pg_ctl`` in a temporary directory, a unix socket only
(no TCP port to collide with), run as the unprivileged ``postgres`` user when we
are root (the server refuses to run as root)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def server_binaries() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def missing() -> str | None:
    """Why no server can be started here, or None."""
    if server_binaries() is None:
        return "PostgreSQL server binaries are not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to start PostgreSQL as an unprivileged user"
    return None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextlib.contextmanager
def temporary_server() -> Iterator[str]:
    """Start a fresh server; yield its libpq conninfo; stop it and remove it all."""
    bindir = server_binaries()
    assert bindir is not None, missing()
    # In /tmp itself: pytest's tmp_path lies under a root-only directory.
    home = Path(tempfile.mkdtemp(prefix="sm-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(home, "postgres", "postgres")
        data, log = home / "data", home / "server.log"
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        initdb += ["-E", "UTF8", "--no-locale", "--no-sync"]
        subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
        # Durability is not what is tested: no fsync, no full-page writes. Two
        # COPYs of one table must give the rows in one order: a synchronised scan
        # of a table over a quarter of shared_buffers starts where another scan
        # last was, so the test's own COPY could rotate the rows.
        options = f"-k {home} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        options += " -c synchronize_seqscans=off"
        ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
        subprocess.run(
            _as_server_user([*ctl, "-o", options, "start"]), check=True, capture_output=True
        )
        try:
            yield f"host={home} dbname=postgres user=postgres"
        finally:
            stop = [*ctl, "-m", "immediate", "stop"]
            subprocess.run(_as_server_user(stop), check=False, capture_output=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def create_registry(conninfo: str, rows: int) -> None:
    """Table ``registry`` of ``rows`` generated rows (server-side, generate_series):
    text with commas, quotes and non-ASCII on every 1000th row, a date, a number."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS registry")
        conn.execute(
            """
            CREATE UNLOGGED TABLE registry AS
            SELECT i AS id,
                   'patient ' || md5(i::text) ||
                       CASE WHEN i %% 1000 = 0 THEN ', "quoted" æøå' ELSE '' END AS name,
                   DATE '1930-01-01' + (i %% 30000) AS born,
                   (i * 37) %% 100000 AS dose
            FROM generate_series(1, %s) AS i
            """,
            (rows,),
        )
