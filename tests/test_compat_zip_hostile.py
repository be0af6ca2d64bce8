"""Issue 9, a hostile compatibility ZIP: correctly encrypted (anyone with the
passphrase can make one), holding a tar built to expand or to make the reader
buffer. Every ZIP is real: pyzipper around a tar from :mod:`tarfile` or bytes
laid out by hand where tarfile cannot write the hostile form."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import zip_around_tar
from conftest import KeyFiles, RunCli

pyzipper = pytest.importorskip("pyzipper")

from securemedia.compat_zip import extract_compat_zip, write_compat_zip  # noqa: E402
from securemedia.compat_zip.reader import MAX_EXTENDED_HEADER  # noqa: E402
from securemedia.errors import FormatError, UnsafeMemberError  # noqa: E402

PASSPHRASE = "correct horse battery staple for tests"
# What a sparse member would expand into on main (kept small so that the old
# behaviour, when checked, costs seconds, not the 2 GiB of the report).
EXPANDED = 64 << 20


def _zip(path: Path, tar_bytes: bytes) -> None:
    zip_around_tar(path, PASSPHRASE, tar_bytes)


def _pax_sparse_1_0() -> bytes:
    """A GNU sparse 1.0 member (pax keys, map at the start of the data): one
    byte of data at offset EXPANDED-1, the rest holes."""
    sparse_map = f"1\n{EXPANDED - 1}\n1\n".encode().ljust(512, b"\0")
    data = sparse_map + b"x"
    info = tarfile.TarInfo("GNUSparseFile.0/big.bin")
    info.size = len(data)
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "big.bin",
        "GNU.sparse.realsize": str(EXPANDED),
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _pax_sparse_0_1() -> bytes:
    """A GNU sparse 0.1 member: the map in the pax header itself."""
    info = tarfile.TarInfo("big.bin")
    info.size = 1
    info.pax_headers = {
        "GNU.sparse.size": str(EXPANDED),
        "GNU.sparse.numblocks": "1",
        "GNU.sparse.map": f"{EXPANDED - 1},1",
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"x"))
    return out.getvalue()


def _gnu_sparse_type() -> bytes:
    """A GNU 'S' member (old GNU sparse, the map in the header block)."""
    info = tarfile.TarInfo("big.bin")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 1
    block = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    # One sparse struct at offset 386: offset EXPANDED-1, one byte; realsize at 483.
    block[386:398] = f"{EXPANDED - 1:011o}\0".encode()
    block[398:410] = f"{1:011o}\0".encode()
    block[483:495] = f"{EXPANDED:011o}\0".encode()
    block[148:156] = b"        "
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block) + b"x".ljust(512, b"\0") + b"\0" * 1024


@pytest.mark.parametrize(
    "build", [_pax_sparse_1_0, _pax_sparse_0_1, _gnu_sparse_type], ids=lambda f: f.__name__
)
def test_sparse_members_are_refused_and_nothing_written(
    tmp_path: Path, build: Callable[[], bytes]
) -> None:
    zpath = tmp_path / "sparse.zip"
    _zip(zpath, build())
    assert zpath.stat().st_size < 12_000  # a 10 KiB tar record
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeMemberError, match="sparse files are refused"):
        extract_compat_zip(zpath, PASSPHRASE, dest)
    assert not dest.exists()


def test_huge_extended_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # The header claims 1 GiB of pax records: tarfile would read (buffer) that
    # much of the not yet authenticated entry before looking at it.
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 1 << 30
    body = b"30 path=innocent-looking.txt\n".ljust(512, b"\0")
    member = tarfile.TarInfo("innocent-looking.txt")
    member.size = 0
    raw = (
        header.tobuf(format=tarfile.USTAR_FORMAT)
        + body
        + member.tobuf(format=tarfile.USTAR_FORMAT)
        + b"\0" * 1024
    )
    zpath = tmp_path / "pax.zip"
    _zip(zpath, raw)
    with pytest.raises(FormatError, match="extended tar header of 1073741824 bytes"):
        extract_compat_zip(zpath, PASSPHRASE, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_extended_header_at_the_cap_is_still_read(tmp_path: Path) -> None:
    # A long (legal) name fits well inside the cap: the cap refuses only abuse.
    name = "/".join(["d" * 200] * 10) + "/file.txt"
    info = tarfile.TarInfo(name)
    info.size = 2
    info.pax_headers = {"comment": "c" * (MAX_EXTENDED_HEADER - 5000)}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"ok"))
    zpath = tmp_path / "long.zip"
    _zip(zpath, out.getvalue())
    extract_compat_zip(zpath, PASSPHRASE, tmp_path / "dest")
    assert (tmp_path / "dest" / name).read_bytes() == b"ok"


def test_member_claiming_more_than_the_zip_holds_is_refused(tmp_path: Path) -> None:
    # A pax "size" far beyond the entry: refused before a byte of it is written,
    # not after the disk filled up.
    info = tarfile.TarInfo("claims-a-lot.bin")
    info.size = 3
    info.pax_headers = {"size": str(1 << 40)}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"abc"))
    zpath = tmp_path / "claims.zip"
    _zip(zpath, out.getvalue())
    with pytest.raises(FormatError, match="claims 1099511627776 bytes"):
        extract_compat_zip(zpath, PASSPHRASE, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_times_before_1970_round_trip_exactly(tmp_path: Path) -> None:
    src = tmp_path / "old"
    src.mkdir()
    early = -1_234_567_890_123_456_789  # 1930, with nanoseconds
    (src / "ledger.csv").write_bytes(b"1901,1\n")
    os.utime(src / "ledger.csv", ns=(early, early))
    os.utime(src, ns=(early + 1, early + 1))
    zpath = tmp_path / "old.zip"
    write_compat_zip([src], zpath, PASSPHRASE)
    extract_compat_zip(zpath, PASSPHRASE, tmp_path / "dest")
    assert (tmp_path / "dest" / "old" / "ledger.csv").stat().st_mtime_ns == early
    assert (tmp_path / "dest" / "old").stat().st_mtime_ns == early + 1


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def test_passphrase_file_and_zip_inside_the_input_are_not_packed(
    tmp_path: Path, run_cli: RunCli
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "rows.csv").write_bytes(b"1\n")
    result = run_cli(
        "pack", "export", "--format", "zip", "-o", "export/ship.zip",
        "--passphrase-out", "export/pass.txt", "-q",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    passphrase = (export / "pass.txt").read_text().strip()
    written = extract_compat_zip(export / "ship.zip", passphrase, tmp_path / "dest")
    names = sorted(str(p.relative_to(tmp_path / "dest")) for p in written)
    assert names == ["export", "export/rows.csv"]
