"""examples/postgres_export.py against a real PostgreSQL server.

The server is the Debian ``postgresql`` package's (CI installs it), started here
by ``initdb`` + ``pg_ctl`` in a temporary directory, listening on a unix socket
only; as root it runs as the unprivileged ``postgres`` user. A table of a few
million rows is generated server-side, exported by the example script (a child
process, as a user runs it), unpacked by the real CLI, and the rows on the other
side are checked against the server: the count, sums over two columns, and a
digest of the server's own CSV.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pg_support
from conftest import KeyFiles, RunCli

psycopg = pytest.importorskip("psycopg")

ROWS = 2_000_000
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "postgres_export.py"


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    """A fresh server holding a table of ROWS generated rows; yields its conninfo."""
    why = pg_support.missing()
    if why:
        pytest.skip(why)
    with pg_support.temporary_server() as conninfo:
        pg_support.create_registry(conninfo, ROWS)
        yield conninfo


def _run_example(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _server_truth(conninfo: str) -> tuple[int, int, int, str]:
    """Count and sums from SQL, and the digest of the server's own CSV output."""
    digest = hashlib.sha256()
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), sum(id), sum(dose) FROM registry")
        count, ids, doses = cur.fetchone()
        with cur.copy("COPY registry TO STDOUT (FORMAT csv, HEADER)") as copy:
            for block in copy:
                digest.update(block)
    return int(count), int(ids), int(doses), digest.hexdigest()


def test_export_streams_a_table_into_an_archive_that_unpacks_to_the_same_rows(
    registry: str,
    tmp_path: Path,
    make_keys: Callable[..., KeyFiles],
    run_cli: RunCli,
) -> None:
    office = make_keys("office.key")
    exported = _run_example(
        tmp_path,
        *("--conninfo", registry, "--table", "registry", "-r", str(office.pub_path)),
        *("-o", "shipment.sm", "--member", "registry.csv"),
    )
    assert exported.returncode == 0, exported.stderr
    print(exported.stderr.strip())  # the rows per second, shown with -s
    assert f"exported {ROWS} rows" in exported.stderr
    assert "rows/s" in exported.stderr
    # Nothing but the archive was written beside it: the rows went from the
    # connection into the member, never into a file of their own.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "office.key",
        "office.key.pub",
        "shipment.sm",
    ]

    unpacked = run_cli("unpack", "shipment.sm", "-i", office.path, "-o", "received", "-q")
    assert unpacked.code == 0, unpacked.stderr
    received = tmp_path / "received" / "registry.csv"

    count, ids, doses, server_digest = _server_truth(registry)
    assert hashlib.sha256(received.read_bytes()).hexdigest() == server_digest
    seen = id_sum = dose_sum = 0
    with received.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["id", "name", "born", "dose"]
        for row in reader:
            seen += 1
            id_sum += int(row[0])
            dose_sum += int(row[3])
    assert (seen, id_sum, dose_sum) == (count, ids, doses) == (ROWS, ids, doses)
    assert ids == ROWS * (ROWS + 1) // 2


def test_a_failed_export_leaves_no_archive(
    registry: str, tmp_path: Path, make_keys: Callable[..., KeyFiles]
) -> None:
    office = make_keys("office.key")
    failed = _run_example(
        tmp_path,
        *("--conninfo", registry, "--table", "no_such_table", "-r", str(office.pub_path)),
        *("-o", "shipment.sm"),
    )
    assert failed.returncode == 1
    assert "no_such_table" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "shipment.sm").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["office.key", "office.key.pub"]
