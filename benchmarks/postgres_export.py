"""Rows per second of examples/postgres_export.py against a real PostgreSQL server.

Starts a throwaway server (tests/pg_support.py: the Debian package's binaries, a
unix socket in a temporary directory), generates ROWS rows server-side, and
times, in the same process and in alternating rounds:

* baseline: ``COPY registry TO STDOUT`` read by psycopg and thrown away (what
  the database and the driver cost alone);
* export: the same COPY streamed into an encrypted, compressed archive member.

The ratio export/baseline is what securemedia adds on this machine.

    python benchmarks/postgres_export.py                 # 8,000,000 rows
    python benchmarks/postgres_export.py --rows 2000000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "examples"))

import psycopg  # noqa: E402

import pg_support  # noqa: E402 - found through the path set above
import postgres_export  # noqa: E402
import securemedia  # noqa: E402


def _baseline(conninfo: str) -> float:
    started = time.perf_counter()
    with (
        psycopg.connect(conninfo) as conn,
        conn.cursor() as cur,
        cur.copy("COPY registry TO STDOUT (FORMAT csv, HEADER)") as copy,
    ):
        for _block in copy:
            pass
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    why = pg_support.missing()
    if why:
        print(f"postgres_export: {why}", file=sys.stderr)
        return 1
    recipients = [securemedia.SecretKey.generate().public.recipient()]
    base: list[float] = []
    export: list[float] = []
    with pg_support.temporary_server() as conninfo, tempfile.TemporaryDirectory() as work:
        pg_support.create_registry(conninfo, args.rows)
        for i in range(args.rounds):
            base.append(_baseline(conninfo))
            done = postgres_export.export(
                conninfo, str(Path(work) / f"r{i}.sm"), recipients, table="registry"
            )
            assert done.rows == args.rows
            export.append(done.seconds)
            (Path(work) / f"r{i}.sm").unlink()
            print(
                f"round {i + 1}: COPY alone {base[-1]:.2f} s, export {done.seconds:.2f} s "
                f"({done.csv_bytes / 1e6:.0f} MB of CSV -> {done.archive_bytes / 1e6:.0f} MB)"
            )
    b, e = statistics.median(base), statistics.median(export)
    print(
        f"{args.rows:,} rows: export {args.rows / e:,.0f} rows/s ({e:.2f} s), "
        f"COPY alone {args.rows / b:,.0f} rows/s ({b:.2f} s), ratio {e / b:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
