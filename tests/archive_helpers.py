"""Helpers for the archive-layer tests (issue #3): a raw archive writer that
bypasses the ArchiveWriter's own checks, dataset trees, and ``diff -r``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import blake3
import pytest

from securemedia.archive.index import ENTRY_KEYS, INDEX_VERSION
from securemedia.archive.records import INDEX_TAG, MAX_FRAME, U32, encode_meta, encode_trailer
from securemedia.envelope import seal_header
from securemedia.recipients import Recipient
from securemedia.stream import StreamWriter


@dataclass
class RawEntry:
    """One member as a hostile writer would put it: any metadata, any content
    (``None`` for a record without frames, as a directory has)."""

    meta: dict[str, Any]
    content: bytes | None = None
    index_meta: dict[str, Any] | None = None  # what the index says, if different


def file_meta(path: str, *, kind: str = "file", mode: int = 0o644) -> dict[str, Any]:
    return {"path": path, "type": kind, "mode": mode, "mtime_ns": 0, "compression": "none"}


def write_raw_archive(
    sink: BinaryIO, recipients: Sequence[Recipient], entries: Sequence[RawEntry]
) -> None:
    """Write a structurally valid, correctly encrypted archive of ``entries``
    with the low-level pieces (header, STREAM, records, frames, index, trailer)
    and none of the writer's name or type checks."""
    header, key = seal_header(recipients)
    sink.write(header.raw)
    stream = StreamWriter(key, sink)
    offset = 0
    index: list[dict[str, Any]] = []
    for entry in entries:
        record = bytearray(encode_meta(entry.meta))
        if entry.content is not None:
            data = entry.content
            for start in range(0, len(data), MAX_FRAME):
                frame = data[start : start + MAX_FRAME]
                record += U32.pack(len(frame)) + frame
            record += U32.pack(0)
        stream.write(bytes(record))
        meta = entry.index_meta or entry.meta
        content = entry.content or b""
        values = {
            **meta,
            "size": len(content),
            "blake3": blake3.blake3(content).hexdigest() if entry.content is not None else "",
            "offset": offset,
            "length": len(record),
        }
        # The index's canonical key order (docs/FORMAT.md section 7).
        index.append({key: values[key] for key in ENTRY_KEYS})
        offset += len(record)
    raw_index = json.dumps(
        {"version": INDEX_VERSION, "members": index}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    stream.write(INDEX_TAG + raw_index)
    stream.write(encode_trailer(offset, len(raw_index), 0))
    stream.close()


def make_tree(root: Path) -> Path:
    """A small dataset: nested folders, an empty file, an empty folder,
    non-ASCII names, odd permission bits and set times. Returns ``root``."""
    (root / "sub" / "deeper" / "deepest").mkdir(parents=True)
    (root / "tom mappe").mkdir()
    (root / "æøå").mkdir()
    (root / "sub" / "a.csv").write_text("id,name\n1,Ærlig\n2,Øst\n", encoding="utf-8")
    (root / "sub" / "deeper" / "b.bin").write_bytes(os.urandom(300_000))
    (root / "sub" / "deeper" / "deepest" / "c.txt").write_bytes(b"c" * 5000)
    (root / "empty.txt").write_bytes(b"")
    (root / "æøå" / "Straße.txt").write_text("ß" * 1000, encoding="utf-8")
    (root / "æøå" / "blåbær.csv").write_text("x,y\n" * 100, encoding="utf-8")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o750)
    private = root / "sub" / "private.txt"
    private.write_text("only me")
    private.chmod(0o600)
    for i, path in enumerate(sorted(root.rglob("*"), reverse=True)):
        os.utime(path, ns=(1_600_000_000_000_000_000 + i * 1_000_000_007,) * 2)
    os.utime(root, ns=(1_500_000_000_123_456_789,) * 2)
    return root


def diff_r(a: Path, b: Path) -> None:
    """The real ``diff -r``: fails the test with its output if the trees differ."""
    proc = subprocess.run(
        ["diff", "-r", "--no-dereference", str(a), str(b)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"diff -r {a} {b}:\n{proc.stdout[:4000]}{proc.stderr}"


def tree_metadata(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """Relative path -> (kind, size, permission bits, mtime_ns) for everything
    below ``root`` (the root's own entry is "." )."""
    found: dict[str, tuple[str, int, int, int]] = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        kind = "dir" if path.is_dir() else "file"
        size = 0 if kind == "dir" else st.st_size
        found[str(path.relative_to(root))] = (kind, size, st.st_mode & 0o777, st.st_mtime_ns)
    return found


def snapshot(root: Path) -> list[tuple[str, int]]:
    """Everything below ``root`` (names and sizes), to show that nothing changed."""
    if not root.exists():
        return []
    return sorted(
        (str(p.relative_to(root)), p.lstat().st_size if not p.is_dir() else -1)
        for p in root.rglob("*")
    )


def zip_around_tar(path: Path, passphrase: str, tar_bytes: bytes) -> None:
    """A correctly encrypted compatibility ZIP (our parameters: AE-2, AES-256,
    stored) around ``tar_bytes``, whatever they hold: a hostile tar to read."""
    import pyzipper  # only the compatibility ZIP tests need it
    from pyzipper.zipfile_aes import WZ_AES_V2, AESZipInfo

    from securemedia.compat_zip import INNER_NAME

    with pyzipper.AESZipFile(
        path,
        "w",
        compression=pyzipper.ZIP_STORED,
        encryption=pyzipper.WZ_AES,
        encryption_kwargs={"nbits": 256, "force_wz_aes_version": WZ_AES_V2},
    ) as zf:
        zf.setpassword(passphrase.encode())
        zinfo = AESZipInfo(INNER_NAME)
        zinfo.compress_type = pyzipper.ZIP_STORED
        zf.writestr(zinfo, tar_bytes)


def child_env() -> dict[str, str]:
    """A minimal environment for a CLI child process. PYTHONPATH is kept: a
    checkout under test (a worktree) runs its own code."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def start_cli(args: Sequence[str | os.PathLike[str]], cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``securemedia ARGS`` in its own session (so a test can signal it):
    no standard input, standard output discarded, standard error piped."""
    from conftest import _entry_point

    return subprocess.Popen(
        [*_entry_point(), *(os.fspath(a) for a in args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=child_env(),
    )


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, options: str) -> Iterator[Path]:
    """A real tmpfs mounted on the empty directory ``mount`` with ``options``
    (``size=1m``, ...): a file system that really fills up. Skips the test where
    it cannot be mounted (it needs root); unmounted when the block ends."""
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def default_signals() -> None:
    """``preexec_fn`` for a CLI child that signal tests interrupt: SIGINT and SIGHUP
    as an operator's shell delivers them. A test run started under ``nohup`` or as
    a background job inherits them ignored, and the CLI rightly keeps an ignored
    signal ignored (cli/signals.py), which is not what these tests check."""
    for each in (signal.SIGINT, signal.SIGHUP):
        signal.signal(each, signal.SIG_DFL)


_T = TypeVar("_T")


def written_through_a_pipe(write: Callable[[BinaryIO], _T]) -> tuple[bytes, _T]:
    """What ``write`` writes to an unseekable output (a pipe drained by a thread),
    and what it returned."""
    read_fd, write_fd = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as reader:
            while data := reader.read(65536):
                chunks.append(data)

    thread = threading.Thread(target=drain)
    thread.start()
    with os.fdopen(write_fd, "wb") as writer:
        result = write(writer)
    thread.join()
    return b"".join(chunks), result
