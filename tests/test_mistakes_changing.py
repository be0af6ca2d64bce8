"""Issue 11: a file that grows, shrinks or is rewritten while it is packed is
refused by default (nothing written), or with --allow-changing packed as it was
read, at most its scanned size, with a warning naming it and its sizes.

Deterministic, not timed: standard input is the first member and the file the
second. Once 4 MiB written to pack's standard input have been taken (a pipe
holds 64 KiB), pack has finished its scan and is copying standard input; the
file is changed then, and standard input closed: pack reaches the file after
the change, always.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, _entry_point, run_cli_in
from securemedia.archive.changing import InputChangedError
from securemedia.archive.sources import scan_inputs, write_sources
from securemedia.keys import SecretKey

ROWS = b"".join(b"%d,registry row\n" % n for n in range(20_000))
FEED = os.urandom(4 << 20)


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def pack_while(
    tmp_path: Path, key: KeyFiles, change: Callable[[Path], None], *extra: str
) -> tuple[int, str]:
    """Pack standard input then ``rows.csv``; ``change`` it once the scan is over."""
    rows = tmp_path / "rows.csv"
    rows.write_bytes(ROWS)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }
    args = ["pack", "-", "rows.csv", "--stdin-name", "feed.bin", "-o", "out.sm",
            "-r", str(key.pub_path), "-q", *extra]  # fmt: skip
    with subprocess.Popen(
        [*_entry_point(), *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        cwd=tmp_path,
        env=env,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(FEED)  # returns once pack took all but a pipe's worth
        proc.stdin.flush()
        change(rows)
        proc.stdin.close()
        stderr = proc.stderr.read().decode()
        return proc.wait(timeout=120), stderr


def grow(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"a row written while pack ran\n" * 100)


def shrink(path: Path) -> None:
    os.truncate(path, len(ROWS) // 2)


def rewrite(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(b"X")  # same size, new modification time
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize(
    ("change", "what", "now"),
    [(grow, "grew", len(ROWS) + 2900), (shrink, "shrank", len(ROWS) // 2), (rewrite,
     "was rewritten", len(ROWS))],
)  # fmt: skip
def test_a_file_changed_while_packed_is_refused_and_nothing_written(
    tmp_path: Path, key: KeyFiles, change: Callable[[Path], None], what: str, now: int
) -> None:
    code, stderr = pack_while(tmp_path, key, change)
    assert code == 1, stderr
    assert stderr.count("\n") == 1, stderr
    assert (
        f"rows.csv {what} while it was packed ({len(ROWS):,} bytes when the inputs were "
        f"scanned, {now:,} now): nothing was written" in stderr
    )
    assert "--allow-changing" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["office", "office.pub", "rows.csv"]


def test_allow_changing_packs_what_was_scanned_and_warns(tmp_path: Path, key: KeyFiles) -> None:
    code, stderr = pack_while(tmp_path, key, grow, "--allow-changing")
    assert code == 0, stderr
    assert "warning: rows.csv grew while it was packed" in stderr
    assert f"packed {len(ROWS):,} bytes of it" in stderr
    out = run_cli_in(tmp_path, "unpack", "out.sm", "-i", "office", "--member", "rows.csv",
                     "--stdout")  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.stdout == ROWS  # exactly the rows there were at the scan


def test_shrunk_file_with_allow_changing_holds_what_was_read(tmp_path: Path, key: KeyFiles) -> None:
    code, stderr = pack_while(tmp_path, key, shrink, "--allow-changing")
    assert code == 0, stderr
    assert f"packed {len(ROWS) // 2:,} bytes of it" in stderr
    out = run_cli_in(tmp_path, "unpack", "out.sm", "-i", "office", "--member", "rows.csv",
                     "--stdout")  # fmt: skip
    assert out.stdout == ROWS[: len(ROWS) // 2]


def test_api_refuses_by_default_and_reports_to_a_callback(tmp_path: Path) -> None:
    from securemedia import ArchiveWriter
    from securemedia.archive.changing import Change

    rows = tmp_path / "rows.csv"
    rows.write_bytes(ROWS)
    recipient = SecretKey.generate(classic=True).public.recipient()
    sources = scan_inputs([rows])
    grow(rows)
    with (
        pytest.raises(InputChangedError, match="grew while it was packed"),
        (tmp_path / "a.sm").open("wb") as sink,
        ArchiveWriter(sink, [recipient]) as writer,
    ):
        write_sources(writer, sources)
    assert "--" not in str(InputChangedError(Change("x", 1, 2, 1)))  # no CLI flags
    seen: list[Change] = []
    with (tmp_path / "b.sm").open("wb") as sink2, ArchiveWriter(sink2, [recipient]) as writer:
        write_sources(writer, sources, on_change=seen.append)
    assert seen == [Change(str(rows), len(ROWS), len(ROWS) + 2900, len(ROWS), True)]


def test_a_file_whose_size_does_not_tell_is_not_packed_empty(tmp_path: Path, key: KeyFiles) -> None:
    proc_file = Path("/proc/self/status")  # 0 bytes by stat, text when read
    if not proc_file.exists() or proc_file.stat().st_size != 0:
        pytest.skip("needs a Linux /proc")
    result = run_cli_in(tmp_path, "pack", str(proc_file), "-o", "p.sm", "-r", key.pub_path)
    assert result.code == 1, result.stderr
    assert "status grew while it was packed (0 bytes when the inputs were scanned, " in (
        result.stderr
    )
    assert "more than 0 now" in result.stderr


def test_allow_changing_is_refused_for_a_zip(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_bytes(ROWS)
    result = run_cli_in(tmp_path, "pack", "rows.csv", "-o", "a.zip", "--format", "zip",
                        "--allow-changing")  # fmt: skip
    assert result.code == 2 and "--allow-changing is for native archives" in result.stderr
