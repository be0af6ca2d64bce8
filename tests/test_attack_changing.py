"""Round-2 attack: a file rewritten in place while it is read, its mtime set
back afterwards (``touch -r``, rsync --inplace), is still found changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from securemedia.archive.changing import Change, InputChangedError, OnChange, copy_scanned
from securemedia.archive.scanned import Source


def _scanned(path: Path) -> Source:
    st = path.stat()
    return Source(
        name=path.name,
        root=path,
        cut=0,
        is_dir=False,
        dev=st.st_dev,
        ino=st.st_ino,
        mode=st.st_mode & 0o777,
        mtime_ns=st.st_mtime_ns,
        size=st.st_size,
    )


def _copy_while_rewritten(path: Path, on_change: OnChange | None = None) -> bytes:
    """Copy ``path`` in 4 KiB pieces; after the first, its second half is
    rewritten (same size) and its times set back to what the scan saw."""
    # File times come from a coarse clock (a tick of up to 10 ms): let one pass
    # since the file was written, or a rewrite now could keep its ctime.
    time.sleep(0.05)
    source = _scanned(path)
    before = path.stat()
    out = bytearray()

    def write(piece: memoryview) -> None:
        if not out:
            with open(path, "r+b") as handle:
                handle.seek(8192)
                handle.write(b"B" * 8192)
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        out.extend(piece)

    with open(path, "rb") as handle:
        opened = os.fstat(handle.fileno())
        copy_scanned(handle, opened, source, write, memoryview(bytearray(4096)), on_change)
    return bytes(out)


def test_a_rewrite_with_its_mtime_set_back_is_found(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(b"A" * 16384)
    with pytest.raises(InputChangedError, match="was rewritten while it was packed"):
        _copy_while_rewritten(path)


def test_with_allow_changing_it_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(b"A" * 16384)
    seen: list[Change] = []
    data = _copy_while_rewritten(path, seen.append)
    assert len(data) == 16384 and b"B" in data  # torn: the old first half, the new second
    assert [c.describe() for c in seen] == [
        f"{path} was rewritten while it was packed (16,384 bytes when the inputs were "
        "scanned, 16,384 now)"
    ]
