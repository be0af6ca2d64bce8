"""Issue 9, what ``pack`` reads: inputs swapped after the walk (a hostile local
user who can write into the input tree), the pack's own output inside an
input directory, times the format cannot hold, and checks that run before
anything is written.

Swaps are made deterministic by calling the two steps of a pack (the walk,
``scan_inputs``, and the writing, ``write_sources``) one after the other and
changing the tree in between: exactly the window a racing attacker aims at.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli, run_cli_in
from securemedia import ArchiveReader, ArchiveWriter
from securemedia.archive.sources import OwnFiles, scan_inputs, write_sources
from securemedia.compat_zip.writer import _write_zip
from securemedia.errors import OperationalError

SECRET = b"root-only: the registry's private key material\n"
PUBLIC = b"export row 1\nexport row 2\n"


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "sub").mkdir(parents=True)
    (root / "rows.csv").write_bytes(PUBLIC)
    (root / "sub" / "more.csv").write_bytes(PUBLIC)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    hidden = tmp_path / "root-only"
    hidden.mkdir(mode=0o700)
    path = hidden / "more.csv"  # same name as an export file, for the directory swap
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return path


def _pack_steps(
    export: Path, key: KeyFiles, between: Callable[[], None]
) -> tuple[io.BytesIO, BaseException | None]:
    """Walk ``export``, run ``between`` (the attacker), then write; returns the
    archive bytes and the error raised (if any)."""
    sources = scan_inputs([export])
    between()
    sink = io.BytesIO()
    error: BaseException | None = None
    try:
        with ArchiveWriter(sink, [key.secret.public.recipient()]) as writer:
            write_sources(writer, sources)
    except OperationalError as exc:
        error = exc
    return sink, error


def _contents(sink: io.BytesIO, key: KeyFiles) -> dict[str, bytes]:
    sink.seek(0)
    reader = ArchiveReader(sink, [key.secret.identity()])
    out = {}
    for member in reader.members:
        if not member.is_dir:
            with reader.open_member(member.path) as stream:
                out[member.path] = stream.read()
    return out


def test_file_swapped_for_a_symlink_after_the_walk_is_refused(
    export: Path, secret: Path, key: KeyFiles
) -> None:
    target = export / "rows.csv"

    def swap() -> None:
        target.unlink()
        target.symlink_to(secret)

    sink, error = _pack_steps(export, key, swap)
    assert error is not None
    assert "export/rows.csv changed while it was being packed" in str(error)
    assert SECRET not in sink.getvalue()


def test_file_swapped_for_a_hard_link_to_another_file_is_refused(
    export: Path, tmp_path: Path, key: KeyFiles
) -> None:
    # A hard link needs no permission on the target's content to be planted in
    # the same file system: only the identity check catches it.
    other = tmp_path / "other.csv"
    other.write_bytes(SECRET)
    target = export / "rows.csv"

    def swap() -> None:
        target.unlink()
        os.link(other, target)

    _, error = _pack_steps(export, key, swap)
    assert error is not None and "changed while it was being packed" in str(error)


def test_directory_swapped_for_a_symlink_after_the_walk_is_refused(
    export: Path, secret: Path, key: KeyFiles
) -> None:
    # O_NOFOLLOW guards only the last component: export/sub -> root-only would be
    # followed on the way to export/sub/more.csv. The identity check refuses it.
    def swap() -> None:
        (export / "sub").rename(export.parent / "sub-moved")
        (export / "sub").symlink_to(secret.parent)

    sink, error = _pack_steps(export, key, swap)
    assert error is not None and "export/sub/more.csv changed" in str(error)
    assert SECRET not in sink.getvalue()


def test_file_swapped_for_a_fifo_is_refused_without_hanging(export: Path, key: KeyFiles) -> None:
    target = export / "rows.csv"

    def swap() -> None:
        target.unlink()
        os.mkfifo(target)

    _, error = _pack_steps(export, key, swap)
    assert error is not None and "changed while it was being packed" in str(error)


def test_unchanged_tree_packs_normally(export: Path, key: KeyFiles) -> None:
    sink, error = _pack_steps(export, key, lambda: None)
    assert error is None
    assert _contents(sink, key) == {"export/rows.csv": PUBLIC, "export/sub/more.csv": PUBLIC}


def test_compat_zip_writer_refuses_a_swapped_file(export: Path, secret: Path) -> None:
    entries = scan_inputs([export])
    (export / "rows.csv").unlink()
    (export / "rows.csv").symlink_to(secret)
    sink = io.BytesIO()
    with pytest.raises(OperationalError, match="changed while it was being packed"):
        _write_zip(entries, sink, "a passphrase for the test", OwnFiles())


def test_symlink_in_the_tree_is_refused_before_anything_is_written(
    export: Path, secret: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    (export / "sub" / "link.csv").symlink_to(secret)
    result = run_cli("pack", "export", "-o", "-", "-r", key.pub_path, "-q")
    assert result.code != 0
    assert "cannot pack export/sub/link.csv: a symbolic link" in result.stderr
    assert result.stdout == b""  # not even the header went out


def test_time_the_format_cannot_hold_is_refused_before_anything_is_written(
    export: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    # ext4 holds times up to 2446; the format signed 64-bit nanoseconds (2262).
    late = 15_000_000_000 * 10**9
    os.utime(export / "sub" / "more.csv", ns=(late, late))
    if os.stat(export / "sub" / "more.csv").st_mtime_ns < 1 << 63:
        pytest.skip("this file system cannot hold a time after 2262")
    result = run_cli("pack", "export", "-o", "-", "-r", key.pub_path, "-q")
    assert result.code != 0
    assert "export/sub/more.csv: its modification time is outside" in result.stderr
    assert "internal error" not in result.stderr
    assert result.stdout == b""


def test_times_before_1970_pass_the_walk(export: Path) -> None:
    early = -2_000_000_000 * 10**9 + 123_456_789  # 1906, with nanoseconds
    os.utime(export / "rows.csv", ns=(early, early))
    found = {s.name: s.mtime_ns for s in scan_inputs([export])}
    assert found["export/rows.csv"] == early


# -- the pack's own output is never packed ---------------------------------------------


def _member_names(run_cli: RunCli, archive: str, key: KeyFiles) -> list[str]:
    result = run_cli("list", archive, "-i", key.path, "--json")
    assert result.code == 0, result.stderr
    return [m["path"] for m in json.loads(result.out)["members"]]


def test_output_inside_the_input_is_not_packed(
    export: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    result = run_cli("pack", "export", "-o", "export/ship.sm", "-r", key.pub_path, "-q")
    assert result.code == 0, result.stderr
    names = _member_names(run_cli, "export/ship.sm", key)
    assert sorted(names) == ["export", "export/rows.csv", "export/sub", "export/sub/more.csv"]
    # Again with --force: the previous archive (and any stale temporary) is
    # still not packed.
    (export / ".ship.sm.partial-stale").write_bytes(b"left by a killed run")
    result = run_cli("pack", "export", "-o", "export/ship.sm", "-r", key.pub_path, "-q", "--force")
    assert result.code == 0, result.stderr
    assert not any("ship.sm" in n for n in _member_names(run_cli, "export/ship.sm", key))


def test_redirected_stdout_inside_the_input_is_not_packed(
    export: Path, tmp_path: Path, key: KeyFiles
) -> None:
    # "pack export -o - > export/ship.sm": the shell created the file we write to.
    with open(export / "ship.sm", "wb") as out:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "securemedia",
                "pack",
                "export",
                "-o",
                "-",
                "-r",
                str(key.pub_path),
                "-q",
            ],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
    assert proc.returncode == 0, proc.stderr
    moved = tmp_path / "ship.sm"
    (export / "ship.sm").rename(moved)
    result = run_cli_in(tmp_path, "list", moved, "-i", key.path)
    assert result.code == 0, result.stderr
    assert "ship.sm" not in result.out


def test_media_volumes_inside_the_input_are_not_packed(
    export: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    (export / "big.bin").write_bytes(os.urandom(600_000))
    result = run_cli(
        "pack", "export", "-o", "export/ship", "-r", key.pub_path, "-q",
        "--media", "256KiB", "--redundancy", "0", "--no-compress",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    volumes = sorted(p.name for p in export.glob("ship.*"))
    assert len(volumes) >= 3
    listing = run_cli("list", *(f"export/{v}" for v in volumes), "-i", key.path)
    assert listing.code == 0, listing.stderr
    assert "ship" not in listing.out
