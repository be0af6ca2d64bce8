"""Pack keeps its per-member state (the index entries, the scan's records and
the name checks) out of memory: in an encrypted, anonymous temporary file once
it grows (securemedia.archive.spill). The archive must not change because of
it, the file must not show the names it holds, and a name collision the scan
could not see (two add_path calls, a scan and a hand-added member) must still
be refused before the archive is finished. Memory itself is measured by
``benchmarks/memory.py --members``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from securemedia import ArchiveReader, ArchiveWriter
from securemedia.archive import name_check, spill
from securemedia.archive.scanned import Scan, Source
from securemedia.archive.sources import scan_inputs
from securemedia.errors import FormatError, InputError, OperationalError, UnsafeMemberError
from securemedia.keys import SecretKey

SECRET_NAME = "patient-Ærlig-øster"


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spill after 4 KiB instead of 1 MiB: a few hundred members fill many blocks."""
    monkeypatch.setattr(spill, "HOLD_BYTES", 4096)


def test_spill_gives_back_every_byte_and_hides_them(small_blocks: None) -> None:
    store = spill.Spill("the test data")
    written = b"".join(f"{SECRET_NAME}/{i},".encode() for i in range(2000))
    for i in range(0, len(written), 777):
        store.write(written[i : i + 777])
    assert store._file is not None  # it did spill
    assert b"".join(store.pieces()) == written
    assert b"".join(store.pieces()) == written  # read back any number of times
    fd = store._file.fileno()
    on_disk = os.pread(fd, os.fstat(fd).st_size, 0)
    assert SECRET_NAME.encode() not in on_disk and b"/1999," not in on_disk
    assert os.fstat(fd).st_nlink == 0  # anonymous: nothing left behind
    store.close()


def test_spill_refuses_a_changed_block(small_blocks: None) -> None:
    store = spill.Spill("the test data")
    store.write(os.urandom(10_000))
    assert store._file is not None
    fd = store._file.fileno()
    byte = os.pread(fd, 1, 20)
    os.pwrite(fd, bytes([byte[0] ^ 1]), 20)
    with pytest.raises(OperationalError, match="was changed"):
        b"".join(store.pieces())


def test_scan_records_round_trip(small_blocks: None) -> None:
    roots = [Path("/in/a"), Path("-"), Path("relative/b")]
    expected = [
        Source(
            f"top/{SECRET_NAME}-{i}-\udcff-日本" if i % 3 else "x" * 4000,
            roots[i % 3],
            i % 4000,
            i % 2 == 0,
            2**63 + i,
            2**64 - 1 - i,
            i & 0o777,
            -(10**18) + i,
            2**60 + i,
        )
        for i in range(600)
    ]
    scan = Scan()
    for source in expected:
        scan.append(source)
    assert list(scan) == expected and list(scan) == expected
    assert len(scan) == 600 and scan[417] == expected[417] and scan[-1] == expected[-1]
    assert scan.total_size == sum(s.size for s in expected)
    assert scan.has_stdin


def _tree(base: Path, count: int) -> Path:
    top = base / "export"
    for i in range(count):
        path = top / f"d{i % 7}" / f"{SECRET_NAME}-{i:04}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{i}\n".encode() * (i % 5))
    return top


def test_many_members_pack_and_read_back(tmp_path: Path, small_blocks: None) -> None:
    top = _tree(tmp_path, 300)
    key = SecretKey.generate(classic=True)
    sink = io.BytesIO()
    with ArchiveWriter(sink, [key.public.recipient()]) as writer:
        writer.add_path(top)
        with writer.open_member("extra.txt", mtime_ns=1) as out:
            out.write(b"hand-added")
    assert writer._entries._file is not None  # the index entries did spill
    sink.seek(0)
    members = list(ArchiveReader(sink, [key.identity()]).iter_members())
    assert writer.summary.members == members
    assert len(members) == 1 + 7 + 300 + 1
    assert members[-1].path == "extra.txt" and members[0].path == "export"
    sources = scan_inputs([top])
    assert [s.name for s in sources] == [m.path for m in members[:-1]]


def test_collision_between_two_scans_is_refused_at_close(tmp_path: Path) -> None:
    top = _tree(tmp_path, 5)
    key = SecretKey.generate(classic=True)
    sink = io.BytesIO()
    writer = ArchiveWriter(sink, [key.public.recipient()])
    writer.add_path(top, "data")
    writer.add_path(top / "d3", "DATA/d3")  # checked only against itself so far
    with pytest.raises(InputError, match="duplicate member name 'DATA/d3'"):
        writer.close()
    sink.seek(0)
    with pytest.raises(FormatError):  # unfinished: no reader accepts it
        ArchiveReader(sink, [key.identity()])


def test_hand_added_member_inside_a_scanned_file_is_refused(tmp_path: Path) -> None:
    top = _tree(tmp_path, 3)
    key = SecretKey.generate(classic=True)
    writer = ArchiveWriter(io.BytesIO(), [key.public.recipient()])
    writer.add_path(top)
    with writer.open_member(f"export/d1/{SECRET_NAME}-0001.csv/x", mtime_ns=1) as out:
        out.write(b"x")
    with pytest.raises(InputError, match="inside a file"):
        writer.close()


def test_scan_refuses_names_that_collide_when_folded(tmp_path: Path) -> None:
    (tmp_path / "a" / "Data").mkdir(parents=True)
    (tmp_path / "a" / "data").mkdir()
    with pytest.raises(
        InputError,
        match=r"a/data: its name differs from that of .*a/Data only in upper and lower case",
    ):
        scan_inputs([tmp_path / "a"])


def test_name_check_records_a_parent_once_per_run_of_names_under_it() -> None:
    check = name_check.NameCheck()
    for i in range(3000):
        check.add(i, f"top/d{i // 100:02}/f{i}", False)
    # 3,000 names, 30 directories and the top once each: not a top record per name.
    assert check._held == (3000 + 30 + 1) * name_check._RECORD.size
    check.add(3000, "TOP/d07", False)  # a file where a directory holds members
    with pytest.raises(UnsafeMemberError, match="'TOP/d07' is a file but holds other members"):
        check.finish(lambda number: "TOP/d07" if number == 3000 else f"n{number}")
