"""Issue #9, safe extraction into DEST: a hostile sender cannot change what
existed there, modes honour the umask, a neighbour who swaps the staging
directory for a link cannot make extraction touch anything outside DEST, stale
staging of a killed run is removed (live runs' is not), and staging keeps no
state per file.

Hostile archives are correctly encrypted (anyone with the recipient's public
key can make one), written by ``archive_helpers.write_raw_archive``.
"""

from __future__ import annotations

import io
import os
import stat
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archive_helpers import RawEntry, write_raw_archive
from conftest import KeyFiles
from securemedia import ArchiveReader
from securemedia.archive.extract import extract
from securemedia.archive.staging import STAGING_PREFIX, Staging
from securemedia.errors import DestinationExistsError, IntegrityError

SENDER_TIME = 123_456_789_000_000_000  # 1973: nothing in DEST has this time


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def _meta(path: str, *, kind: str = "file", mode: int = 0o644) -> dict[str, Any]:
    return {
        "path": path,
        "type": kind,
        "mode": mode,
        "mtime_ns": SENDER_TIME,
        "compression": "none",
    }


def _unpack(key: KeyFiles, entries: list[RawEntry], dest: Path, **options: Any) -> None:
    sink = io.BytesIO()
    write_raw_archive(sink, [key.secret.public.recipient()], entries)
    sink.seek(0)
    extract(ArchiveReader(sink, [key.secret.identity()]), dest, **options)


def _state(path: Path) -> tuple[int, int, int, int]:
    st = path.lstat()
    return (st.st_mode, st.st_uid, st.st_mtime_ns, st.st_ino)


def _staging_dirs(dest: Path) -> list[Path]:
    return [p for p in dest.iterdir() if p.name.startswith(STAGING_PREFIX)]


# -- a hostile sender ----------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_existing_directory_keeps_its_mode_and_times(
    tmp_path: Path, key: KeyFiles, force: bool
) -> None:
    dest = tmp_path / "home"
    ssh = dest / ".ssh"
    ssh.mkdir(parents=True)
    ssh.chmod(0o700)
    (ssh / "known_hosts").write_text("host key")
    os.utime(ssh, ns=(1_600_000_000_000_000_000,) * 2)
    before = _state(ssh)
    entries = [
        RawEntry(_meta(".ssh", kind="dir", mode=0o777)),
        RawEntry(_meta("notes.txt"), b"hello"),
    ]
    _unpack(key, entries, dest, force=force)
    assert _state(ssh) == before  # mode 0700, owner, times: all as they were
    assert (dest / "notes.txt").read_bytes() == b"hello"

    # A member inside it: the directory gains an entry (its mtime moves), but
    # it never takes the sender's mode or time.
    _unpack(
        key,
        [
            RawEntry(_meta(".ssh", kind="dir", mode=0o777)),
            RawEntry(_meta(".ssh/authorized_keys", mode=0o666), b"ssh-ed25519 AAAA sender"),
        ],
        dest,
        force=force,
    )
    st = ssh.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_mtime_ns != SENDER_TIME
    assert (ssh / "known_hosts").read_text() == "host key"


def test_directories_this_run_created_take_the_archive_times(tmp_path: Path, key: KeyFiles) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    _unpack(
        key,
        [
            RawEntry(_meta("new", kind="dir", mode=0o750)),
            RawEntry(_meta("new/inner", kind="dir", mode=0o700)),
            RawEntry(_meta("new/inner/f.txt", mode=0o640), b"x"),
        ],
        dest,
    )
    for name, mode in [("new", 0o750), ("new/inner", 0o700), ("new/inner/f.txt", 0o640)]:
        st = (dest / name).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_mtime_ns) == (mode, SENDER_TIME), name


def test_modes_are_masked_by_the_umask_and_special_bits_dropped(
    tmp_path: Path, key: KeyFiles
) -> None:
    entries = [
        RawEntry(_meta("d", kind="dir", mode=0o7777)),
        RawEntry(_meta("d/setuid", mode=0o4777), b"#!/bin/sh\n"),
        RawEntry(_meta("d/shared.txt", mode=0o666), b"x"),
        RawEntry(_meta("implicit/f.txt", mode=0o2644), b"y"),
    ]
    old = os.umask(0o077)
    try:
        _unpack(key, entries, tmp_path / "dest")
    finally:
        os.umask(old)
    modes = {
        name: stat.S_IMODE((tmp_path / "dest" / name).stat().st_mode)
        for name in ["d", "d/setuid", "d/shared.txt", "implicit", "implicit/f.txt"]
    }
    assert modes == {
        "d": 0o700,
        "d/setuid": 0o700,
        "d/shared.txt": 0o600,
        "implicit": 0o700,
        "implicit/f.txt": 0o600,
    }


def test_files_are_private_and_anonymous_while_written(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with Staging(dest) as staging:
        out = staging.open_file("sub/file.txt", mode=0o644)
        out.write(b"not verified yet")
        assert stat.S_IMODE(os.fstat(out.fileno()).st_mode) == 0o600
        (staged,) = _staging_dirs(dest)
        # Where O_TMPFILE exists, nothing names the file before it was verified.
        assert not [p for p in staged.rglob("*") if p.is_file() and p.name != "lock"]
        out.close()
        assert [p.name for p in staged.rglob("file.txt")] == ["file.txt"]
        staging.commit()
    assert stat.S_IMODE((dest / "sub" / "file.txt").stat().st_mode) == 0o644 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def test_a_member_never_writes_more_than_its_declared_size(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with Staging(dest) as staging:
        with pytest.raises(IntegrityError), staging.open_file("bomb.bin", 10) as out:
            out.write(b"0123456789")
            out.write(b"A")
        with pytest.raises(IntegrityError), staging.open_file("short.bin", 10) as out:
            out.write(b"01234")
        staging.commit()
    assert os.listdir(dest) == []


def test_an_error_while_writing_removes_everything(tmp_path: Path, key: KeyFiles) -> None:
    """What the CLI does on SIGINT, SIGTERM and SIGHUP: an exception unwinds
    through the staging context, which removes all this run wrote."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("the office's own")
    before = sorted(os.listdir(dest))

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _unpack(
            key,
            [RawEntry(_meta("a.txt"), b"a" * 1000), RawEntry(_meta("b.txt"), b"b" * 1000)],
            dest,
            progress=interrupt,
        )
    assert sorted(os.listdir(dest)) == before


def test_existing_file_is_never_replaced_and_a_link_never_followed(
    tmp_path: Path, key: KeyFiles
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("root only")
    outside.chmod(0o600)
    (dest / "f.txt").symlink_to(outside)
    entries = [RawEntry(_meta("f.txt", mode=0o666), b"sender")]
    with pytest.raises(DestinationExistsError):
        _unpack(key, entries, dest)
    _unpack(key, entries, dest, force=True)
    assert not (dest / "f.txt").is_symlink()
    assert (dest / "f.txt").read_bytes() == b"sender"
    assert outside.read_text() == "root only" and stat.S_IMODE(outside.stat().st_mode) == 0o600


# -- a hostile neighbour -------------------------------------------------------------


def _outside(tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    """A directory outside DEST holding a root-only file and a file named like
    a member; returns it and a function describing its whole state."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("root only")
    (outside / "secret").chmod(0o600)
    (outside / "a.txt").write_text("not from the archive")
    (outside / "a.txt").chmod(0o600)
    (outside / "d").mkdir(mode=0o700)

    def state() -> object:
        found = [(".", _state(outside))]
        for path in sorted(outside.rglob("*")):
            content = path.read_bytes() if path.is_file() else b""
            found.append((str(path.relative_to(outside)), (*_state(path), content)))
        return found

    return outside, state


def _swap(dest: Path, outside: Path) -> None:
    """What the neighbour does: rename our staging directory away and put a
    symbolic link to ``outside`` in its place."""
    (staged,) = _staging_dirs(dest)
    staged.rename(dest / "moved-away")
    staged.symlink_to(outside)


@pytest.mark.parametrize("when", ["before-commit", "while-writing"])
def test_swapped_staging_directory_cannot_reach_outside(tmp_path: Path, when: str) -> None:
    outside, state = _outside(tmp_path)
    before = state()
    dest = tmp_path / "dest"
    dest.mkdir()
    with Staging(dest) as staging:
        staging.add_dir("d")
        staging.set_metadata("d", mtime_ns=SENDER_TIME, mode=0o777)
        with staging.open_file("a.txt") as out:
            out.write(b"from the archive, ")
            if when == "while-writing":
                _swap(dest, outside)
            out.write(b"verified")
        staging.set_metadata("a.txt", mtime_ns=SENDER_TIME, mode=0o644)
        with staging.open_file("d/b.txt") as out:
            out.write(b"b")
        staging.set_metadata("d/b.txt", mtime_ns=SENDER_TIME, mode=0o644)
        if when == "before-commit":
            _swap(dest, outside)
        staging.commit()
    assert state() == before
    assert (dest / "a.txt").read_bytes() == b"from the archive, verified"
    assert (dest / "d" / "b.txt").read_bytes() == b"b"
    assert sorted(os.listdir(dest)) == sorted(["a.txt", "d", "moved-away", *_names(dest)])
    assert os.listdir(dest / "moved-away") == []  # only what this run staged moved


def _names(dest: Path) -> list[str]:
    return [p.name for p in _staging_dirs(dest)]  # the neighbour's link stays theirs


def test_swapped_staging_directory_on_abort(tmp_path: Path) -> None:
    outside, state = _outside(tmp_path)
    before = state()
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(RuntimeError), Staging(dest) as staging:
        with staging.open_file("a.txt") as out:
            out.write(b"staged")
        staging.set_metadata("a.txt", mtime_ns=SENDER_TIME, mode=0o644)
        _swap(dest, outside)
        raise RuntimeError("the archive failed to verify")
    assert state() == before
    assert not (dest / "a.txt").exists()
    assert os.listdir(dest / "moved-away") == []  # the staged plaintext is gone


def test_a_link_planted_at_the_destination_is_refused(tmp_path: Path, key: KeyFiles) -> None:
    outside, state = _outside(tmp_path)
    before = state()
    (tmp_path / "dest").symlink_to(outside)
    with pytest.raises(Exception, match="symbolic link"):
        _unpack(key, [RawEntry(_meta("a.txt"), b"x")], tmp_path / "dest")
    assert state() == before


# -- stale staging -------------------------------------------------------------------


def test_stale_staging_is_removed_and_a_live_runs_is_kept(tmp_path: Path, key: KeyFiles) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    live = Staging(dest)  # a run still going on
    (live_dir,) = _staging_dirs(dest)
    # A killed run of an older version: no lock file, plaintext inside.
    old = dest / f"{STAGING_PREFIX}old"
    (old / "data").mkdir(parents=True)
    (old / "data" / "registry.csv").write_text("decrypted rows")
    # A run of this version killed with SIGKILL: its lock file is there, unlocked.
    killed_dir = dest / f"{STAGING_PREFIX}killed"
    (killed_dir / "tree").mkdir(parents=True)
    (killed_dir / "lock").write_bytes(b"")
    (killed_dir / "tree" / "x.txt").write_text("verified rows")

    # Killed between creating its directory and its lock: empty, and old.
    empty = dest / f"{STAGING_PREFIX}empty"
    empty.mkdir()
    os.utime(empty, (0, 0))
    # Being created right now by another run: empty, and new.
    fresh = dest / f"{STAGING_PREFIX}fresh"
    fresh.mkdir()

    notices: list[str] = []
    _unpack(key, [RawEntry(_meta("new.txt"), b"n")], dest, notice=notices.append)
    assert sorted(_staging_dirs(dest)) == sorted([live_dir, fresh])
    assert len(notices) == 3 and all(line.startswith("removed ") for line in notices)
    assert all(any(p.name in line for line in notices) for p in (old, killed_dir, empty))
    fresh.rmdir()
    with live.open_file("live.txt") as out:
        out.write(b"still mine")
    live.commit()
    assert (dest / "live.txt").read_bytes() == b"still mine"
    assert sorted(os.listdir(dest)) == ["live.txt", "new.txt"]


# -- memory --------------------------------------------------------------------------


def test_staging_keeps_no_state_per_file(tmp_path: Path) -> None:
    def held_after(count: int) -> int:
        dest = tmp_path / f"dest-{count}"
        tracemalloc.start()
        try:
            with Staging(dest, list_paths=False) as staging:
                staging.add_dir("data")
                for i in range(count):
                    with staging.open_file(f"data/member-{i:07d}.csv") as out:
                        out.write(b"x")
                    staging.set_metadata(f"data/member-{i:07d}.csv", mtime_ns=0, mode=0o644)
                held = tracemalloc.get_traced_memory()[0]
                staging.commit()
        finally:
            tracemalloc.stop()
        assert len(os.listdir(dest / "data")) == count
        return held

    small, large = held_after(1_000), held_after(10_000)
    assert large - small < 100_000, (small, large)
